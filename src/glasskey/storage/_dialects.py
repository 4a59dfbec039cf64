"""The two SQL dialects glasskey writes: SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between SQLite and PostgreSQL for the SQL glasskey writes.

    Portable statements use ``?`` placeholders (``sql`` swaps them for ``%s``) and the
    ``{blob}``, ``{bigint}``, ``{serial_pk}`` and ``{without_rowid}`` fields (``types``) in
    DDL. Upserts are written in the ``INSERT ... ON CONFLICT`` form both dialects accept.
    """

    name: str
    placeholder: str
    blob: str
    bigint: str
    #: An id column: AUTOINCREMENT so SQLite never reuses the id of a deleted row (update
    #: ids are receipts that clients poll; a reused id would report someone else's update).
    serial_pk: str
    #: Tables keyed by a blob are clustered on it in SQLite (no separate rowid b-tree).
    without_rowid: str
    #: Appended to a SELECT that locks its rows until the transaction ends. SQLite has no
    #: row locks and needs none: its write transactions hold the whole file's lock.
    for_update: str

    def types(self) -> dict[str, str]:
        return {
            "blob": self.blob,
            "bigint": self.bigint,
            "serial_pk": self.serial_pk,
            "without_rowid": self.without_rowid,
        }

    def sql(self, statement: str) -> str:
        """A portable statement (``?`` placeholders) in this dialect."""
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)


SQLITE: Final = Dialect(
    name="sqlite",
    placeholder="?",
    blob="BLOB",
    bigint="INTEGER",
    serial_pk="INTEGER PRIMARY KEY AUTOINCREMENT",
    without_rowid=" WITHOUT ROWID",
    for_update="",
)
POSTGRES: Final = Dialect(
    name="postgresql",
    placeholder="%s",
    blob="BYTEA",
    bigint="BIGINT",
    serial_pk="BIGSERIAL PRIMARY KEY",
    without_rowid="",
    for_update=" FOR UPDATE",
)


__all__ = ["POSTGRES", "SQLITE", "Dialect"]
