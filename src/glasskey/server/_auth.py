"""Who may upload a key for a label: user tokens, service credentials, or a plug-in.

Three ways a messaging service integrates (docs/integration.md):

* **backend mode** — the app's backend already knows who its users are and uploads on their
  behalf with a *service credential* (``gks_…``, issued by an admin). A service credential
  may upload for any user id and read those uploads' receipts; it cannot register users or
  manage credentials (scoped to uploads).
* **per-user tokens** (``gk_…``) — the built-in ``TokenAuthenticator``; an admin can reissue
  a lost token and revoke one.
* **a plug-in authenticator** — any object with ``authenticate(authorization)`` returning the
  user id (or a ``Caller``) or None, built by ``glasskey serve --authenticator module:factory``
  in every worker (``load_authenticator``).

Whatever authenticates, glasskey enforces the rule that matters for key transparency: a user
changes *their own* label and nobody else's; only a service credential speaks for others.

Secrets: tokens are random 256-bit strings stored only as SHA-256 hashes (a database leak
reveals no usable credential; with full-entropy tokens a slow password hash buys nothing),
compared with ``hmac.compare_digest`` so timing does not leak how much of a guess matched.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from glasskey.core.errors import ConfigurationError, Conflict, NotFound, UsageError
from glasskey.server._db import ServiceDB
from glasskey.server._user_ids import check_user_id

USER_TOKEN_PREFIX = "gk_"
SERVICE_TOKEN_PREFIX = "gks_"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: a user (may change only their own label) or a service.

    ``service``: the name of the service credential; such a caller uploads on behalf of any
    user (backend mode) and has no user id of its own.
    """

    user_id: str | None = None
    service: str | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.service is None):
            raise UsageError("a Caller is either a user (user_id) or a service (service)")

    @property
    def name(self) -> str:
        """How logs and messages name the caller."""
        return f"service {self.service}" if self.service is not None else f"user {self.user_id}"


@runtime_checkable
class Authenticator(Protocol):
    """Maps a request's ``Authorization`` header to a user id, a ``Caller``, or None
    (anonymous or invalid). Called on a worker thread; may block (database, HTTP)."""

    def authenticate(self, authorization: str | None) -> str | Caller | None: ...


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


class TokenAuthenticator:
    """Per-user bearer tokens, stored hashed in the service database.

    ``admin_token`` (optional) authorises registering users and managing credentials; it is
    kept only as a hash too.
    """

    def __init__(self, db: ServiceDB, admin_token: str | None = None) -> None:
        self.db = db
        self._admin_hash = hash_token(admin_token) if admin_token else None

    def authenticate(self, authorization: str | None) -> str | None:
        token = bearer_token(authorization)
        if token is None:
            return None
        digest = hash_token(token)
        rows = self.db.query(
            "SELECT token_hash, user_id FROM glasskey_tokens WHERE token_hash = ?", (digest,)
        )
        for stored, user_id in rows:
            if hmac.compare_digest(bytes(stored), digest):
                return str(user_id)
        return None

    def is_admin(self, authorization: str | None) -> bool:
        token = bearer_token(authorization)
        if token is None or self._admin_hash is None:
            return False
        return hmac.compare_digest(hash_token(token), self._admin_hash)

    @property
    def has_admin(self) -> bool:
        return self._admin_hash is not None

    def user_exists(self, user_id: str) -> bool:
        rows = self.db.query("SELECT 1 FROM glasskey_tokens WHERE user_id = ?", (user_id,))
        return bool(rows)

    def issue(self, user_id: str, *, replace: bool = False) -> str:
        """Create a new token for ``user_id``; returns it (the only time it exists in clear).

        Without ``replace`` an existing user is a ``Conflict``: first come, first served, so
        nobody can take over a registered label by registering it again. With ``replace``
        (an admin's reissue) the user must exist and every earlier token stops working.
        """
        check_user_id(user_id)
        token = _new_token(USER_TOKEN_PREFIX)
        with self.db.transaction():
            exists = self.db.query("SELECT 1 FROM glasskey_tokens WHERE user_id = ?", (user_id,))
            if exists and not replace:
                raise Conflict(
                    f"user {user_id} is already registered (an admin can reissue its token)"
                )
            if replace:
                if not exists:
                    raise NotFound(f"user {user_id} is not registered")
                self.db.execute("DELETE FROM glasskey_tokens WHERE user_id = ?", (user_id,))
            self.db.execute(
                "INSERT INTO glasskey_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                (hash_token(token), user_id, time.time()),
            )
        return token

    def revoke(self, user_id: str) -> None:
        """Make every token of ``user_id`` stop working; the user stays registered (nobody can
        claim the id again) until an admin reissues a token."""
        check_user_id(user_id)
        with self.db.transaction():
            if not self.user_exists(user_id):
                raise NotFound(f"user {user_id} is not registered")
            self.db.execute("DELETE FROM glasskey_tokens WHERE user_id = ?", (user_id,))
            # A row whose hash no token has keeps the id registered: a revoked id is not free.
            self.db.execute(
                "INSERT INTO glasskey_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                (hash_token(_new_token("revoked_")), user_id, time.time()),
            )


class ServiceCredentials:
    """Named service credentials (backend mode), stored as SHA-256 hashes."""

    def __init__(self, db: ServiceDB) -> None:
        self.db = db

    def caller(self, authorization: str | None) -> Caller | None:
        """The service a ``Bearer gks_…`` header authenticates, or None."""
        token = bearer_token(authorization)
        if token is None or not token.startswith(SERVICE_TOKEN_PREFIX):
            return None
        digest = hash_token(token)
        rows = self.db.query(
            "SELECT token_hash, name FROM glasskey_service_tokens WHERE token_hash = ?", (digest,)
        )
        for stored, name in rows:
            if hmac.compare_digest(bytes(stored), digest):
                return Caller(service=str(name))
        return None

    def issue(self, name: str, *, replace: bool = False) -> str:
        """A new credential named ``name`` (shown once); ``replace`` rotates an existing one."""
        check_service_name(name)
        token = _new_token(SERVICE_TOKEN_PREFIX)
        with self.db.transaction():
            exists = self.db.query("SELECT 1 FROM glasskey_service_tokens WHERE name = ?", (name,))
            if exists and not replace:
                raise Conflict(f"service credential {name} exists (reissue it to rotate)")
            self.db.execute("DELETE FROM glasskey_service_tokens WHERE name = ?", (name,))
            self.db.execute(
                "INSERT INTO glasskey_service_tokens (name, token_hash, scope, created_at) "
                "VALUES (?, ?, ?, ?)",
                (name, hash_token(token), "upload", time.time()),
            )
        return token

    def revoke(self, name: str) -> None:
        check_service_name(name)
        with self.db.transaction():
            if not self.db.query("SELECT 1 FROM glasskey_service_tokens WHERE name = ?", (name,)):
                raise NotFound(f"no service credential named {name}")
            self.db.execute("DELETE FROM glasskey_service_tokens WHERE name = ?", (name,))

    def names(self) -> list[str]:
        rows = self.db.query("SELECT name FROM glasskey_service_tokens ORDER BY name")
        return [str(r[0]) for r in rows]


def check_service_name(name: str) -> str:
    """1-64 characters ``A-Z a-z 0-9 . _ -``: it appears in logs and URLs."""
    if not (
        isinstance(name, str)
        and 1 <= len(name) <= 64
        and all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    ):
        raise UsageError("a service credential name is 1-64 characters of A-Z a-z 0-9 . _ -")
    return name


def as_caller(result: str | Caller | None) -> Caller | None:
    """An authenticator's answer as a ``Caller`` (a bare string is a user id)."""
    if result is None or isinstance(result, Caller):
        return result
    if isinstance(result, str):
        return Caller(user_id=result)
    raise TypeError(
        f"an authenticator returns a user id (str), a Caller or None, not {type(result).__name__}"
    )


def load_authenticator(spec: str, db: ServiceDB) -> Authenticator:
    """Build the plug-in named ``module:factory`` (``glasskey serve --authenticator``).

    ``factory`` is called with no arguments, or with the service database if it takes one
    (an authenticator that keeps its own table next to glasskey's); it reads its own
    configuration (secrets included) from the environment, so every ``--workers`` process
    builds the same one. Failures are ``ConfigurationError`` with one line saying which.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"--authenticator {spec}: expected module:factory")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"--authenticator {spec}: cannot import {module_name} ({exc}); is it installed "
            "or on PYTHONPATH?"
        ) from None
    factory: Callable[..., Any] | None = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigurationError(f"--authenticator {spec}: {module_name} has no callable {attr}")
    try:
        authenticator = _call_factory(factory, db)
    except ConfigurationError:
        raise
    except Exception as exc:  # the plug-in's own failure, named in one line
        raise ConfigurationError(
            f"--authenticator {spec}: the factory failed: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(authenticator, Authenticator):
        raise ConfigurationError(
            f"--authenticator {spec}: the factory returned {type(authenticator).__name__}, "
            "which has no authenticate(authorization) method"
        )
    return authenticator


def _call_factory(factory: Callable[..., Any], db: ServiceDB) -> Any:
    import inspect

    try:
        takes_db = bool(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        takes_db = False
    return factory(db) if takes_db else factory()
