"""Shared fixtures: storage backends, including PostgreSQL when one is configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings

from tests._leftovers import pytest_sessionfinish  # noqa: F401 - a hook: no leftover process

# Property tests assert what is accepted and refused, not how fast: on a loaded two-core CI
# machine a single example can exceed hypothesis' 200 ms default deadline, and its data
# generation can trip the "too slow" health check. Neither says anything about correctness.
settings.register_profile("glasskey", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("glasskey")

POSTGRES_URL = os.environ.get("GLASSKEY_TEST_POSTGRES_URL")
POSTGRES_SKIP_REASON = (
    "PostgreSQL tests need GLASSKEY_TEST_POSTGRES_URL (CI sets it; .ci/postgres.sh starts one)"
)


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema (dropped afterwards)."""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP_REASON)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """Every storage backend in turn (PostgreSQL skips with a reason when not configured)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/glasskey.db"
    return str(request.getfixturevalue("postgres_url"))
