"""glasskey: key transparency for end-to-end encrypted messaging.

The names here are the few most programs need — the verifying client and the errors it
raises. Each package exports its own public API (see the README's "Public API" table):

* :mod:`glasskey.core` — pure verification (no I/O): ECVRF, AKD proofs, errors.
* :mod:`glasskey.log` — the RFC 6962 log of epoch roots and its signed checkpoints.
* :mod:`glasskey.directory`, :mod:`glasskey.storage` — the AKD directory engine and its stores.
* :mod:`glasskey.client` — the verifying client; :mod:`glasskey.auditor` — the auditor;
  :mod:`glasskey.server` — the HTTP server.
"""

import importlib

__version__ = "0.1.0"

# Every ``import glasskey.x`` runs this file first, so it must stay free of httpx and of the
# verification stack: each name is loaded from its package the first time it is used.
_EXPORTS = {
    "AsyncGlasskeyClient": "glasskey.client",
    "GlasskeyClient": "glasskey.client",
    "GlasskeyError": "glasskey.core.errors",
    "VerificationError": "glasskey.core.errors",
    "VerifiedKey": "glasskey.client",
}

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is, without importing typing (10 ms)
if TYPE_CHECKING:
    from glasskey.client import AsyncGlasskeyClient, GlasskeyClient, VerifiedKey
    from glasskey.core.errors import GlasskeyError, VerificationError


def __getattr__(name: str) -> object:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'glasskey' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "AsyncGlasskeyClient",
    "GlasskeyClient",
    "GlasskeyError",
    "VerificationError",
    "VerifiedKey",
    "__version__",
]
