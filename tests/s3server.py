"""A real S3-compatible server on 127.0.0.1 for the object-storage tests: SeaweedFS (or,
where it is not built, moto's standalone S3 server, another process speaking the S3 API).

``weed`` is built by ``.ci/run`` (``.ci/seaweedfs.sh``) into
``~/.cache/glasskey-interop/go/bin/weed``, outside the repository; ``GLASSKEY_WEED`` names
another binary. Without one the tests skip, saying so. ``weed server -s3`` runs a master, a
volume server, a filer and the S3 gateway in one process; every port is chosen free here
(gRPC ports too, which otherwise default to port + 10000). No identities are configured, so
the gateway accepts any credentials — and anonymous reads, which is what a public-read
bucket behind a CDN gives plexi.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CACHE = Path(
    os.environ.get("GLASSKEY_INTEROP_CACHE") or Path.home() / ".cache" / "glasskey-interop"
)
DEFAULT_WEED = CACHE / "go" / "bin" / "weed"


def weed_binary() -> Path | None:
    """The SeaweedFS binary, unless ``GLASSKEY_S3_SERVER=moto`` asks for moto (as CI has)."""
    if os.environ.get("GLASSKEY_S3_SERVER") == "moto":
        return None
    configured = os.environ.get("GLASSKEY_WEED")
    for candidate in (configured, str(DEFAULT_WEED), shutil.which("weed")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def _moto_available() -> bool:
    import importlib.util

    return (
        importlib.util.find_spec("moto") is not None
        and importlib.util.find_spec("flask") is not None
    )


def s3_available() -> bool:
    """SeaweedFS, or else moto's standalone S3 server (``pip install 'moto[server]'``)."""
    return weed_binary() is not None or _moto_available()


MISSING = (
    "no S3-compatible server: SeaweedFS's weed is not built "
    f"(.ci/seaweedfs.sh builds it into {DEFAULT_WEED}; or set GLASSKEY_WEED), "
    "and moto[server] is not installed"
)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    #: "seaweedfs" (no identities: anonymous reads allowed as is) or "moto" (private by
    #: default: a bucket policy makes it public-read).
    kind: str = "seaweedfs"

    def public_bucket(self, name: str) -> None:
        """A bucket whose objects anyone may read and list, as one behind a CDN for plexi.

        SeaweedFS without identities serves anonymous reads as is; moto refuses them unless
        a bucket policy allows them (CI runs on moto, where plexi got 403 without it).
        """
        import json

        import boto3

        client = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="y",
        )  # fmt: skip
        if not any(b["Name"] == name for b in client.list_buckets()["Buckets"]):
            client.create_bucket(Bucket=name, ACL="public-read")
        if self.kind != "moto":
            return
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                 "Resource": [f"arn:aws:s3:::{name}/*"]},
                {"Effect": "Allow", "Principal": "*", "Action": ["s3:ListBucket"],
                 "Resource": [f"arn:aws:s3:::{name}"]},
            ],
        }  # fmt: skip
        client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))

    def env(self) -> dict[str, str]:
        """The environment a process needs to use this server (dummy credentials)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "glasskey-test",
            "AWS_SECRET_ACCESS_KEY": "glasskey-test-secret",
            "AWS_REGION": "us-east-1",
        }


def _free_ports(count: int) -> list[int]:
    """Ports free now, below 55000 (so that port + 10000 is a valid port as well)."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < 55000 and port not in found:
            found.append(port)
    return found


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS when built, else moto's S3 server (a separate process either way)."""
    if weed_binary() is not None:
        with seaweedfs() as server:
            yield server
    else:
        with moto_server() as server:
            yield server


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """``python -m moto.server`` on a free loopback port (S3 API, no credentials checked)."""
    import sys

    assert _moto_available(), MISSING
    folder = Path(tempfile.mkdtemp(prefix="glasskey-moto-"))
    (port,) = _free_ports(1)
    log = open(folder / "moto.log", "ab")  # noqa: SIM115 - closed below
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_for_s3(endpoint, proc, folder, "moto.log")
        yield S3Server(endpoint, "moto")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def seaweedfs() -> Iterator[S3Server]:
    """``weed server -s3`` in a temporary folder; stopped and removed afterwards."""
    binary = weed_binary()
    assert binary is not None, MISSING
    folder = Path(tempfile.mkdtemp(prefix="glasskey-weed-"))
    master, volume, filer, s3, g1, g2, g3, g4 = _free_ports(8)
    args = [
        str(binary), "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={g1}", f"-volume.port={volume}",
        f"-volume.port.grpc={g2}", f"-filer.port={filer}", f"-filer.port.grpc={g3}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={g4}", "-master.volumeSizeLimitMB=32",
        "-volume.max=8",
    ]  # fmt: skip
    log = open(folder / "weed.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        _wait_for_s3(endpoint, proc, folder)
        yield S3Server(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_s3(
    endpoint: str, proc: subprocess.Popen[bytes], folder: Path, log: str = "weed.log"
) -> None:
    """Until the gateway answers and a bucket can be created and written (volumes up)."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="y",
    )  # fmt: skip
    deadline = time.monotonic() + 90
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            httpx.get(endpoint, timeout=1)
            if not any(b["Name"] == "glasskey-probe" for b in client.list_buckets()["Buckets"]):
                client.create_bucket(Bucket="glasskey-probe")
            client.put_object(Bucket="glasskey-probe", Key="probe", Body=b"1")
            return
        except Exception as exc:
            last = exc
            time.sleep(0.3)
    tail = (folder / log).read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the S3 server did not come up ({last!r}):\n{tail}")
