"""The real ``plexi`` CLI verifying audit proofs that glasskey wrote to an S3 bucket.

A glasskey ``Directory`` publishes epochs with an ``S3BlobStore`` (``s3://plexi/kt/log``) on a
real S3-compatible server on loopback (SeaweedFS, or moto's server as in CI) whose bucket is
public-read. plexi 0.1.2 resolves a proof at the root of the ``log_directory``'s host (it
joins ``/{epoch}/{prev}/{root}``, dropping any path), so the namespace's ``log_directory`` is a
pull-through front at a host root mapping ``/`` to ``http://host/plexi/kt/log`` — what a CDN or
a bucket's custom domain gives in production. glasskey's auditor fetches every blob through
that front and verifies it before signing. Then ``plexi audit --long`` verifies signature and
proof for every epoch and prints exactly what ``glasskey audit show --long --verify`` prints.
Skips without cargo or without an S3 server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from glasskey.auditor._client import AuditorClient
from glasskey.auditor._service import Auditor, Keyring
from glasskey.auditor._store import open_auditor_store
from glasskey.auditor.app import AuthConfig, create_app
from glasskey.core.signing import Ed25519Signer
from glasskey.directory import Directory, S3BlobStore
from interop.plexi import harness as h
from tests.s3server import MISSING, s3_available, s3_server

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not s3_available(), reason=MISSING)]

TOKEN = "interop-token"
EPOCHS = 4
NAMESPACE = "glasskey.interop.s3"


@pytest.fixture(scope="module")
def plexi() -> Path:
    try:
        return h.build()
    except h.CargoMissing as exc:
        pytest.skip(f"plexi interop not run: {exc}")
    except h.BuildFailed as exc:
        pytest.fail(f"plexi did not build:\n{exc}", pytrace=False)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("plexi-s3")
    with s3_server() as s3:
        saved = {k: os.environ.get(k) for k in s3.env()}
        os.environ.update(s3.env())
        try:
            store = S3BlobStore("s3://plexi/kt/log")
            s3.public_bucket("plexi")
            directory = Directory.in_memory("whatsapp_v1", vrf_seed=bytes(range(32)),
                                            blob_store=store)  # fmt: skip
            roots = [directory.epoch_root(0)]
            for epoch in range(1, EPOCHS + 1):
                updates = [(f"u-{epoch}-{i}".encode(), b"k") for i in range(20)]
                roots.append(directory.publish(updates).root_hash)
            auditor_store = open_auditor_store(f"sqlite:///{work}/auditor.db")
            auditor = Auditor(
                auditor_store, Keyring([Ed25519Signer.from_seed(bytes([42] * 32))], 0)
            )
            app = create_app(auditor, AuthConfig(admin_token=TOKEN))
            with (
                h.cdn_server(f"{s3.endpoint}/plexi/kt/log") as front,
                h.auditor_server(app) as url,
                AuditorClient(url, TOKEN) as client,
            ):
                client.create_namespace(NAMESPACE, ciphersuite=1, log_directory=front)
                for epoch in range(1, EPOCHS + 1):
                    client.publish(NAMESPACE, epoch, roots[epoch])
                assert client.namespace(NAMESPACE).last_verified_epoch == EPOCHS
                yield url
            auditor_store.close()
            directory.close()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def test_plexi_verifies_proofs_from_the_bucket(plexi: Path, remote: str) -> None:
    for epoch in range(1, EPOCHS + 1):
        args = ["--remote-url", remote, "--namespace", NAMESPACE, "--long", "--epoch", str(epoch)]
        theirs = h.run([str(plexi), "audit", *args])
        ours = h.glasskey("audit", "show", "--verify", *args)
        assert theirs.returncode == 0, theirs.stderr
        assert "  Proof verification    : success\n" in theirs.stdout
        assert ours.returncode == 0, ours.stdout + ours.stderr
        assert theirs.stdout == ours.stdout
