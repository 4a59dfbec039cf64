"""The optional native accelerator (the separate ``glasskey-native`` distribution, ``native/``).

glasskey is a pure-Python package; this accelerator is an extra that ``make install`` builds
when a Rust toolchain is present. It computes the same functions as the Python code: the VRF
of :mod:`glasskey.core.ecvrf` on curve25519-dalek (akd's own curve library), about 3x faster
per call and on several threads per batch, and the append-only rebuild of
:mod:`glasskey.core.akd.audit` (sort, antichain rules, BLAKE3 fold), about 5x faster, and
lookup proofs' protobuf bytes (``_pbwrite.lookup_body``), about 5x faster, and publish's
rehash of the dirty tree nodes (``AkdTree._rehash``) and its leaves' commitments
(``Configuration.leaf_commitments``).
Whether it is used is decided once, at import, by ``GLASSKEY_NATIVE``:

* unset or ``auto`` — used when importable and built for this interface version;
* ``off`` (or ``0``, ``false``, ``no``) — never used (the pure-Python path; CI runs the suite
  this way in a job of its own);
* ``required`` (or ``1``, ``true``, ``yes``) — must be usable, else importing glasskey fails
  (CI sets it so that "the fast path passed" cannot silently mean "the fallback passed").

The extension is reached through :class:`NativeVrf` (a Protocol): mypy checks every call
whether or not the extension is installed where it runs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol, cast

#: The interface version this code speaks (``ABI_VERSION`` in native/src/lib.rs).
ABI_VERSION: Final = 7
ENV: Final = "GLASSKEY_NATIVE"
_OFF: Final = frozenset({"off", "0", "false", "no"})
_REQUIRED: Final = frozenset({"required", "1", "true", "yes"})


class NativeSecretKey(Protocol):
    @property
    def public_key(self) -> bytes: ...
    def prove(self, alpha: bytes) -> bytes: ...
    def evaluate(self, alpha: bytes) -> tuple[bytes, bytes]: ...
    def output(self, alpha: bytes) -> bytes: ...
    def labels(self, alphas: list[bytes], threads: int) -> list[bytes]: ...
    def proofs(self, alphas: list[bytes], threads: int) -> list[bytes]: ...
    def evaluations(self, alphas: list[bytes], threads: int) -> list[tuple[bytes, bytes]]: ...


class NativePublicKey(Protocol):
    def verify(self, proof: bytes, alpha: bytes) -> bytes: ...


class NativeVrf(Protocol):
    """What ``glasskey_native`` exports. Every failure is a ValueError carrying the same
    message the pure-Python code would put in its VrfError."""

    ABI_VERSION: int

    def SecretKey(self, seed: bytes) -> NativeSecretKey: ...  # a class
    def PublicKey(self, key: bytes) -> NativePublicKey: ...  # a class
    def proof_to_hash(self, proof: bytes) -> bytes: ...
    def append_only_roots(
        self,
        whatsapp: bool,
        prefix: bytes,
        unchanged: Sequence[object],  # (val, length, value) tuples or AzksElements
        inserted: Sequence[object],
        end_epoch: int,
        empty_node_hash: bytes,
        empty_label_value: bytes,
    ) -> tuple[bytes | None, bytes | None]: ...
    def encode_lookup_proof(self, proof: object) -> bytes: ...
    def lookup_encoder_layouts(self) -> list[tuple[str, list[int] | None]]: ...
    def insert(
        self,
        whatsapp: bool,
        prefix: bytes,
        labels: list[bytes],
        raws: list[bytes],
        root: Any,
        get_nodes: Callable[[list[bytes]], dict[bytes, Any]],
        record_type: type[Any],
        epoch: int,
        empty_hash: bytes,
        empty_label_value: bytes,
    ) -> tuple[bytes, int, list[Any]]: ...
    def leaf_commitments(
        self,
        whatsapp: bool,
        prefix: bytes,
        commitment_key: bytes,
        leaves: list[tuple[bytes, int, bytes]],
    ) -> list[bytes]: ...


class NativeUnavailableError(ImportError):
    """``GLASSKEY_NATIVE=required`` but the extension cannot be used (the reason says why)."""


def _load(setting: str) -> NativeVrf | None:
    setting = setting.strip().lower() or "auto"
    if setting in _OFF:
        return None
    required = setting in _REQUIRED
    if not required and setting != "auto":
        raise NativeUnavailableError(f"{ENV}={setting!r} is not one of auto, off, required")
    try:
        module = cast(NativeVrf, importlib.import_module("glasskey_native"))
    except ImportError as exc:
        if required:
            raise NativeUnavailableError(
                f"{ENV}=required but glasskey_native is not installed ({exc}); "
                "build it with `make native` (needs cargo)"
            ) from exc
        return None
    if getattr(module, "ABI_VERSION", None) != ABI_VERSION:
        if required:
            raise NativeUnavailableError(
                f"{ENV}=required but glasskey_native speaks interface "
                f"{getattr(module, 'ABI_VERSION', None)}, this glasskey {ABI_VERSION}: "
                "rebuild it with `make native`"
            )
        return None
    return module


#: The extension, or None: the pure-Python path.
vrf: Final[NativeVrf | None] = _load(os.environ.get(ENV, ""))


def describe() -> str:
    """One line for diagnostics (``glasskey version``, benchmark headers)."""
    return "native (glasskey_native)" if vrf is not None else "pure Python"
