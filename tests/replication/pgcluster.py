"""Real PostgreSQL clusters for the replication tests: a primary and streaming standbys.

Each cluster is its own ``initdb`` in a temporary folder, listening on a free port on
127.0.0.1 (never the shared cluster). PostgreSQL refuses to run as root, so when the tests
run as root every ``initdb``/``pg_ctl``/``pg_basebackup`` runs as the ``postgres`` user via
``su`` (as ``.ci/postgres.sh`` does) and the folders are handed to that user.

A standby is ``pg_basebackup -R`` of its primary with its own ``application_name``, so the
primary can name it in ``synchronous_standby_names``. ``kill9`` ends the postmaster and
every one of its children by process id (SIGKILL: a crash, nothing flushed or handed over).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from glasskey.demo import free_port


def pg_bin() -> Path | None:
    """The newest PostgreSQL bin folder with initdb, pg_ctl and pg_basebackup, or None."""
    configured = os.environ.get("GLASSKEY_PG_BIN")
    candidates = [Path(configured)] if configured else []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted(root.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0)
        candidates += [v / "bin" for v in reversed(versions)]
    for folder in candidates:
        if all((folder / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return folder
    return None


def missing_reason() -> str | None:
    """Why these tests cannot run here, or None."""
    if pg_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0 and shutil.which("su") is None:
        return "running as root without su: cannot run PostgreSQL as the postgres user"
    return None


def _as_postgres(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        line = " ".join(shlex.quote(c) for c in command)
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", line]
    else:
        argv = command
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


#: Settings of every cluster: streaming replication, hot standby queries that are never
#: cancelled by replay (feedback), quick fsync-less commits (the machine does not crash in
#: these tests; a killed process loses nothing the kernel has).
BASE_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "wal_receiver_status_interval": "1s",
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


class Cluster:
    """One PostgreSQL cluster (primary or standby) in ``folder``, on ``port``."""

    def __init__(self, folder: Path, port: int, name: str) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.name = name
        self.bin = pg_bin()
        assert self.bin is not None, missing_reason()

    # -- life cycle --------------------------------------------------------------------------

    @classmethod
    def primary(cls, root: Path, name: str = "primary") -> Cluster:
        folder = root / name
        folder.mkdir()
        _give_to_postgres(folder)
        cluster = cls(folder, free_port(), name)
        _as_postgres([str(cluster.bin / "initdb"), "-D", str(cluster.data), "-A", "trust",
                      "-U", "postgres", "--no-sync"])  # fmt: skip
        cluster._configure()
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE glasskey")
        return cluster

    def standby(self, name: str = "standby1") -> Cluster:
        """A streaming hot standby of this cluster (started), named ``name`` for sync rep."""
        folder = self.folder.parent / name
        folder.mkdir()
        _give_to_postgres(folder)
        standby = Cluster(folder, free_port(), name)
        _as_postgres([str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.port),
                      "-U", "postgres", "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast",
                      "--no-sync"])  # fmt: skip
        standby._configure(
            primary_conninfo=(
                f"'host=127.0.0.1 port={self.port} user=postgres application_name={name}'"
            )
        )
        standby.start()
        return standby

    def _configure(self, **extra: str) -> None:
        settings = {**BASE_SETTINGS, "port": str(self.port),
                    "unix_socket_directories": f"'{self.folder}'", **extra}  # fmt: skip
        lines = "".join(f"{k} = {v}\n" for k, v in settings.items())
        auto = self.data / "postgresql.auto.conf"
        with open(auto, "a") as handle:
            handle.write(lines)

    def start(self) -> None:
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                      str(self.folder / "postgres.log"), "-w", "-t", "60", "start"])  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode,
                              "-w", "stop"])  # fmt: skip

    def promote(self) -> None:
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "promote"])

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill9(self) -> None:
        """SIGKILL the postmaster and all its children (by id): a crash of this server."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = _children(pid)
        for victim in [pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in [pid, *children]):
            time.sleep(0.05)

    # -- SQL -----------------------------------------------------------------------------------

    def url(self, db: str = "glasskey") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres") -> list[tuple[object, ...]]:
        with psycopg.connect(self.url(db), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def set(self, name: str, value: str) -> None:
        """``ALTER SYSTEM SET`` and reload (e.g. ``synchronous_standby_names``)."""
        self.sql(f"ALTER SYSTEM SET {name} = '{value}'")
        self.sql("SELECT pg_reload_conf()")

    def wait_streaming(self, standby: str, timeout: float = 30) -> None:
        """Until ``standby`` streams from this primary (and, if named so, synchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.sql(
                f"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'"
            )
            if rows and rows[0][0] == "streaming":
                return
            time.sleep(0.1)
        raise AssertionError(f"{standby} is not streaming from {self.name}")

    def sync_state(self, standby: str) -> str | None:
        rows = self.sql(
            f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{standby}'"
        )
        return str(rows[0][0]) if rows else None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextlib.contextmanager
def cluster_root() -> Iterator[Path]:
    """A folder the postgres user can use (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="glasskey-pg-"))
    root.chmod(0o755)
    clusters: list[Path] = []
    try:
        yield root
    finally:
        for data in sorted(root.glob("*/data")):
            clusters.append(data)
        for data in clusters:
            pid_file = data / "postmaster.pid"
            if pid_file.exists():
                bin_dir = pg_bin()
                if bin_dir is not None:
                    with contextlib.suppress(Exception):
                        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                                      "immediate", "-w", "stop"], timeout=30)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
