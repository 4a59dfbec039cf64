"""Python client for a Plexi-compatible auditor (glasskey's, or Cloudflare's).

Used by glasskey's directory service to publish each epoch, and by the CLI. Why it verifies
what it gets back by default: a publisher that stores an auditor signature without checking
it could serve clients a signature that does not verify, or that covers another digest. The
check costs one cached ``/info`` request and one Ed25519 verification.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from glasskey.api.errors import error_from_http
from glasskey.core.errors import MalformedError, SignatureError, Unavailable
from glasskey.core.plexi import (
    AuditorConfiguration,
    KeyInfo,
    LastVerifiedEpoch,
    NamespaceInfo,
    SignatureResponse,
)
from glasskey.core.plexi.messages import loads

USER_AGENT = "glasskey/0.1"


class AuditorClient:
    """``AuditorClient(base_url, token).publish(namespace, epoch, digest)``.

    ``token``: a bearer token — a log's owner token (publishes to its namespace) or the
    auditor's admin token (operator); for mutual TLS pass ``cert=(cert_pem, key_pem)`` paths
    instead. ``transport`` lets tests run against an in-process ASGI app.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        cert: tuple[str, str] | None = None,
        verify: bool | str = True,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            cert=cert,
            verify=verify,
            timeout=timeout,
            transport=transport,
        )
        self._keys: tuple[KeyInfo, ...] | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AuditorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        """The decoded JSON answer; an error answer raises its ``RequestError`` subclass
        (``NotFound``, ``ConstraintViolation``, ...), whose message names the request. An
        auditor that cannot be reached is ``Unavailable`` saying where it was looked for."""
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            raise Unavailable(
                f"{method} {str(self._http.base_url).rstrip('/')}{path}: cannot reach the auditor "
                f"({detail})"
            ) from None
        if response.status_code == 200:
            return loads(response.content)
        raise error_from_http(
            response.status_code,
            response.content,
            lambda status, _code, message: f"{method} {path}: HTTP {status}: {message}",
        )

    # -- reads -----------------------------------------------------------------------------

    def info(self) -> AuditorConfiguration:
        config = AuditorConfiguration.from_json_obj(self._request("GET", "/info"))
        self._keys = config.keys
        return config

    def keys(self) -> Sequence[KeyInfo]:
        if self._keys is None:
            self.info()
        assert self._keys is not None
        return self._keys

    def namespaces(self) -> list[NamespaceInfo]:
        data = self._request("GET", "/namespaces")
        items = data.get("namespaces") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise MalformedError("namespaces listing: missing `namespaces` array")
        return [NamespaceInfo.from_json_obj(item) for item in items]

    def namespace(self, namespace: str) -> NamespaceInfo:
        return NamespaceInfo.from_json_obj(self._request("GET", f"/namespaces/{namespace}"))

    def audit(self, namespace: str, epoch: int) -> SignatureResponse:
        data = self._request("GET", f"/namespaces/{namespace}/audits/{epoch}")
        return SignatureResponse.from_json_obj(data)

    def latest(self, namespace: str) -> SignatureResponse:
        """The newest signed epoch (glasskey extension ``/audits/latest``)."""
        return SignatureResponse.from_json_obj(
            self._request("GET", f"/namespaces/{namespace}/audits/latest")
        )

    def last_verified(self, namespace: str) -> LastVerifiedEpoch:
        return LastVerifiedEpoch.from_json_obj(
            self._request("GET", f"/namespaces/{namespace}/last-verified-epoch")
        )

    def evidence(self, namespace: str) -> list[dict[str, Any]]:
        data = self._request("GET", f"/namespaces/{namespace}/evidence")
        items = data.get("evidence") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise MalformedError("evidence listing: missing `evidence` array")
        return items

    # -- writes ----------------------------------------------------------------------------

    def create_namespace(
        self,
        name: str,
        *,
        ciphersuite: int = 1,
        root: str | None = None,
        log_directory: str | None = None,
        public: bool = True,
        owners: Sequence[str] = (),
    ) -> NamespaceInfo:
        body: dict[str, Any] = {"name": name, "signature_version": ciphersuite}
        if root is not None:
            body["root"] = root
        if log_directory is not None:
            body["log_directory"] = log_directory
        body["public"] = public
        if owners:
            body["owners"] = list(owners)
        return NamespaceInfo.from_json_obj(self._request("POST", "/namespaces", body))

    def disable(self, namespace: str) -> NamespaceInfo:
        data = self._request("PATCH", f"/namespaces/{namespace}", {"status": "Disabled"})
        return NamespaceInfo.from_json_obj(data)

    def clear_evidence(self, namespace: str, reason: str) -> dict[str, Any]:
        """Operator only: resume a stopped namespace; returns the public clearing record."""
        data = self._request("POST", f"/namespaces/{namespace}/evidence/clear", {"reason": reason})
        if not isinstance(data, dict):
            raise MalformedError("evidence clearing: not a JSON object")
        return data

    def publish(
        self, namespace: str, epoch: int, digest: bytes | str, *, verify: bool = True
    ) -> SignatureResponse:
        """Ask the auditor to countersign ``(epoch, digest)``; check the answer by default."""
        digest_hex = digest.hex() if isinstance(digest, bytes) else digest.lower()
        data = self._request(
            "POST", f"/namespaces/{namespace}/audits", {"epoch": epoch, "digest": digest_hex}
        )
        response = SignatureResponse.from_json_obj(data)
        if verify:
            if (response.namespace, response.epoch, response.digest.hex()) != (
                namespace,
                epoch,
                digest_hex,
            ):
                raise SignatureError("the auditor signed a different namespace, epoch or digest")
            try:
                response.verify(self.keys())
            except SignatureError:
                self._keys = None  # a rotation may have happened; refresh once
                response.verify(self.keys())
        return response


__all__ = ["AuditorClient"]
