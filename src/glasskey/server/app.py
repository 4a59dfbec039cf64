"""The HTTP API (FastAPI/ASGI): key uploads, verified-lookup material, transparency data.

Conventions every route follows:

* Errors are JSON ``{"error": {"code": ..., "message": ...}}`` with a 4xx status for anything
  the caller did wrong; a 500 means a glasskey bug (and is logged with its traceback).
* Binary values (keys, proofs) are base64 in JSON; hashes are lower-case hex; checkpoints are
  C2SP signed-note text. Where a proof is returned, ``Accept: application/x-protobuf`` gets
  the AKD protobuf bytes as the body and the signed state in ``X-Glasskey-*`` headers.
* Every proof comes with the signed checkpoint that covers its epoch and an RFC 6962
  inclusion proof of that epoch in the root log, plus — when the client says which log size
  it saw last (``known_size``) — a consistency proof from there. A client can therefore
  verify everything from one response.
"""

import asyncio
import base64
import binascii
import gc
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape as xml_escape

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from glasskey.api.errors import http_status
from glasskey.api.headers import PROTOBUF, signed_state_headers
from glasskey.api.wire import (
    MAX_KEY_BYTES,
    AuditLogEntry,
    AuditLogResponse,
    AuditorKey,
    AuditorResponse,
    AuditProofResponse,
    BlobListResponse,
    BundleResponse,
    ConsistencyResponse,
    ErrorResponse,
    Health,
    HistoryResponse,
    HistoryVersion,
    InclusionResponse,
    KeysResponse,
    KeyUpload,
    RegisterRequest,
    RegisterResponse,
    RootResponse,
    SignedState,
    UpdateReceipt,
)
from glasskey.core.akd.types import EpochHash, HistoryParams, LookupProof
from glasskey.core.akd.wire import (
    encode_append_only_proof,
    encode_history_proof,
    encode_lookup_proof,
)
from glasskey.core.errors import (
    GlasskeyError,
    MalformedError,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UsageError,
)
from glasskey.directory import LabelNotFound
from glasskey.server.auth import TokenAuthenticator, check_user_id
from glasskey.server.ratelimit import RateLimiter
from glasskey.server.service import DirectoryService, Snapshot

log = logging.getLogger("glasskey.server.http")

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": desc}
    for status, desc in [
        (400, "Bad input"),
        (404, "Not found"),
        (422, "Request validation failed"),
        (429, "Rate limited"),
        (503, "Not ready"),
    ]
}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _json(model: BaseModel) -> Response:
    """``model`` as the JSON body, serialised straight from the model: FastAPI's response
    validation of a value we built ourselves would cost a third of a lookup."""
    return Response(model.model_dump_json(), media_type="application/json")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise UsageError(f"{what} is not valid base64") from None


def _public_url(url: str) -> str:
    """``url`` without any user:password part (never echo credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _encode_continuation(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def _decode_continuation(token: str) -> str:
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise UsageError("continuation-token is not one this server issued") from None


class _ObserveMiddleware:
    """Rate limit public reads and record request metrics, as plain ASGI.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
    re-wraps every request and response in extra tasks and streams, which cost about as much
    as a whole lookup on the hot path.
    """

    def __init__(self, app: Any, limiter: Any, metrics: Any) -> None:
        self.app = app
        self.limiter = limiter
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        public = method == "GET" and path.startswith(("/api/crypto/", "/api/transparency/"))
        if public and self.limiter.enabled:
            client = scope.get("client")
            allowed, retry = self.limiter.allow(client[0] if client else "unknown")
            if not allowed:
                self.metrics.inc("rate_limited")
                refused = RateLimited("too many requests; slow down")
                response = _error(
                    http_status(refused), refused.code, str(refused),
                    {"Retry-After": str(max(1, round(retry)))},
                )  # fmt: skip
                await response(scope, receive, send)
                return
        status = 500

        async def send_and_observe(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            route_path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe_request(method, route_path, status, time.perf_counter() - started)


def list_objects_v2(
    names: list[str],
    prefix: str,
    after: str | None,
    start_after: str | None,
    continuation_token: str | None,
    max_keys: int,
    *,
    sizes: Callable[[str], int] | None = None,
    bucket: str = "glasskey-audit",
) -> bytes:
    """An S3 ListObjectsV2 ``ListBucketResult`` for ``names`` (keys in S3's byte order).

    ``after``: list keys strictly greater than this (``start-after`` or the decoded
    continuation token); ``IsTruncated`` and ``NextContinuationToken`` page through the rest.
    """
    selected = sorted((n for n in names if n.startswith(prefix)), key=lambda n: n.encode("utf-8"))
    if after is not None:
        floor = after.encode("utf-8")
        selected = [n for n in selected if n.encode("utf-8") > floor]
    page, rest = selected[:max_keys], selected[max_keys:]
    truncated = bool(rest) and bool(page)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
        f"<Name>{xml_escape(bucket)}</Name>",
        f"<Prefix>{xml_escape(prefix)}</Prefix>",
    ]
    if start_after is not None:
        parts.append(f"<StartAfter>{xml_escape(start_after)}</StartAfter>")
    if continuation_token is not None:
        parts.append(f"<ContinuationToken>{xml_escape(continuation_token)}</ContinuationToken>")
    parts += [
        f"<KeyCount>{len(page)}</KeyCount>",
        f"<MaxKeys>{max_keys}</MaxKeys>",
        f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
    ]
    if truncated:
        token = _encode_continuation(page[-1])
        parts.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
    for name in page:
        size = f"<Size>{sizes(name)}</Size>" if sizes is not None else ""
        parts.append(
            f"<Contents><Key>{xml_escape(name)}</Key>{size}"
            "<StorageClass>STANDARD</StorageClass></Contents>"
        )
    parts.append("</ListBucketResult>")
    return "".join(parts).encode("utf-8")


def _wants_protobuf(request: Request) -> bool:
    return PROTOBUF in request.headers.get("accept", "")


def create_app(service: DirectoryService, *, manage_lifecycle: bool = True) -> FastAPI:
    """Build the ASGI app around ``service`` (started/stopped with the app when asked)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        if manage_lifecycle:
            service.start()
            if service.settings.freeze_gc:
                gc.collect()
                gc.freeze()
        try:
            yield
        finally:
            if manage_lifecycle:
                service.close()

    app = FastAPI(
        title="glasskey",
        version="0.1.0",
        description="Key transparency directory: AKD-compatible proofs, signed root log.",
        lifespan=lifespan,
        responses=_ERRORS,
    )
    limiter = RateLimiter(service.settings.rate_limit, service.settings.rate_burst)
    metrics = service.metrics

    # -- errors ---------------------------------------------------------------------------------

    @app.exception_handler(GlasskeyError)
    async def _glasskey_error(_: Request, exc: GlasskeyError) -> Any:
        status = http_status(exc)
        if status == 500:
            log.error("unexpected glasskey error: %s", exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return _error(status, exc.code, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> Any:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        return _error(422, "invalid_request", details or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Any:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Any:
        log.exception("internal error")
        return _error(500, "internal", "internal server error")

    # -- middleware: rate limit + metrics ---------------------------------------------------------

    app.add_middleware(_ObserveMiddleware, limiter=limiter, metrics=metrics)

    # -- helpers ----------------------------------------------------------------------------------

    async def principal(authorization: Annotated[str | None, Header()] = None) -> str:
        user = await service.run_read(service.authenticator.authenticate, authorization)
        if user is None:
            raise Unauthenticated("a valid bearer token is required")
        return user

    def signed_state(snapshot: Snapshot, known_size: int | None) -> dict[str, Any]:
        """The ``SignedState`` fields of a proof in ``snapshot`` (for ``model_construct``:
        the values are ours, so the models skip validating them)."""
        rootlog = service.rootlog
        record = snapshot.checkpoint
        epoch = snapshot.epoch_hash.epoch
        consistency = None
        # A client that has seen a larger log than we serve gets no proof (none can exist):
        # it treats that as a rollback.
        if known_size is not None and known_size <= record.size:
            consistency = rootlog.consistency_proof(known_size, record.size)
        return {
            "epoch": epoch,
            "root_hash": snapshot.epoch_hash.root_hash,
            "checkpoint": record.note,
            "tree_size": record.size,
            "log_inclusion": rootlog.inclusion_proof(epoch - 1, record.size) if epoch >= 1 else [],
            "consistency_from": known_size,
            "log_consistency": consistency,
            "auditor_signature": service.auditor_signature(epoch) if epoch >= 1 else None,
        }

    def label_of(user_id: str) -> bytes:
        return check_user_id(user_id).encode("utf-8")

    def proto_response(body: bytes, state: SignedState) -> Response:
        return Response(body, media_type=PROTOBUF, headers=signed_state_headers(state))

    def bundle_of(
        user_id: str, proof: LookupProof, snapshot: Snapshot, known_size: int | None
    ) -> tuple[BundleResponse, bytes]:
        encoded = encode_lookup_proof(proof)
        bundle = BundleResponse.model_construct(
            user_id=user_id, key=proof.value, version=proof.version,
            published_epoch=proof.epoch, proof=encoded, **signed_state(snapshot, known_size),
        )  # fmt: skip
        return bundle, encoded

    def known_size_q() -> Any:
        return Query(ge=0, le=2**62, description="Root-log size the client last verified.")

    def user_id_p() -> Any:
        return Path(max_length=256, description="The user id (directory label).")

    proto_doc: dict[int | str, dict[str, Any]] = {
        200: {"content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}}}
    }

    # -- key owner --------------------------------------------------------------------------------

    @app.post(
        "/api/auth/register",
        response_model=RegisterResponse,
        status_code=201,
        tags=["keys"],
        responses={
            401: {"model": ErrorResponse},
            403: {"model": ErrorResponse},
            409: {"model": ErrorResponse},
        },
    )
    def register(
        body: RegisterRequest, authorization: Annotated[str | None, Header()] = None
    ) -> Any:
        """Register a user id and get its bearer token (shown only once, stored hashed).

        Needs the admin token unless the server runs with open registration.
        """
        auth = service.authenticator
        if not isinstance(auth, TokenAuthenticator):
            raise PermissionDenied("this server registers users through its own authenticator")
        if not service.settings.open_registration and not auth.is_admin(authorization):
            if authorization:
                raise PermissionDenied("registration needs the admin token")
            raise Unauthenticated("registration needs the admin token")
        token = auth.issue(check_user_id(body.user_id))
        return RegisterResponse(user_id=body.user_id, token=token)

    @app.post(
        "/api/crypto/keys/identity",
        response_model=UpdateReceipt,
        status_code=202,
        tags=["keys"],
        responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
    )
    async def upload_key(
        body: KeyUpload,
        user: Annotated[str, Depends(principal)],
        wait: Annotated[
            float, Query(ge=0, le=60, description="Seconds to wait for publication.")
        ] = 0,
    ) -> Any:
        """Queue a new identity key for the authenticated user (keys are never deleted:
        revoking is uploading a new one). Returns the receipt; with ``wait`` it also waits
        for the next epoch and includes the lookup proof once published."""
        value = _unb64(body.key, "key")
        if not value:
            raise UsageError("key must not be empty")
        if len(value) > MAX_KEY_BYTES:
            raise UsageError(f"key is {len(value)} bytes, over the limit of {MAX_KEY_BYTES}")
        accepted = await service.submit_async(user, body.user_id or user, value)
        receipt = UpdateReceipt.model_construct(**accepted, status="pending", epoch=None)
        if wait > 0:
            service.publisher.wake()
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                status, epoch = await service.run_read(
                    service.directory.update_status, receipt.update_id
                )
                if status == "published":
                    receipt.status, receipt.epoch = status, epoch
                    receipt.bundle = await _published_bundle(user)
                    break
                await asyncio.sleep(0.05)
        return receipt

    async def _published_bundle(user_id: str) -> BundleResponse | None:
        try:
            proof, snapshot = await service.lookup_async(label_of(user_id))
        except Unavailable:
            return None
        return bundle_of(user_id, proof, snapshot, None)[0]

    @app.get(
        "/api/crypto/keys/identity/updates/{update_id}",
        response_model=UpdateReceipt,
        tags=["keys"],
        responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
    )
    async def update_status(
        update_id: Annotated[int, Path(ge=0, le=2**62)],
        user: Annotated[str, Depends(principal)],
    ) -> Any:
        """Status of one of your updates; once published, the current lookup proof."""
        owner, digest, accepted_at = await service.run_read(service.update_record, update_id)
        if owner != user:
            raise PermissionDenied("that update belongs to another user")
        status, epoch = await service.run_read(service.directory.update_status, update_id)
        bundle = await _published_bundle(owner) if status == "published" else None
        return UpdateReceipt.model_construct(
            update_id=update_id, user_id=owner, value_sha256=digest, accepted_at=accepted_at,
            status=status, epoch=epoch, bundle=bundle,
        )  # fmt: skip

    # -- lookups ----------------------------------------------------------------------------------

    @app.get(
        "/api/crypto/bundles/{user_id}",
        response_model=BundleResponse,
        tags=["lookup"],
        responses=proto_doc,
    )
    async def get_bundle(
        request: Request,
        user_id: Annotated[str, user_id_p()],
        known_size: Annotated[int | None, known_size_q()] = None,
    ) -> Any:
        """A user's current key with its AKD lookup proof and the signed checkpoint."""
        proof, snapshot = await service.lookup_async(label_of(user_id))
        bundle, encoded = bundle_of(user_id, proof, snapshot, known_size)
        if _wants_protobuf(request):
            return proto_response(encoded, bundle)
        return _json(bundle)

    @app.get(
        "/api/crypto/history/{user_id}",
        response_model=HistoryResponse,
        tags=["lookup"],
        responses=proto_doc,
    )
    def get_history(
        request: Request,
        user_id: Annotated[str, user_id_p()],
        most_recent: Annotated[
            int | None, Query(ge=1, le=10_000, description="MostRecent(n); omit for Complete.")
        ] = None,
        known_size: Annotated[int | None, known_size_q()] = None,
    ) -> Any:
        """Key history (``Complete`` or ``MostRecent(n)``) with its AKD history proof."""
        params = HistoryParams(most_recent)
        proof, snapshot = service.history(label_of(user_id), params)
        encoded = encode_history_proof(proof)
        history = HistoryResponse.model_construct(
            user_id=user_id,
            params="complete" if most_recent is None else f"most_recent:{most_recent}",
            versions=[
                HistoryVersion.model_construct(version=u.version, epoch=u.epoch, key=u.value)
                for u in proof.update_proofs
            ],
            proof=encoded,
            **signed_state(snapshot, known_size),
        )
        if _wants_protobuf(request):
            return proto_response(encoded, history)
        return history

    # -- transparency -----------------------------------------------------------------------------

    def head_snapshot() -> Snapshot:
        service.rootlog.refresh()
        record = service.rootlog.latest_checkpoint()
        if record is None:
            raise Unavailable("no signed checkpoint yet")
        if record.size == 0:
            return Snapshot(EpochHash(0, service.directory.epoch_root(0)), record)
        return Snapshot(EpochHash(record.size, service.rootlog.epoch_root(record.size)), record)

    @app.get("/api/transparency/root", response_model=RootResponse, tags=["transparency"])
    def get_root(known_size: Annotated[int | None, known_size_q()] = None) -> Any:
        """The newest signed checkpoint and the epoch it commits to."""
        snapshot = head_snapshot()
        return RootResponse.model_construct(
            origin=service.rootlog.origin,
            signed_at=snapshot.checkpoint.signed_at,
            **signed_state(snapshot, known_size),
        )

    @app.get(
        "/api/transparency/consistency",
        response_model=ConsistencyResponse,
        tags=["transparency"],
    )
    def get_consistency(
        from_size: Annotated[int, Query(alias="from", ge=0, le=2**62)],
        to_size: Annotated[int, Query(alias="to", ge=0, le=2**62)],
    ) -> Any:
        """RFC 6962 consistency proof between two root-log sizes."""
        rootlog = service.rootlog
        rootlog.refresh()
        if from_size > to_size:
            raise UsageError(f"from ({from_size}) must not exceed to ({to_size})")
        if to_size > rootlog.size:
            raise UsageError(f"to ({to_size}) exceeds the log size ({rootlog.size})")
        return ConsistencyResponse.model_construct(
            from_size=from_size,
            to_size=to_size,
            proof=rootlog.consistency_proof(from_size, to_size),
            to_root=rootlog.root(to_size),
        )

    @app.get(
        "/api/transparency/inclusion",
        response_model=InclusionResponse,
        tags=["transparency"],
    )
    async def get_inclusion(
        user_id: Annotated[str | None, Query(max_length=256)] = None,
        root: Annotated[
            str | None, Query(max_length=64, description="An epoch root (hex).")
        ] = None,
        known_size: Annotated[int | None, known_size_q()] = None,
    ) -> Any:
        """Inclusion in the signed root log: of an epoch ``root`` and/or of ``user_id``'s key.

        With ``root``: the RFC 6962 inclusion proof of that epoch's (epoch, root) leaf in the
        newest checkpoint. With ``user_id``: its lookup proof (an inclusion proof in the
        current epoch's AKD tree) with that epoch's root-log inclusion proof.
        """
        if user_id is None and root is None:
            raise UsageError("give user_id, root or both")
        if user_id is not None:
            proof, snapshot = await service.lookup_async(label_of(user_id))
            bundle, _ = bundle_of(user_id, proof, snapshot, known_size)
            if root is not None and root.lower() != bundle.root_hash.hex():
                raise UsageError(
                    "lookup proofs are only served for the current epoch root "
                    f"({bundle.root_hash.hex()}); omit root or pass the current one"
                )
            return InclusionResponse.model_construct(**dict(bundle))
        assert root is not None
        try:
            root_bytes = bytes.fromhex(root)
        except ValueError:
            raise UsageError("root is not valid hex") from None
        epoch = await service.run_read(service.rootlog.epoch_of_root, root_bytes)
        if epoch is None:
            raise LabelNotFound("no epoch with that root hash is in the root log")
        head = await service.run_read(head_snapshot)
        snapshot = Snapshot(EpochHash(epoch, root_bytes), head.checkpoint)
        return InclusionResponse.model_construct(**signed_state(snapshot, known_size))

    @app.get("/api/transparency/audit-log", response_model=AuditLogResponse, tags=["transparency"])
    def get_audit_log(
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> Any:
        """Recent epochs' signed roots, newest first, with the checkpoint committing to them."""
        rootlog = service.rootlog
        rootlog.refresh()
        record = rootlog.latest_checkpoint()
        return AuditLogResponse.model_construct(
            entries=[
                AuditLogEntry.model_construct(epoch=e, root_hash=r, appended_at=t)
                for e, r, t in rootlog.recent(limit)
            ],
            checkpoint=record.note if record else None,
            auditor_signature=latest_auditor_signature(),
        )

    @app.get(
        "/api/transparency/audit",
        response_model=AuditProofResponse,
        tags=["transparency"],
        responses=proto_doc,
    )
    def get_audit(
        request: Request,
        start: Annotated[int, Query(ge=0, le=2**62)],
        end: Annotated[int, Query(ge=0, le=2**62)],
    ) -> Any:
        """AKD append-only (audit) proof from epoch ``start`` to ``end``."""
        if end - start > 1000:
            raise UsageError("at most 1000 epochs per audit proof; page through the range")
        proof = service.directory.audit(start, end)
        encoded = encode_append_only_proof(proof)
        if _wants_protobuf(request):
            return Response(encoded, media_type=PROTOBUF)
        return AuditProofResponse.model_construct(
            start=start,
            end=end,
            hashes=[service.directory.epoch_root(e) for e in range(start, end + 1)],
            proof=encoded,
        )

    def latest_auditor_signature() -> dict[str, Any] | None:
        signer = service.countersigner
        if signer is None:
            return None
        latest = service.signatures.latest(signer.namespace)
        return None if latest is None else latest.to_json_dict()

    @app.get(
        "/api/transparency/blobs",
        response_model=BlobListResponse,
        tags=["transparency"],
        responses={200: {"content": {"application/xml": {}}}},
    )
    def list_blobs(
        list_type: Annotated[
            int | None,
            Query(alias="list-type", ge=2, le=2, description="2: S3 ListObjectsV2 XML listing."),
        ] = None,
        prefix: Annotated[str, Query(max_length=200)] = "",
        start_after: Annotated[str | None, Query(alias="start-after", max_length=200)] = None,
        continuation_token: Annotated[
            str | None, Query(alias="continuation-token", max_length=300)
        ] = None,
        max_keys: Annotated[int, Query(alias="max-keys", ge=0, le=1000)] = 1000,
    ) -> Any:
        """Names of the AKD audit blobs (``{epoch}/{previous_root}/{root}``).

        With ``list-type=2`` the answer is an S3 ListObjectsV2 XML document instead, which is
        what auditors that read WhatsApp's S3/CloudFront proof buckets (glasskey's worker,
        akd's auditor) expect: so this URL can be a namespace's ``log_directory``.
        """
        store = service.directory.blob_store
        names = store.list() if store is not None else []
        if list_type is None:
            return BlobListResponse.model_construct(blobs=names)
        after = start_after
        if continuation_token is not None:
            after = _decode_continuation(continuation_token)
        return Response(
            list_objects_v2(names, prefix, after, start_after, continuation_token, max_keys,
                            sizes=_blob_size),
            media_type="application/xml",
        )  # fmt: skip

    def _blob_size(name: str) -> int:
        store = service.directory.blob_store
        size = getattr(store, "size", None)
        if callable(size):
            return int(size(name))
        return len(store.get(name)) if store is not None else 0

    @app.get(
        "/api/transparency/blobs/{name:path}",
        tags=["transparency"],
        response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def get_blob(name: Annotated[str, Path(max_length=200)]) -> Response:
        """One audit blob's bytes (a protobuf SingleAppendOnlyProof)."""
        store = service.directory.blob_store
        if store is None:
            raise LabelNotFound("this server keeps no audit blobs")
        try:
            data = store.get(name)
        except MalformedError as exc:
            raise LabelNotFound(str(exc)) from None
        return Response(data, media_type="application/octet-stream")

    @app.get("/api/transparency/auditor", response_model=AuditorResponse, tags=["transparency"])
    def get_auditor() -> Any:
        """The auditor that countersigns this log: URL, namespace, its keys, newest signature.

        The keys are the ones the last stored signature verified under. They are for display
        and debugging: a client must pin the auditor's key from the auditor (or its app),
        never take it from the log it is meant to check.
        """
        signer = service.countersigner
        if signer is None:
            return AuditorResponse(configured=False)
        return AuditorResponse.model_construct(
            configured=True,
            url=_public_url(service.settings.auditor_url or ""),
            namespace=signer.namespace,
            keys=[
                AuditorKey.model_construct(
                    public_key=k.public_key, not_before=k.not_before, key_id=k.key_id
                )
                for k in signer.known_keys
            ],
            latest=latest_auditor_signature(),
            status=signer.status().to_json_dict(),
        )

    @app.get("/api/transparency/keys", response_model=KeysResponse, tags=["transparency"])
    def get_keys() -> Any:
        """The public keys clients pin: the log's note verifier key and the VRF key."""
        config = service.directory.config
        domain = getattr(config, "domain_label", None)
        return KeysResponse.model_construct(
            origin=service.rootlog.origin,
            log_public_key=service.rootlog.verifier_key(),
            vrf_public_key=service.directory.vrf_public_key,
            configuration=config.name,
            domain_label=domain.decode("utf-8", "replace") if domain else None,
        )

    # -- operations -------------------------------------------------------------------------------

    @app.get("/healthz", response_model=Health, tags=["operations"])
    def healthz() -> Any:
        """Liveness: the process is up."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["operations"])
    def readyz() -> Any:
        """Readiness: the database answers and a signed checkpoint exists."""
        if not service.ready:
            raise Unavailable("starting or shutting down")
        try:
            depth = service.directory.pending_count()
            record = service.rootlog.latest_checkpoint()
        except Exception as exc:
            log.warning("readiness check failed: %s", exc)
            raise Unavailable("database unavailable") from None
        if record is None:
            raise Unavailable("no signed checkpoint yet")
        signer = service.countersigner
        return Health(
            status="ready",
            epoch=record.size,
            publisher=service.publisher.is_leader,
            queue_depth=depth,
            # Informational: a down auditor never makes the log unready (it keeps publishing).
            auditor=signer.status().to_json_dict() if signer is not None else None,
        )

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    def prometheus_metrics() -> Any:
        """Prometheus text exposition."""
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    return app
