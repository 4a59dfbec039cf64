"""Audit blobs in a real S3-compatible store (SeaweedFS on 127.0.0.1).

* ``S3BlobStore`` round trip: exact bytes, names ``{epoch}/{prev}/{root}`` under the prefix,
  listing through ListObjectsV2 (paged), foreign objects ignored, missing names refused.
* ``glasskey serve --audit-store s3://bucket/prefix``: every announced epoch's blob is in the
  bucket when the epoch is announced, its bytes verify, and a glasskey auditor whose
  namespace's ``log_directory`` is the bucket — as ``s3://`` with credentials, and as a
  path-style HTTP URL listed with ListObjectsV2 — verifies and countersigns every epoch;
  ``glasskey audit show --verify`` reads the blob straight from the bucket.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from glasskey.auditor._sources import HttpSource, S3Source
from glasskey.core.akd.audit import format_audit_blob_name, verify_audit_blob
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.errors import MalformedError
from glasskey.directory import S3BlobStore
from tests.s3server import MISSING, S3Server, s3_available, s3_server
from tests.security.procs import (
    AUDITOR_ADMIN_TOKEN,
    Process,
    cli,
    start_auditor,
    start_log_server,
    wait_for,
)

pytestmark = [
    pytest.mark.s3,
    pytest.mark.skipif(not s3_available(), reason=MISSING),
]


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    return s3.env()


def _bucket(s3: S3Server, name: str) -> None:
    s3.public_bucket(name)


NAME = format_audit_blob_name(7, bytes(32), bytes(range(32)))


def test_blob_store_round_trip(s3: S3Server, s3_env: dict[str, str]) -> None:
    _bucket(s3, "roundtrip")
    store = S3BlobStore("s3://roundtrip/proofs/log-a")
    other = S3BlobStore("s3://roundtrip/proofs/log-b")
    assert store.list() == []
    names = [format_audit_blob_name(e, bytes([e]) * 32, bytes([e + 1]) * 32) for e in range(1, 13)]
    for epoch, name in enumerate(names, 1):
        store.put(name, b"blob-%d" % epoch)
    other.put(NAME, b"other log")
    store.objects.put("README", b"not an audit blob")  # ignored by the listing
    assert store.list() == names  # numeric epoch order, only this prefix
    assert store.epochs() == set(range(1, 13))
    assert store.get(names[9]) == b"blob-10"
    assert store.size(names[9]) == len(b"blob-10")
    assert other.list() == [NAME] and other.get(NAME) == b"other log"
    with pytest.raises(MalformedError, match="no audit blob named"):
        store.get(NAME)
    with pytest.raises(MalformedError):
        store.put("../../etc/passwd", b"x")
    # The objects are where plexi and akd's auditor look: {prefix}/{epoch}/{prev}/{cur}.
    raw = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in raw.list_objects_v2(Bucket="roundtrip", Prefix="proofs/log-a/1/")[
        "Contents"]]  # fmt: skip
    assert keys == [f"proofs/log-a/{names[0]}"]
    # The auditor's sources read the same objects, with credentials or anonymously.
    source = S3Source("s3://roundtrip/proofs/log-a")
    assert source.fetch(names[0]) == b"blob-1"
    assert source.names_for_epoch(1) == [names[0]]
    http = HttpSource(f"{s3.endpoint}/roundtrip/proofs/log-a")
    assert http.fetch(names[1]) == b"blob-2"
    assert http.names_for_epoch(2) == [names[1]]
    http.close()


def test_listing_pages_past_a_thousand(s3: S3Server, s3_env: dict[str, str]) -> None:
    _bucket(s3, "paged")
    store = S3BlobStore("s3://paged")
    names = [format_audit_blob_name(e, bytes(32), bytes(32)) for e in range(1, 1105)]
    for name in names:
        store.objects.put(name, b"")
    assert store.list() == names


@pytest.fixture
def fresh_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A server of its own: after the paging test's 1,104 objects on the shared SeaweedFS,
    the end-to-end runs timed out on this loaded machine (they pass on a fresh server)."""
    with s3_server() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


@pytest.mark.parametrize("directory", ["s3", "http"])
def test_log_writes_blobs_to_the_bucket_and_the_auditor_reads_them(
    tmp_path: Path,
    fresh_s3: S3Server,
    processes: list[Process],
    directory: str,
) -> None:
    s3 = fresh_s3
    bucket = f"log-{directory}"
    _bucket(s3, bucket)
    location = f"s3://{bucket}/kt/prod"
    log_directory = location if directory == "s3" else f"{s3.endpoint}/{bucket}/kt/prod"
    auditor, _ = start_auditor(tmp_path / "auditor")
    processes.append(auditor)
    made = cli("auditor", "owner-token", "--json", cwd=tmp_path)
    token, owner = json.loads(made.stdout)["token"], json.loads(made.stdout)["owner"]
    namespace = f"s3.{directory}.test"
    created = cli(
        "auditor", "create-namespace", namespace, "--remote-url", auditor.url,
        "--log-directory", log_directory, "--owner", owner, cwd=tmp_path,
        env={"GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_ADMIN_TOKEN},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    server = start_log_server(
        tmp_path / "server", "--audit-store", location, "--auditor-url", auditor.url,
        "--auditor-namespace", namespace, "--auditor-retry-max", "1", "--open-registration",
        env={"GLASSKEY_AUDITOR_TOKEN": token},
    )  # fmt: skip
    processes.append(server)

    store = S3BlobStore(location)
    config = get_configuration("whatsapp_v1")
    seen: set[int] = set()
    for i in range(4):
        user = f"user{i}"
        reg = httpx.post(f"{server.url}/api/auth/register", json={"user_id": user}, timeout=10)
        user_token = reg.json()["token"]
        answer = httpx.post(
            f"{server.url}/api/crypto/keys/identity?wait=10",
            json={"key": "a2V5", "upload_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {user_token}"}, timeout=20,
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        # Announced (in a signed checkpoint) means its blob is already in the bucket.
        epoch = httpx.get(f"{server.url}/api/transparency/root", timeout=5).json()["epoch"]
        assert set(range(1, epoch + 1)) <= store.epochs()
        seen.add(epoch)
    latest = max(seen)
    log = httpx.get(f"{server.url}/api/transparency/audit-log?limit=100", timeout=5).json()
    roots = {e["epoch"]: e["root_hash"] for e in log["entries"]}
    names = store.list()
    assert [int(n.split("/")[0]) for n in names] == list(range(1, latest + 1))
    for name in names:
        epoch, previous, current = name.split("/")
        assert current == roots[int(epoch)]
        if int(epoch) > 1:
            assert previous == roots[int(epoch) - 1]
        data = store.get(name)
        verify_audit_blob(config, name, data)  # the bytes prove the transition
        assert httpx.get(f"{server.url}/api/transparency/blobs/{name}", timeout=5).content == data

    # The auditor fetched every blob from the bucket, verified and countersigned it.
    info = wait_for(
        "the auditor to verify every epoch",
        lambda: (body := httpx.get(f"{auditor.url}/namespaces/{namespace}", timeout=5).json())
        .get("last_verified_epoch") == latest and body,
        60,
    )  # fmt: skip
    assert info["log_directory"] == log_directory
    # ``glasskey audit show --verify`` reads the blob straight from the bucket too.
    shown = cli("audit", "show", "--remote-url", auditor.url, "--namespace", namespace,
                "--verify", "--json", cwd=tmp_path)  # fmt: skip
    assert shown.returncode == 0, shown.stdout + shown.stderr
