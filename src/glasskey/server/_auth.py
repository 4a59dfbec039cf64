"""Who may upload a key for a label: a pluggable authenticator, bearer tokens built in.

Why pluggable: a messaging service already knows who its users are (sessions, OAuth, mTLS);
it plugs that in as an ``Authenticator`` and glasskey only enforces the rule that matters for
key transparency — a caller may change *their own* label and nobody else's.

The built-in ``TokenAuthenticator`` stores only SHA-256 hashes of random 256-bit tokens
(a database leak reveals no usable credential; tokens have full entropy, so a slow password
hash buys nothing) and compares with ``hmac.compare_digest`` so response timing does not
leak how much of a guess matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Protocol

from glasskey.core.errors import Conflict
from glasskey.server._db import ServiceDB
from glasskey.server._user_ids import check_user_id


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator(Protocol):
    """Maps a request's ``Authorization`` header to a user id (or None if anonymous/invalid)."""

    def authenticate(self, authorization: str | None) -> str | None: ...


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenAuthenticator:
    """Per-user bearer tokens, stored hashed in the service database.

    ``admin_token`` (optional) authorises registering users; it is kept only as a hash too.
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

    def user_exists(self, user_id: str) -> bool:
        rows = self.db.query("SELECT 1 FROM glasskey_tokens WHERE user_id = ?", (user_id,))
        return bool(rows)

    def issue(self, user_id: str, *, replace: bool = False) -> str:
        """Create a new token for ``user_id``; returns it (the only time it exists in clear).

        Without ``replace`` an existing user is a ``Conflict``: first come, first served, so
        nobody can take over a registered label by registering it again.
        """
        check_user_id(user_id)
        token = "gk_" + secrets.token_urlsafe(32)
        with self.db.transaction():
            exists = self.db.query("SELECT 1 FROM glasskey_tokens WHERE user_id = ?", (user_id,))
            if exists and not replace:
                raise Conflict(f"user {user_id!r} is already registered")
            if replace:
                self.db.execute("DELETE FROM glasskey_tokens WHERE user_id = ?", (user_id,))
            self.db.execute(
                "INSERT INTO glasskey_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                (hash_token(token), user_id, time.time()),
            )
        return token
