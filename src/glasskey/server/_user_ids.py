"""The server's user id policy: ``glasskey.core.user_ids``, where clients can apply it too."""

from __future__ import annotations

from glasskey.core.user_ids import E164_RE, USER_ID_RE, UserIdPolicy, check_user_id

__all__ = ["E164_RE", "USER_ID_RE", "UserIdPolicy", "check_user_id"]
