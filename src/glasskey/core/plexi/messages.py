"""Plexi's JSON messages: exact field order and null/omission rules, tolerant readers.

Writers follow plexi-core byte for byte (spec auditor-compat.md 2.3, 2.4): ``version`` and
``ciphersuite`` both written, ``key_id`` omitted when unknown, ``serialized_message`` written
as ``null`` when unknown, ``last_verified_epoch`` omitted when unknown. Readers accept what
plexi accepts (either ciphersuite name, ``version`` wins; any hex case) and reject the rest
with ``MalformedError`` — a JSON document from the network is untrusted input.

Pure: these functions take and return Python objects (``json.loads`` output); no I/O.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from glasskey.core.errors import MalformedError, SignatureError
from glasskey.core.plexi.signing import (
    SIGNATURE_BYTES,
    U32_MAX,
    U64_MAX,
    EpochStatement,
    KeyInfo,
    candidate_keys,
    signed_bytes,
    verify_ed25519,
)

NAMESPACE_RE: Final = re.compile(r"[A-Za-z0-9._-]{1,255}")
_HEXDIGITS: Final = frozenset(string.hexdigits)


class NamespaceStatus(StrEnum):
    """Lifecycle, exact case as plexi parses it."""

    ONLINE = "Online"
    INITIALIZATION = "Initialization"
    DISABLED = "Disabled"


# -- field readers ---------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in obj:
        raise MalformedError(f"{what}: missing field `{name}`")
    return obj[name]


def read_uint(value: Any, name: str, maximum: int = U64_MAX) -> int:
    """A JSON integer in ``0..maximum``; booleans and floats are refused (no precision loss)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise MalformedError(f"invalid parameter `{name}`")
    return value


def read_hex(value: Any, name: str, length: int | None = None) -> bytes:
    """Hex of any case (as plexi's codec accepts); ``length`` in bytes when fixed."""
    if not isinstance(value, str) or len(value) % 2 or not _HEXDIGITS.issuperset(value):
        raise MalformedError(f"invalid parameter `{name}`")
    data = bytes.fromhex(value)
    if length is not None and len(data) != length:
        raise MalformedError(f"invalid parameter `{name}`")
    return data


def _object(obj: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise MalformedError(f"{what}: expected a JSON object")
    return obj


def loads(text: str | bytes) -> Any:
    """``json.loads`` that raises ``MalformedError`` instead of ``ValueError``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedError(f"not valid JSON ({exc})") from None


def dumps(obj: Any) -> str:
    """Compact JSON in insertion order, as serde_json writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def validate_namespace_name(name: Any) -> str:
    """Names appear in URL paths unescaped by plexi, so only ``[A-Za-z0-9._-]{1,255}``."""
    if not isinstance(name, str) or not NAMESPACE_RE.fullmatch(name):
        raise MalformedError("invalid parameter `name`")
    return name


# -- roots -----------------------------------------------------------------------------------


def format_root(epoch: int, digest: bytes) -> str:
    return f"{epoch}/{digest.hex()}"


def parse_root(root: str) -> tuple[int, bytes]:
    """``"<epoch>/<64 hex>"`` → (epoch, digest); hex of any case."""
    if not isinstance(root, str):
        raise MalformedError("invalid parameter `root`")
    epoch_text, sep, digest_hex = root.partition("/")
    if not sep or not epoch_text.isascii() or not epoch_text.isdigit() or len(epoch_text) > 20:
        raise MalformedError("invalid parameter `root`")
    return read_uint(int(epoch_text), "root"), read_hex(digest_hex, "root", 32)


# -- SignatureResponse -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureResponse:
    """The auditor's countersignature of one epoch (also the shape of a log's Report)."""

    ciphersuite: int
    namespace: str
    timestamp: int
    epoch: int
    digest: bytes
    signature: bytes
    key_id: int | None = None
    serialized_message: bytes | None = None

    @property
    def statement(self) -> EpochStatement:
        return EpochStatement(
            self.ciphersuite, self.namespace, self.timestamp, self.epoch, self.digest
        )

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.ciphersuite,
            "ciphersuite": self.ciphersuite,
            "namespace": self.namespace,
            "timestamp": self.timestamp,
            "epoch": self.epoch,
            "digest": self.digest.hex(),
            "signature": self.signature.hex(),
        }
        if self.key_id is not None:
            out["key_id"] = self.key_id
        out["serialized_message"] = (
            None if self.serialized_message is None else self.serialized_message.hex()
        )
        return out

    def to_json(self) -> str:
        return dumps(self.to_json_dict())

    @classmethod
    def from_json_obj(cls, obj: Any, default_ciphersuite: int | None = None) -> SignatureResponse:
        """Parse like plexi: ``version`` wins over ``ciphersuite``; when both are missing use
        ``default_ciphersuite`` (the namespace's), else refuse."""
        what = "signature response"
        o = _object(obj, what)
        if o.get("version") is not None:
            suite = read_uint(o["version"], "version", U32_MAX)
        elif o.get("ciphersuite") is not None:
            suite = read_uint(o["ciphersuite"], "ciphersuite", U32_MAX)
        elif default_ciphersuite is not None:
            suite = default_ciphersuite
        else:
            raise MalformedError(f"{what}: either version or ciphersuite must be provided")
        namespace = _get(o, "namespace", what)
        if not isinstance(namespace, str):
            raise MalformedError("invalid parameter `namespace`")
        key_id_value = o.get("key_id")
        message = o.get("serialized_message")
        return cls(
            ciphersuite=suite,
            namespace=namespace,
            timestamp=read_uint(_get(o, "timestamp", what), "timestamp"),
            epoch=read_uint(_get(o, "epoch", what), "epoch"),
            digest=read_hex(_get(o, "digest", what), "digest"),
            signature=read_hex(_get(o, "signature", what), "signature", SIGNATURE_BYTES),
            key_id=None if key_id_value is None else read_uint(key_id_value, "key_id", 255),
            serialized_message=None if message is None else read_hex(message, "serialized_message"),
        )

    def verify(self, keys: Sequence[KeyInfo], pinned: bytes | None = None) -> KeyInfo:
        """Verify against the auditor's advertised keys (or only ``pinned``); return the key.

        Stricter than plexi: the signed bytes are rebuilt from the fields and, when the
        response carries ``serialized_message``, must equal it; every key whose id and
        ``not_before`` fit is tried (key ids collide).
        """
        rebuilt = signed_bytes(self.statement)
        if self.serialized_message is not None and self.serialized_message != rebuilt:
            raise SignatureError("serialized_message does not match the signed fields")
        if pinned is not None:
            verify_ed25519(pinned, rebuilt, self.signature)
            return KeyInfo(pinned, 0)
        candidates = candidate_keys(keys, self.timestamp, self.key_id)
        if not candidates:
            if self.key_id is None:
                raise SignatureError("no auditor key was valid at the signature's timestamp")
            raise SignatureError(f"auditor does not have key with key_id {self.key_id}")
        for key in candidates:
            try:
                verify_ed25519(key.public_key, rebuilt, self.signature)
            except SignatureError:
                continue
            return key
        raise SignatureError("signature does not verify for the auditor key")


# -- NamespaceInfo ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    name: str
    ciphersuite: int
    status: NamespaceStatus
    log_directory: str | None = None
    root: str | None = None
    last_verified_epoch: int | None = None
    #: glasskey extension (ignored by plexi): the verification failure that stopped the worker.
    verification_error: Mapping[str, Any] | None = field(default=None)

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "log_directory": self.log_directory,
            "root": self.root,
        }
        if self.last_verified_epoch is not None:
            out["last_verified_epoch"] = self.last_verified_epoch
        out["status"] = self.status.value
        out["reports_uri"] = f"/namespaces/{self.name}/reports"
        out["audits_uri"] = f"/namespaces/{self.name}/audits"
        out["signature_version"] = self.ciphersuite
        out["ciphersuite"] = self.ciphersuite
        if self.verification_error is not None:
            out["verification_error"] = dict(self.verification_error)
        return out

    @classmethod
    def from_json_obj(cls, obj: Any) -> NamespaceInfo:
        what = "namespace"
        o = _object(obj, what)
        name = _get(o, "name", what)
        if not isinstance(name, str):
            raise MalformedError("invalid parameter `name`")
        if o.get("signature_version") is not None:
            suite = read_uint(o["signature_version"], "signature_version", U32_MAX)
        elif o.get("ciphersuite") is not None:
            suite = read_uint(o["ciphersuite"], "ciphersuite", U32_MAX)
        else:
            raise MalformedError(f"{what}: either signature_version or ciphersuite is required")
        try:
            status = NamespaceStatus(_get(o, "status", what))
        except ValueError:
            raise MalformedError("invalid parameter `status`") from None
        for key in ("reports_uri", "audits_uri"):
            if not isinstance(_get(o, key, what), str):
                raise MalformedError(f"invalid parameter `{key}`")
        log_directory = o.get("log_directory")
        root = o.get("root")
        if log_directory is not None and not isinstance(log_directory, str):
            raise MalformedError("invalid parameter `log_directory`")
        if root is not None and not isinstance(root, str):
            raise MalformedError("invalid parameter `root`")
        lve = o.get("last_verified_epoch")
        error = o.get("verification_error")
        return cls(
            name=name,
            ciphersuite=suite,
            status=status,
            log_directory=log_directory,
            root=root,
            last_verified_epoch=None if lve is None else read_uint(lve, "last_verified_epoch"),
            verification_error=error if isinstance(error, Mapping) else None,
        )


# -- LastVerifiedEpoch and /info ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LastVerifiedEpoch:
    job_id: str
    epoch: int
    start_hash: bytes
    end_hash: bytes
    timestamp: int

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "epoch": self.epoch,
            "start_hash": self.start_hash.hex(),
            "end_hash": self.end_hash.hex(),
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_json_obj(cls, obj: Any) -> LastVerifiedEpoch:
        what = "last verified epoch"
        o = _object(obj, what)
        job_id = _get(o, "job_id", what)
        if not isinstance(job_id, str):
            raise MalformedError("invalid parameter `job_id`")
        return cls(
            job_id=job_id,
            epoch=read_uint(_get(o, "epoch", what), "epoch"),
            start_hash=read_hex(_get(o, "start_hash", what), "start_hash"),
            end_hash=read_hex(_get(o, "end_hash", what), "end_hash"),
            timestamp=read_uint(_get(o, "timestamp", what), "timestamp"),
        )


@dataclass(frozen=True, slots=True)
class AuditorConfiguration:
    """``GET /info``: every key the auditor ever signed with, plus ``logs``."""

    keys: tuple[KeyInfo, ...]
    logs: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "keys": [
                {"public_key": k.public_key.hex(), "not_before": k.not_before} for k in self.keys
            ],
            "logs": list(self.logs),
        }

    @classmethod
    def from_json_obj(cls, obj: Any) -> AuditorConfiguration:
        o = _object(obj, "auditor configuration")
        raw_keys = _get(o, "keys", "auditor configuration")
        if not isinstance(raw_keys, list):
            raise MalformedError("invalid parameter `keys`")
        keys = []
        for item in raw_keys:
            k = _object(item, "key")
            keys.append(
                KeyInfo(
                    read_hex(_get(k, "public_key", "key"), "public_key", 32),
                    read_uint(_get(k, "not_before", "key"), "not_before"),
                )
            )
        logs = o.get("logs") or []
        if not isinstance(logs, list) or not all(isinstance(x, str) for x in logs):
            raise MalformedError("invalid parameter `logs`")
        return cls(tuple(keys), tuple(logs))


__all__ = [
    "AuditorConfiguration",
    "LastVerifiedEpoch",
    "NamespaceInfo",
    "NamespaceStatus",
    "SignatureResponse",
    "dumps",
    "format_root",
    "loads",
    "parse_root",
    "read_hex",
    "read_uint",
    "validate_namespace_name",
]
