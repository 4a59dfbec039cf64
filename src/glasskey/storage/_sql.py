"""The SQL plumbing every glasskey table goes through: per-thread connections, transactions
and SQLite's settings (with ``urls`` for database URLs and ``dialects`` for SQLite's and
PostgreSQL's differences).

Why one place: the directory's store, the service's own tables (``server.db``) and the
auditor's store keep their state in SQLite or PostgreSQL — the first two in the *same* file
or database. Settings that must agree for one SQLite file (journal mode, fsync on commit)
and the rules for opening, pooling and locking were copied into each of them and had
drifted. Here they are written once; the callers keep only their tables and queries.

Why not a connection-pool library: every thread keeps one connection of its own for its
lifetime (sqlite3 connections must not be shared across threads), so the read path costs one
thread-local lookup — no checkout, no return, no lock. A lookup on SQLite takes ~0.25 ms on
the event loop; a pool's bookkeeping per transaction would be a measurable share of that.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeAlias, TypeVar

from glasskey.storage._dialects import POSTGRES, SQLITE, Dialect
from glasskey.storage._errors import DatabaseUnavailable
from glasskey.storage._urls import DatabaseUrl, parse_database_url, postgres_driver

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
ConnT = TypeVar("ConnT")

#: Advisory lock id (per transaction) for creating or migrating tables, so that several
#: processes starting on one PostgreSQL database never run the same DDL at once.
SCHEMA_LOCK_ID: Final = int.from_bytes(b"glasskey", "big", signed=True) ^ 1

#: Seconds a SQLite connection waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT: Final = 30.0

#: Applied to every SQLite connection, whichever caller opens it: SQLite keeps most of these
#: per connection, so one connection without them would run with other rules on the same file.
SQLITE_PRAGMAS: Final = (
    # Readers keep serving from a consistent snapshot while the publisher writes the next
    # epoch, and a writer never waits for readers. Stored in the file, so it applies to all.
    "PRAGMA journal_mode=WAL",
    # fsync the WAL on every commit: a committed epoch, an accepted update, an issued token
    # or an auditor's signature survives a power cut (NORMAL may lose the last commits).
    "PRAGMA synchronous=FULL",
    # Enforce REFERENCES as PostgreSQL always does, so both dialects accept the same rows.
    "PRAGMA foreign_keys=ON",
    # Reads map the file instead of copying pages into each connection's own cache: every
    # request thread then shares the OS page cache, warm from the first request on.
    "PRAGMA mmap_size=2147483648",
    # 64 MiB page cache per connection (allocated as used): the publisher's writes and WAL
    # pages stay in memory while an epoch is built.
    "PRAGMA cache_size=-65536",
)
# The busy timeout (wait for another writer, here or in another process, instead of failing
# with "database is locked") is set by ``sqlite3.connect(timeout=...)`` before any PRAGMA
# runs, so even switching a new file to WAL waits for a concurrent opener.


# -- connections -----------------------------------------------------------------------------


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _PerThread(Generic[ConnT]):
    """One connection per thread, opened on first use; ``close`` closes all of them.

    ``usable`` (if given) tells a connection the server dropped, which is then replaced.
    """

    def __init__(
        self, connect: Callable[[], ConnT], usable: Callable[[ConnT], bool] | None = None
    ) -> None:
        self._connect = connect
        self._usable = usable
        self._local = threading.local()
        self._all: list[ConnT] = []
        self._lock = threading.Lock()

    def get(self) -> ConnT:
        conn: ConnT | None = getattr(self._local, "conn", None)
        if conn is None or (self._usable is not None and not self._usable(conn)):
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self, close: Callable[[ConnT], None]) -> None:
        with self._lock:
            for conn in self._all:
                close(conn)
            self._all.clear()
        self._local = threading.local()


class _SqlDatabase(ABC, Generic[ConnT]):
    """What both dialects offer: per-thread connections and read / write transactions."""

    dialect: Dialect
    #: The driver's exceptions for a violated constraint (unique key, foreign key).
    integrity_errors: tuple[type[Exception], ...]

    @abstractmethod
    def connection(self) -> ConnT:
        """This thread's connection (in autocommit mode outside ``read``/``write``)."""

    @abstractmethod
    def read(self, wrap: Callable[[ConnT], T]) -> AbstractContextManager[T]:
        """A read transaction on one snapshot; yields ``wrap(connection)``."""

    @abstractmethod
    def write(
        self, wrap: Callable[[ConnT], T], lock: int | None = None
    ) -> AbstractContextManager[T]:
        """A write transaction, all or nothing; yields ``wrap(connection)``.

        ``lock``: a PostgreSQL advisory lock id taken first, so writers with the same id —
        in any process — run one after the other.
        """

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """A portable statement (``?`` placeholders) on this thread's connection."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Close every thread's connection."""

    def transaction(self, lock: int | None = None) -> AbstractContextManager[None]:
        """A write transaction for portable statements (``execute``) only."""
        return self.write(_no_handle, lock)

    def create_tables(self, statements: Iterable[str]) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements (``Dialect.types`` fields filled in)
        in one transaction under the schema lock."""
        types = self.dialect.types()
        with self.transaction(SCHEMA_LOCK_ID):
            for statement in statements:
                self.execute(statement.format(**types))


def _no_handle(_: object) -> None:
    return None


class SqliteDatabase(_SqlDatabase[sqlite3.Connection]):
    """A SQLite file (or ``:memory:``): WAL, durable commits, one connection per thread.

    ``:memory:`` is a single connection shared by all threads (a second connection would
    open a second, empty database), so its transactions — reads too — are serialised.
    """

    dialect = SQLITE
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self.path = url.path if url.path is not None else ":memory:"
        self._write_lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        if self.path == ":memory:":
            self._shared = self._connect()
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._pool = _PerThread(self._connect)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=SQLITE_BUSY_TIMEOUT
        )
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        return conn

    def connection(self) -> sqlite3.Connection:
        return self._shared if self._shared is not None else self._pool.get()

    @contextmanager
    def read(self, wrap: Callable[[sqlite3.Connection], T]) -> Iterator[T]:
        conn = self.connection()
        if self._shared is not None:
            with self._write_lock:
                yield wrap(conn)
            return
        conn.execute("BEGIN")
        try:
            yield wrap(conn)
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def write(
        self, wrap: Callable[[sqlite3.Connection], T], lock: int | None = None
    ) -> Iterator[T]:
        """SQLite serialises all writers (``BEGIN IMMEDIATE`` takes the file's write lock up
        front, so a transaction never fails half-way on a lock): that is what ``lock`` asks
        for, so it is not needed here. The thread lock queues this process's writers instead
        of letting them poll SQLite's busy handler."""
        conn = self.connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield wrap(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.connection().execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.connection().executemany(sql, (tuple(row) for row in rows))

    def close(self) -> None:
        self._pool.close(_close_sqlite)
        if self._shared is not None:
            _close_sqlite(self._shared)
            self._shared = None


class PostgresDatabase(_SqlDatabase["psycopg.Connection[Any]"]):
    """A PostgreSQL database (psycopg 3): one autocommit connection per thread.

    Reads run in REPEATABLE READ READ ONLY transactions (declared in their ``BEGIN``), so a
    proof is built from one snapshot; a write's advisory ``lock`` is transaction-scoped
    (released at its end).
    """

    dialect = POSTGRES

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self._psycopg = postgres_driver()
        self.integrity_errors = (self._psycopg.errors.IntegrityError,)
        self._pool: _PerThread[psycopg.Connection[Any]] = _PerThread(
            lambda: _connect_postgres(url), _open
        )

    def connection(self) -> psycopg.Connection[Any]:
        return self._pool.get()  # reopened if the server dropped it

    @contextmanager
    def read(self, wrap: Callable[[psycopg.Connection[Any]], T]) -> Iterator[T]:
        with self._unavailable():
            conn = self._pool.get()
            self._start_transactions_as(conn, self._psycopg.IsolationLevel.REPEATABLE_READ, True)
            with conn.transaction():
                yield wrap(conn)

    @contextmanager
    def write(
        self, wrap: Callable[[psycopg.Connection[Any]], T], lock: int | None = None
    ) -> Iterator[T]:
        with self._unavailable():
            conn = self._pool.get()
            self._start_transactions_as(conn, None, None)
            with conn.transaction():
                if lock is not None:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
                yield wrap(conn)

    def _start_transactions_as(
        self,
        conn: psycopg.Connection[Any],
        isolation: psycopg.IsolationLevel | None,
        read_only: bool | None,
    ) -> None:
        """Make the connection's next ``BEGIN`` carry these characteristics.

        psycopg sends them in the ``BEGIN`` statement itself, so a read costs no separate
        ``SET TRANSACTION`` round trip (a lookup on loopback PostgreSQL made six; the round trips
        were most of its time). Setting them sends nothing; psycopg allows it only outside a
        transaction, so a nested block keeps the outer one's."""
        if conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
            return
        if conn.isolation_level != isolation:
            conn.isolation_level = isolation
        if conn.read_only != read_only:
            conn.read_only = read_only

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with self._unavailable():
            return self._pool.get().execute(POSTGRES.sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._unavailable(), self._pool.get().cursor() as cur:
            cur.executemany(POSTGRES.sql(sql), [tuple(row) for row in rows])

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        """A lost or refused connection (server down, restarting, fail-over, a standby
        cancelling a query for replay) is ``DatabaseUnavailable`` — a 503 to retry, not a
        500. The broken connection is replaced at this thread's next use."""
        try:
            yield
        except self._psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(f"database unavailable: {first}") from exc

    def close(self) -> None:
        self._pool.close(lambda conn: conn.close())


#: A SQL database of either dialect (``memory://`` is an in-memory SQLite one).
Database: TypeAlias = SqliteDatabase | PostgresDatabase


def open_database(url: str | DatabaseUrl) -> Database:
    """Open the SQL database a URL names; ``memory://`` gives a private in-memory SQLite."""
    parsed = parse_database_url(url) if isinstance(url, str) else url
    if parsed.is_postgres:
        return PostgresDatabase(parsed)
    return SqliteDatabase(parsed)


def _connect_postgres(url: DatabaseUrl) -> psycopg.Connection[Any]:
    """A new autocommit connection (transactions are opened explicitly).

    A refused connection (no server, no such database, wrong password) is
    ``DatabaseUnavailable`` with the server's own first line — e.g. ``database "kt" does not
    exist`` — so ``glasskey serve`` can say it in one line instead of a traceback."""
    driver = postgres_driver()
    try:
        connection: psycopg.Connection[Any] = driver.connect(url.url, autocommit=True)
    except driver.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        reason = reason.split("FATAL:", 1)[-1].strip()  # libpq: "connection ... failed: FATAL: "
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL {_where(url.url)}: {reason}"
        ) from None
    return connection


def _where(url: str) -> str:
    """``host:port/dbname`` of a PostgreSQL URL, never its password."""
    info = postgres_driver().conninfo.conninfo_to_dict(url)
    host, port, name = info.get("host", "localhost"), info.get("port", "5432"), info.get("dbname")
    return f"{host}:{port}/{name}" if name else f"{host}:{port}"


def _open(conn: psycopg.Connection[Any]) -> bool:
    return not conn.closed


def _close_sqlite(conn: sqlite3.Connection) -> None:
    with suppress(sqlite3.Error):
        conn.close()


# -- session locks ---------------------------------------------------------------------------


class SessionLock:
    """A PostgreSQL session-level advisory lock, held on a connection of its own.

    The database releases it when that connection ends — also when the process dies — so it
    elects one holder among processes sharing a database without a lease to renew.
    """

    def __init__(self, url: DatabaseUrl, lock_id: int) -> None:
        self.url = url
        self.lock_id = lock_id
        self._conn: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        """True while held; raises ``DatabaseUnavailable`` (and drops it) on a database error."""
        psycopg = postgres_driver()
        try:
            if self._conn is not None and not self._conn.closed:
                self._conn.execute("SELECT 1")  # still connected → still holding the lock
                return True
            self._conn = _connect_postgres(self.url)
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_id,)).fetchone()
            if row and row[0]:
                return True
            self._drop()
            return False
        except psycopg.Error as exc:
            self._drop()
            raise DatabaseUnavailable(str(exc)) from exc

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_id,))
            finally:
                self._conn.close()
        self._conn = None

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


__all__ = [
    "SCHEMA_LOCK_ID",
    "SQLITE_PRAGMAS",
    "Cursor",
    "Database",
    "PostgresDatabase",
    "SessionLock",
    "SqliteDatabase",
    "open_database",
]
