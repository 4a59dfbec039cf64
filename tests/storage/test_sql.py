"""The SQL plumbing: URL parsing, SQLite settings on every connection, transactions, locks."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from glasskey.auditor._store import open_auditor_store
from glasskey.core.errors import UsageError
from glasskey.server._db import ServiceDB
from glasskey.storage import open_store
from glasskey.storage._dialects import POSTGRES, SQLITE
from glasskey.storage._sql import PostgresDatabase, SessionLock, SqliteDatabase, open_database
from glasskey.storage._urls import Backend, parse_database_url


def test_urls_are_parsed_in_one_place() -> None:
    assert parse_database_url("memory://").backend is Backend.MEMORY
    url = parse_database_url("sqlite:///var/lib/glasskey.db")
    assert (url.backend, url.path) == (Backend.SQLITE, "var/lib/glasskey.db")
    assert parse_database_url("sqlite:////abs/g.db").path == "/abs/g.db"
    for pg in ("postgresql://u@h:5432/db", "postgres://h/db?sslmode=require"):
        assert parse_database_url(pg).is_postgres
    assert parse_database_url("postgres://h/db").path is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x", "unsupported database URL 'mysql'"),
        ("sqlite://relative.db", "unsupported database URL 'sqlite'"),
        ("glasskey.db", "unsupported database URL 'glasskey.db'"),
        ("sqlite:///", "needs a path"),
        ("postgresql://h/db?nonsense=1", "malformed PostgreSQL URL"),
    ],
)
def test_bad_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_database_url(url)


def test_the_auditor_refuses_an_in_memory_database() -> None:
    with pytest.raises(UsageError, match="sqlite:///PATH or postgresql://"):
        open_auditor_store("memory://")


def test_dialects_translate_portable_statements() -> None:
    statement = "INSERT INTO t VALUES (?, ?)"
    assert SQLITE.sql(statement) == statement
    assert POSTGRES.sql(statement) == "INSERT INTO t VALUES (%s, %s)"
    assert "{" not in "CREATE TABLE t (k {blob}, n {bigint}){without_rowid}".format(
        **POSTGRES.types()
    )


def _settings(conn: sqlite3.Connection) -> tuple[object, ...]:
    return tuple(
        conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
    )


def test_every_connection_to_one_file_has_the_same_settings(tmp_path: Path) -> None:
    """The directory, the service tables and the auditor share one file and its rules."""
    url = f"sqlite:///{tmp_path}/one/glasskey.db"
    store = open_store(url)
    service = ServiceDB(url)
    auditor = open_auditor_store(url)
    databases = [store._db, service._db, auditor._db]  # type: ignore[attr-defined]
    found: list[tuple[object, ...]] = []

    def collect() -> None:
        found.extend(_settings(db.connection()) for db in databases)

    thread = threading.Thread(target=collect)
    thread.start()
    thread.join()
    collect()
    assert found == [("wal", 2, 1, 30000)] * 6
    for closable in (store, service, auditor):
        closable.close()


def test_each_thread_has_its_own_connection_and_close_ends_them_all(tmp_path: Path) -> None:
    db = SqliteDatabase(parse_database_url(f"sqlite:///{tmp_path}/t.db"))
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(db.connection()))
    thread.start()
    thread.join()
    mine = db.connection()
    assert mine is db.connection() and mine is not seen[0]
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        mine.execute("SELECT 1")
    assert db.connection() is not mine  # reopened on next use


def _rollback_and_commit(url: str) -> None:
    db = open_database(url)
    with db.transaction():
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO t VALUES (?)", (1,))
        raise RuntimeError("abandoned")
    with db.transaction():
        db.executemany("INSERT INTO t VALUES (?)", [(2,), (3,)])
    with pytest.raises(db.integrity_errors), db.transaction():
        db.execute("INSERT INTO t VALUES (?)", (2,))
    with db.read(lambda conn: conn):
        rows = db.execute("SELECT k FROM t ORDER BY k").fetchall()
    assert [r[0] for r in rows] == [2, 3]
    db.close()


def test_sqlite_writes_are_all_or_nothing(tmp_path: Path) -> None:
    _rollback_and_commit(f"sqlite:///{tmp_path}/t.db")
    _rollback_and_commit("memory://")


def test_postgres_writes_are_all_or_nothing(postgres_url: str) -> None:
    _rollback_and_commit(postgres_url)


def test_postgres_reads_are_read_only(postgres_url: str) -> None:
    db = open_database(postgres_url)
    assert isinstance(db, PostgresDatabase)
    with db.transaction():
        db.execute("CREATE TABLE t (k BIGINT)")
    with pytest.raises(Exception, match="read-only"), db.read(lambda conn: conn):
        db.execute("INSERT INTO t VALUES (?)", (1,))
    db.close()


def test_a_session_lock_has_one_holder(postgres_url: str) -> None:
    url = parse_database_url(postgres_url)
    first, second = SessionLock(url, 4242), SessionLock(url, 4242)
    assert first.try_acquire()
    assert first.try_acquire()  # still held
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_postgres_read_is_one_snapshot_begun_in_one_statement(
    postgres_url: str, tmp_path: Path
) -> None:
    """A read declares REPEATABLE READ READ ONLY in its ``BEGIN``: no separate ``SET
    TRANSACTION`` round trip (on loopback the round trips were most of a lookup's time), and
    a write on the same connection afterwards is an ordinary read-write transaction again."""
    db = open_database(postgres_url)
    assert isinstance(db, PostgresDatabase)
    conn = db.connection()
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        conn.pgconn.trace(out.fileno())
        with db.read(lambda c: c):
            level = db.execute("SHOW transaction_isolation").fetchone()
            read_only = db.execute("SHOW transaction_read_only").fetchone()
        conn.pgconn.untrace()
    lines = trace.read_text().splitlines()
    sent = [line.split("\tQuery\t", 1)[1].strip() for line in lines if "\tQuery\t" in line]
    assert level == ("repeatable read",) and read_only == ("on",)
    assert sent == [
        '"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"',
        '"SHOW transaction_isolation"',
        '"SHOW transaction_read_only"',
        '"COMMIT"',
    ], sent
    with db.transaction():
        assert db.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
        assert db.execute("SHOW transaction_read_only").fetchone() == ("off",)
    db.close()
