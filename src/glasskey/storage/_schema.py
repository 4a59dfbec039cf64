"""The directory schema and its versioned migrations, shared by SQLite and PostgreSQL.

Each migration is a list of statements in a portable SQL subset; ``{blob}``, ``{bigint}`` and
the like are filled in per dialect (``sql.Dialect.types``). A migration runs in the same
transaction that records it in ``glasskey_schema``, so a crash mid-migration leaves the
previous version intact.
"""

from __future__ import annotations

import time
from typing import Final

from glasskey.storage._errors import StoreCorrupted
from glasskey.storage._sql import SCHEMA_LOCK_ID, Database

MIGRATIONS: Final[list[tuple[int, str, list[str]]]] = [
    (
        1,
        "AKD tree, value states, epochs, pending queue",
        [
            """CREATE TABLE akd_nodes (
                key {blob} PRIMARY KEY,
                value {blob} NOT NULL,
                last_epoch {bigint} NOT NULL,
                min_epoch {bigint} NOT NULL,
                left_key {blob},
                left_hash {blob},
                right_key {blob},
                right_hash {blob}
            ){without_rowid}""",
            """CREATE TABLE akd_value_states (
                label {blob} NOT NULL,
                version {bigint} NOT NULL,
                epoch {bigint} NOT NULL,
                value {blob} NOT NULL,
                node_label {blob} NOT NULL,
                PRIMARY KEY (label, version)
            ){without_rowid}""",
            """CREATE TABLE akd_epochs (
                epoch {bigint} PRIMARY KEY,
                root_hash {blob} NOT NULL,
                published_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE pending_updates (
                id {serial_pk},
                label {blob} NOT NULL,
                value {blob} NOT NULL,
                accepted_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE published_updates (
                id {bigint} PRIMARY KEY,
                epoch {bigint} NOT NULL
            )""",
        ],
    ),
    (
        2,
        "stored VRF proofs for lookups (filled after each epoch)",
        [
            "ALTER TABLE akd_value_states ADD COLUMN existence_vrf {blob}",
            "ALTER TABLE akd_value_states ADD COLUMN freshness_vrf {blob}",
            "ALTER TABLE akd_value_states ADD COLUMN stale_label {blob}",
            # Only the rows still waiting for their proofs: empty once the filler caught up.
            "CREATE INDEX akd_value_states_unproven ON akd_value_states (label, version) "
            "WHERE existence_vrf IS NULL",
        ],
    ),
]

LATEST_VERSION: Final = MIGRATIONS[-1][0]


def migrate(db: Database) -> int:
    """Run the pending migrations in one write transaction; returns the version found before.

    The schema lock keeps two processes starting at once on one PostgreSQL database from
    running the same migration twice. A database newer than this code is refused, never
    downgraded.
    """
    with db.transaction(SCHEMA_LOCK_ID):
        db.execute(
            "CREATE TABLE IF NOT EXISTS glasskey_schema "
            "(version INTEGER PRIMARY KEY, description TEXT, applied_at DOUBLE PRECISION)"
        )
        row = db.execute("SELECT MAX(version) FROM glasskey_schema").fetchone()
        found = int(row[0]) if row and row[0] is not None else 0
        if found > LATEST_VERSION:
            raise StoreCorrupted(
                f"database schema version {found} is newer than this glasskey "
                f"({LATEST_VERSION}); upgrade glasskey"
            )
        types = db.dialect.types()
        for version, description, statements in MIGRATIONS:
            if version <= found:
                continue
            for statement in statements:
                db.execute(statement.format(**types))
            db.execute(
                "INSERT INTO glasskey_schema VALUES (?, ?, ?)", (version, description, time.time())
            )
    return found


def check(db: Database) -> int:
    """The schema version of a database this process must not change (a read replica).

    Refuses one that is not yet migrated (nothing to serve: start the writer first) or newer
    than this code, instead of running a migration a hot standby would reject.
    """
    try:
        row = db.execute("SELECT MAX(version) FROM glasskey_schema").fetchone()
    except Exception as exc:  # the table is missing: never migrated
        raise StoreCorrupted(
            "the database has no glasskey schema yet; start the writer before read replicas"
        ) from exc
    found = int(row[0]) if row and row[0] is not None else 0
    if found != LATEST_VERSION:
        raise StoreCorrupted(
            f"database schema version {found}, this glasskey reads version {LATEST_VERSION}: "
            "upgrade the writer and the read replicas to the same release"
        )
    return found
