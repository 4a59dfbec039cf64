"""glasskey.core — pure verification: no I/O, no global state.

A client or an auditor needs only this package (and :mod:`glasskey.log` for checkpoints).
The names below are the verification entry points, their configurations and results, and
the one exception hierarchy; the subpackages hold the rest:

* :mod:`glasskey.core.akd` — facebook/akd compatible configurations, proof types, protobuf
  codec and the verifiers (``lookup_verify``, ``key_history_verify``, ``audit_verify``).
* :mod:`glasskey.core.errors` — the one exception hierarchy.
* :mod:`glasskey.core.ecvrf` — RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI.
* :mod:`glasskey.core.plexi` — Plexi auditor signatures: encoding and verification.
* :mod:`glasskey.core.signing` — the ``Signer`` protocol and its Ed25519 implementation.
* :mod:`glasskey.core.user_ids` — which user ids name the same user (``UserIdPolicy``).
"""

import importlib
from typing import TYPE_CHECKING

from glasskey.core import errors
from glasskey.core.errors import *  # noqa: F403 - the whole hierarchy is public (errors.__all__)

# ``glasskey.core.errors`` is imported by every layer, and importing it runs this file: the
# verifiers (protobuf runtime, VRF, hashing) load the first time one of them is used, so a
# module that needs only the errors does not pay ~0.2 s for them.
_EXPORTS = {
    **{
        name: "glasskey.core.akd"
        for name in (
            "CONFIGURATION_NAMES", "Configuration", "HistoryParams", "HistoryVerification",
            "VerifyResult", "audit_verify", "get_configuration", "key_history_verify",
            "lookup_verify",
        )
    },
    "Ed25519Signer": "glasskey.core.signing",
    "Signer": "glasskey.core.signing",
}  # fmt: skip

if TYPE_CHECKING:
    from glasskey.core.akd import (
        CONFIGURATION_NAMES,
        Configuration,
        HistoryParams,
        HistoryVerification,
        VerifyResult,
        audit_verify,
        get_configuration,
        key_history_verify,
        lookup_verify,
    )
    from glasskey.core.signing import Ed25519Signer, Signer


def __getattr__(name: str) -> object:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'glasskey.core' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "CONFIGURATION_NAMES",
    "Configuration",
    "Ed25519Signer",
    "HistoryParams",
    "HistoryVerification",
    "Signer",
    "VerifyResult",
    "audit_verify",
    "get_configuration",
    "key_history_verify",
    "lookup_verify",
]
__all__ += errors.__all__
