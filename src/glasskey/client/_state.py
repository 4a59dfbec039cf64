"""The client's memory: pinned keys, the last verified checkpoint, keys seen, own uploads.

Keyed by *log identity* (``Trust.log_id``: origin and log key), not by origin alone: every
development server has the same default origin, and two different logs under one name must
never be compared with each other (a shorter second log is not a rollback of the first).
Trust is pinned per server URL.

Why persistent: rollback and fork detection compare what the server says *now* with what it
said *before*; a client that forgets between runs can be shown a different history each
time. A small SQLite file is enough (one row per server for trust and head, one per
(label, version) seen, one per own upload in the order they were sent). Values are stored as
SHA-256 digests only: the state file is evidence, not a key cache.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from glasskey.core.errors import UsageError
from glasskey.core.user_ids import UserIdPolicy

#: The publication delay a client assumes for a log whose key document declares none.
UNDECLARED_PUBLICATION_DELAY = 3600.0
#: The checkpoint age a client accepts by default from a log that declares no re-signing
#: interval (older logs): what every client accepted before logs declared one.
UNDECLARED_MAX_AGE = 3600.0
#: Default maximum checkpoint age = ``MAX_AGE_REFRESHES`` re-signing intervals plus
#: ``MAX_AGE_CLOCK_SLACK`` seconds. Why three: an honest log re-signs on its publisher's
#: tick after the interval has passed, so a head is up to one interval plus a tick old, and
#: one slow tick (a large epoch, a database hiccup) must not make honest logs look stale;
#: a head three intervals old means the log stopped re-signing, or an old head is replayed.
#: The slack absorbs the skew between the client's clock and the log's (NTP-synced devices
#: are within seconds).
MAX_AGE_REFRESHES = 3
MAX_AGE_CLOCK_SLACK = 15.0

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS trust (
        server TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        log_public_key TEXT NOT NULL,
        vrf_public_key BLOB NOT NULL,
        configuration TEXT NOT NULL,
        domain_label BLOB
    )""",
    """CREATE TABLE IF NOT EXISTS heads (
        origin TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        log_root BLOB NOT NULL,
        note TEXT NOT NULL,
        signed_at REAL,
        verified_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS checkpoints_seen (
        origin TEXT NOT NULL,
        size INTEGER NOT NULL,
        log_root BLOB NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (origin, size)
    )""",
    """CREATE TABLE IF NOT EXISTS observations (
        origin TEXT NOT NULL,
        label TEXT NOT NULL,
        version INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        value_sha256 BLOB NOT NULL,
        seen_at REAL NOT NULL,
        PRIMARY KEY (origin, label, version)
    )""",
    # Every upload of this device, in the order sent (``seq``): one row per upload, so the
    # same key uploaded twice is two uploads, and owner monitoring can tell an old upload
    # published again from a new one.
    # The newest epoch the pinned auditor is known to have countersigned, per namespace: a
    # served epoch older than it is a rollback. It only grows; ``checked_at`` is when the
    # auditor itself was last asked (at most once per ``AuditorPin.check_interval``).
    """CREATE TABLE IF NOT EXISTS auditor_epochs (
        namespace TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL,
        checked_at REAL
    )""",
    """CREATE TABLE IF NOT EXISTS own_uploads (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        origin TEXT NOT NULL,
        label TEXT NOT NULL,
        upload_id TEXT NOT NULL UNIQUE,
        value_sha256 BLOB NOT NULL,
        update_id INTEGER,
        sent_at REAL NOT NULL
    )""",
]

#: State files written before the changes named: brought forward when opened.
_UPGRADES = [
    # The log's declared publication delay is pinned with its keys.
    ("trust", "max_publication_delay", "ALTER TABLE trust ADD COLUMN max_publication_delay REAL"),
    # And its declared checkpoint re-signing interval.
    ("trust", "checkpoint_refresh", "ALTER TABLE trust ADD COLUMN checkpoint_refresh REAL"),
    # And its declared user id policy.
    ("trust", "user_id_policy", "ALTER TABLE trust ADD COLUMN user_id_policy TEXT"),
]
#: Own uploads were once one row per key digest; their order is the order first sent.
_OLD_OWN_UPDATES = (
    "INSERT INTO own_uploads (origin, label, upload_id, value_sha256, update_id, sent_at) "
    "SELECT origin, label, 'legacy-' || lower(hex(value_sha256)), value_sha256, update_id, "
    "created_at FROM own_updates ORDER BY created_at"
)


@dataclass(frozen=True, slots=True)
class Trust:
    """The public keys a client pins for one server (first use or configured)."""

    origin: str
    log_public_key: str
    vrf_public_key: bytes
    configuration: str
    domain_label: bytes | None = None
    #: The log's promise (from its key document): every accepted upload is in a published
    #: epoch within this many seconds. Pinned at first contact like the keys; None in a
    #: configured trust means "take the log's declaration at first contact".
    max_publication_delay: float | None = None
    #: The log's declared interval between re-signings of its head checkpoint, pinned the
    #: same way; it sets the default maximum checkpoint age (``default_max_age``).
    checkpoint_refresh: float | None = None
    #: The log's declared user id policy (``glasskey.core.user_ids``), pinned the same way:
    #: the client looks up the label it makes of an id. None: exact, or "take the log's
    #: declaration at first contact" in a configured trust.
    user_id_policy: str | None = None

    def __post_init__(self) -> None:
        if self.user_id_policy is not None:
            try:
                UserIdPolicy(self.user_id_policy)
            except ValueError:
                raise UsageError(
                    f"Trust.user_id_policy must be one of {[p.value for p in UserIdPolicy]}"
                ) from None
        for name in ("max_publication_delay", "checkpoint_refresh"):
            seconds = getattr(self, name)
            if seconds is not None and (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
                or seconds <= 0
            ):
                raise UsageError(f"Trust.{name} must be a positive number of seconds")

    @property
    def default_max_age(self) -> float:
        """The checkpoint age refused when the policy sets none: a few re-signing intervals."""
        refresh = self.checkpoint_refresh
        if refresh is None:
            return UNDECLARED_MAX_AGE
        return MAX_AGE_REFRESHES * float(refresh) + MAX_AGE_CLOCK_SLACK

    @property
    def publication_deadline(self) -> float:
        """Seconds after which an own upload missing from the log is reported."""
        delay = self.max_publication_delay
        return UNDECLARED_PUBLICATION_DELAY if delay is None else float(delay)

    def canonical_user_id(self, user_id: str) -> str:
        """``user_id`` as the log's declared policy spells it (its directory label)."""
        return UserIdPolicy(self.user_id_policy or UserIdPolicy.EXACT).normalise(user_id)

    @property
    def log_id(self) -> str:
        """The log's identity in the client state: its origin and its note key together.

        Two logs with one origin (every development server has the default one) but
        different keys are different logs: their heads and keys are never compared.
        """
        return log_identity(self.origin, self.log_public_key)

    def same_keys(self, other: Trust) -> bool:
        """Whether ``other`` pins the same log keys (the declared intervals aside)."""
        return (self.origin, self.log_public_key, self.vrf_public_key, self.configuration,
                self.domain_label) == (other.origin, other.log_public_key, other.vrf_public_key,
                                       other.configuration, other.domain_label)  # fmt: skip


def log_identity(origin: str, log_public_key: str) -> str:
    """``origin`` and the log's note verifier key, as one state key (``Trust.log_id``)."""
    return f"{origin}\n{log_public_key}"


#: Tables whose ``origin`` column holds the log identity (``Trust.log_id``) since it exists.
_LOG_KEYED = ("heads", "checkpoints_seen", "observations", "own_uploads")


@dataclass(frozen=True, slots=True)
class OwnUpload:
    """One upload this device sent, in sending order (``seq``)."""

    seq: int
    upload_id: str
    value_sha256: bytes
    update_id: int | None  # None until the server's receipt arrived
    sent_at: float


@dataclass(frozen=True, slots=True)
class Head:
    """A verified root-log head: size and RFC 6962 root, with its signed note."""

    origin: str
    size: int
    log_root: bytes
    note: str
    signed_at: float | None = None


class ClientState:
    """SQLite-backed client state (``":memory:"`` for a throwaway client)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._last_stored: dict[str, tuple[int, str]] = {}
        with self._lock:
            for statement in _SCHEMA:
                self._conn.execute(statement)
            self._upgrade()

    def _upgrade(self) -> None:
        for table, column, statement in _UPGRADES:
            columns = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._conn.execute(statement)
        old = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'own_updates'"
        ).fetchone()
        if old:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(_OLD_OWN_UPDATES)
            self._conn.execute("DROP TABLE own_updates")
            self._conn.execute("COMMIT")
        self._key_by_log_identity()

    def _key_by_log_identity(self) -> None:
        """Rows a state file keyed by origin alone move to their log's identity when the
        pinned trust names exactly one log key for that origin; rows of an origin pinned
        with several keys (which log were they from?) are left out of every comparison."""
        pinned = self._conn.execute(
            "SELECT origin, log_public_key FROM trust GROUP BY origin, log_public_key"
        ).fetchall()
        keys: dict[str, set[str]] = {}
        for origin, key in pinned:
            keys.setdefault(origin, set()).add(key)
        self._conn.execute("BEGIN IMMEDIATE")
        for origin, names in keys.items():
            if len(names) == 1:
                log_id = log_identity(origin, next(iter(names)))
                for table in _LOG_KEYED:
                    self._conn.execute(
                        f"UPDATE OR IGNORE {table} SET origin = ? WHERE origin = ?",
                        (log_id, origin),
                    )
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    # -- trust -------------------------------------------------------------------------------------

    def trust(self, server: str) -> Trust | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT origin, log_public_key, vrf_public_key, configuration, domain_label, "
                "max_publication_delay, checkpoint_refresh, user_id_policy FROM trust "
                "WHERE server = ?",
                (server,),
            ).fetchone()
        if row is None:
            return None
        return Trust(
            row[0], row[1], bytes(row[2]), row[3], bytes(row[4]) if row[4] else None, row[5],
            row[6], row[7],
        )  # fmt: skip

    def pin(self, server: str, trust: Trust) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO trust (server, origin, log_public_key, vrf_public_key, "
                "configuration, domain_label, max_publication_delay, checkpoint_refresh, "
                "user_id_policy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (server, trust.origin, trust.log_public_key, trust.vrf_public_key,
                 trust.configuration, trust.domain_label, trust.max_publication_delay,
                 trust.checkpoint_refresh, trust.user_id_policy),
            )  # fmt: skip

    # -- the auditor's newest countersigned epoch ------------------------------------------------

    def auditor_epoch(self, namespace: str) -> tuple[int, float | None]:
        """(newest countersigned epoch known, when the auditor was last asked) for ``namespace``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT epoch, checked_at FROM auditor_epochs WHERE namespace = ?", (namespace,)
            ).fetchone()
        return (0, None) if row is None else (int(row[0]), row[1])

    def raise_auditor_epoch(self, namespace: str, epoch: int, *, asked: bool = False) -> None:
        """Remember that the auditor countersigned ``epoch`` (never lowers the stored one);
        ``asked``: the answer came from the auditor itself, now."""
        checked_at = time.time() if asked else None
        with self._lock:
            self._conn.execute(
                "INSERT INTO auditor_epochs VALUES (?, ?, ?) ON CONFLICT (namespace) DO UPDATE "
                "SET epoch = max(epoch, excluded.epoch), "
                "checked_at = coalesce(excluded.checked_at, checked_at)",
                (namespace, epoch, checked_at),
            )

    # -- heads -------------------------------------------------------------------------------------

    def head(self, origin: str) -> Head | None:
        """The newest verified head of the log ``origin`` names: a ``Trust.log_id`` (what
        the clients store under)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT size, log_root, note, signed_at FROM heads WHERE origin = ?", (origin,)
            ).fetchone()
        if row is None:
            return None
        return Head(origin.split("\n", 1)[0], int(row[0]), bytes(row[1]), row[2], row[3])

    def logs(self) -> list[str]:
        """The log identities (``Trust.log_id``) this state holds a verified head of."""
        with self._lock:
            rows = self._conn.execute("SELECT origin FROM heads ORDER BY origin").fetchall()
        return [str(r[0]) for r in rows]

    def checkpoint_at(self, origin: str, size: int) -> Head | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT log_root, note FROM checkpoints_seen WHERE origin = ? AND size = ?",
                (origin, size),
            ).fetchone()
        return Head(origin.split("\n", 1)[0], size, bytes(row[0]), row[1]) if row else None

    def store_head(self, head: Head, log_id: str | None = None) -> None:
        """Remember ``head`` as the newest verified state of the log ``log_id`` (default:
        ``head.origin``; clients pass ``Trust.log_id``). Callers checked it extends the old.

        Storing the head this state file stored last is a no-op (every lookup within an
        epoch verifies the same checkpoint; a write per lookup would be an fsync per lookup).
        """
        key = head.origin if log_id is None else log_id
        with self._lock:
            if self._last_stored.get(key) == (head.size, head.note):
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                current = self._conn.execute(
                    "SELECT size, signed_at FROM heads WHERE origin = ?", (key,)
                ).fetchone()
                newer = (
                    current is None
                    or head.size > current[0]
                    or (head.size == current[0] and (head.signed_at or 0) >= (current[1] or 0))
                )
                if newer:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO heads VALUES (?, ?, ?, ?, ?, ?)",
                        (key, head.size, head.log_root, head.note, head.signed_at,
                         time.time()),
                    )  # fmt: skip
                self._conn.execute(
                    "INSERT OR IGNORE INTO checkpoints_seen VALUES (?, ?, ?, ?)",
                    (key, head.size, head.log_root, head.note),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._last_stored[key] = (head.size, head.note)

    # -- observations ------------------------------------------------------------------------------

    def observation(self, origin: str, label: str, version: int) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT epoch, value_sha256 FROM observations "
                "WHERE origin = ? AND label = ? AND version = ?",
                (origin, label, version),
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def observations(self, origin: str, label: str) -> list[tuple[int, int, bytes]]:
        """(version, epoch, value digest) seen for ``label``, oldest version first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT version, epoch, value_sha256 FROM observations "
                "WHERE origin = ? AND label = ? ORDER BY version",
                (origin, label),
            ).fetchall()
        return [(int(v), int(e), bytes(d)) for v, e, d in rows]

    def observe(self, origin: str, label: str, version: int, epoch: int, digest: bytes) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?, ?, ?)",
                (origin, label, version, epoch, digest, time.time()),
            )

    def watched_labels(self, origin: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT label FROM observations WHERE origin = ? ORDER BY label",
                (origin,),
            ).fetchall()
        return [r[0] for r in rows]

    # -- own uploads -------------------------------------------------------------------------------

    def record_upload(self, origin: str, label: str, upload_id: str, digest: bytes) -> None:
        """Remember an upload *before* sending it: a crash after the server accepted it must
        not make our own key look foreign, nor its loss go unnoticed."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO own_uploads (origin, label, upload_id, value_sha256, sent_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (upload_id) DO NOTHING",
                (origin, label, upload_id, digest, time.time()),
            )

    def confirm_upload(self, upload_id: str, update_id: int) -> None:
        """The server's receipt for an upload: its update id."""
        with self._lock:
            self._conn.execute(
                "UPDATE own_uploads SET update_id = ? WHERE upload_id = ?", (update_id, upload_id)
            )

    def own_uploads(self, origin: str, label: str) -> list[OwnUpload]:
        """Every upload this state file recorded for ``label``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, upload_id, value_sha256, update_id, sent_at FROM own_uploads "
                "WHERE origin = ? AND label = ? ORDER BY seq",
                (origin, label),
            ).fetchall()
        return [
            OwnUpload(int(q), str(u), bytes(d), int(i) if i is not None else None, float(t))
            for q, u, d, i, t in rows
        ]
