"""Database URLs: the one place a URL is parsed and checked.

Accepted: ``memory://`` (tests, demos), ``sqlite:///PATH`` and ``postgresql://...`` (also
``postgres://``, any libpq connection URI). Settings, the CLI's ``--db``, the stores and the
publisher's election all read a URL through ``parse_database_url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from glasskey.core.errors import ConfigurationError, UsageError


class Backend(Enum):
    MEMORY = "memory"
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A validated database URL; ``path`` is the file of a SQLite URL (else None)."""

    url: str
    backend: Backend
    path: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.backend is Backend.POSTGRESQL


def parse_database_url(url: str) -> DatabaseUrl:
    """``memory://``, ``sqlite:///PATH`` or ``postgresql://...`` (also ``postgres://``).

    Raises ``UsageError`` for any other scheme, a SQLite URL without a path or a malformed
    PostgreSQL URL, and ``ConfigurationError`` for PostgreSQL without its driver installed.
    """
    if url == "memory://":
        return DatabaseUrl(url, Backend.MEMORY)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise UsageError("sqlite URL needs a path: sqlite:///PATH")
        return DatabaseUrl(url, Backend.SQLITE, path)
    if url.startswith(("postgresql://", "postgres://")):
        psycopg = postgres_driver()
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"malformed PostgreSQL URL: {str(exc).strip()}") from None
        return DatabaseUrl(url, Backend.POSTGRESQL)
    raise UsageError(
        f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:///PATH or postgresql://..."
    )


def postgres_driver() -> Any:
    """The PostgreSQL driver, an optional dependency: imported only for PostgreSQL URLs."""
    try:
        import psycopg
    except ImportError:
        raise ConfigurationError(
            "PostgreSQL needs the psycopg driver: pip install 'glasskey[postgres]'"
        ) from None
    return psycopg


__all__ = ["Backend", "DatabaseUrl", "parse_database_url", "postgres_driver"]
