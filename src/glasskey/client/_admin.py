"""The admin's side of the HTTP API: user tokens and service credentials (no verification).

Why a client of its own: nothing here returns a key, so there is nothing to verify, and an
app's devices never hold the admin token; the operator's tools (``glasskey tokens``) and the
app's provisioning scripts do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from glasskey.api.errors import error_from_http
from glasskey.api.wire import RegisterResponse, ServiceCredentialResponse, parse
from glasskey.client._transport import DEFAULT_TIMEOUT, NetworkError
from glasskey.core.errors import MalformedError


class AdminClient:
    """Admin calls with ``admin_token`` (the server's ``$GLASSKEY_ADMIN_TOKEN``).

    Every method raises ``NetworkError`` when the server cannot be reached and a
    ``ServerError`` subclass when it refuses (``Unauthenticated``/``PermissionDenied`` for a
    missing or wrong admin token, ``NotFound`` for an unknown user or credential,
    ``Conflict`` for an existing one).
    """

    def __init__(
        self,
        server: str,
        admin_token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self._http = httpx.Client(
            base_url=self.server, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {admin_token}"},
        )  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach {self.server}: {exc}") from None
        if response.status_code >= 400:
            raise error_from_http(response.status_code, response.content)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise MalformedError("the server's response is not JSON") from None

    def register(self, user_id: str) -> str:
        """Register ``user_id``; its bearer token (shown once)."""
        body = self._call("POST", "/api/auth/register", {"user_id": user_id})
        return parse(RegisterResponse, body, "the server's registration answer").token

    def reissue_token(self, user_id: str) -> str:
        """A new token for a registered user; every earlier one stops working."""
        body = self._call("POST", f"/api/admin/users/{quote(user_id, safe='')}/token")
        return parse(RegisterResponse, body, "the server's reissued token").token

    def revoke_token(self, user_id: str) -> None:
        """Revoke the user's token (the id stays registered until a reissue)."""
        self._call("DELETE", f"/api/admin/users/{quote(user_id, safe='')}/token")

    def issue_service_credential(self, name: str, *, replace: bool = False) -> str:
        """A service credential (backend mode) named ``name``; ``replace`` rotates it."""
        body = self._call(
            "POST", "/api/admin/service-credentials", {"name": name, "replace": replace}
        )
        return parse(ServiceCredentialResponse, body, "the server's service credential").token

    def revoke_service_credential(self, name: str) -> None:
        """Revoke the service credential ``name`` at once."""
        self._call("DELETE", f"/api/admin/service-credentials/{quote(name, safe='')}")
