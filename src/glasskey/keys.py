"""Loading and creating signing keys: the I/O side of :mod:`glasskey.core.signing`.

Operators hand a server its Ed25519 key the way they hand it any secret: an environment
variable holding the base64 of a PKCS#8 PEM (what ``openssl genpkey -algorithm Ed25519 |
base64 -w0`` prints, and what ``fly secrets set`` / Kubernetes secrets carry well), or a PEM
file on disk. Development gets a throwaway key, loudly, so nobody ships one by accident.

Rules kept here:

* no error message, log line or ``repr`` contains key bytes, decoded or not — messages name
  the *source* (``GLASSKEY_SIGNING_KEY``, a file path) and what is wrong with it;
* key files are created with mode 0600 and never overwritten unless asked;
* a key file readable by group or others is used but warned about (like ssh does).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
from pathlib import Path

from glasskey.core.errors import KeyMaterialError, UsageError
from glasskey.core.signing import Ed25519Signer, Signer

DEFAULT_ENV_VAR = "GLASSKEY_SIGNING_KEY"
_PEM_HEADER = "-----BEGIN"
_MAX_KEY_SOURCE = 64 * 1024  # a PKCS#8 Ed25519 PEM is 119 bytes; refuse megabyte "keys"

log = logging.getLogger(__name__)


def generate_pem() -> bytes:
    """A new random Ed25519 key as an unencrypted PKCS#8 PEM (same as ``openssl genpkey``)."""
    return Ed25519Signer.generate().private_pem()


def pem_to_env_value(pem: bytes) -> str:
    """The single-line form for an environment variable: base64 of the PEM, no newlines."""
    return base64.b64encode(pem).decode("ascii")


def signer_from_env_value(value: str, *, source: str = DEFAULT_ENV_VAR) -> Ed25519Signer:
    """Parse the value of a key environment variable (base64 of a PEM, or a raw PEM).

    ``source`` names the variable in error messages; the value itself never appears there.
    """
    what = f"{source} is not base64 of a PKCS#8 Ed25519 PEM"
    text = value.strip()
    if not text:
        raise KeyMaterialError(f"{source} is empty")
    if len(text) > _MAX_KEY_SOURCE:
        raise KeyMaterialError(f"{what} (value is {len(text)} characters, far too long)")
    if text.startswith(_PEM_HEADER):
        # A raw PEM pasted into the variable; some tools turn its newlines into "\n".
        pem = text.replace("\\n", "\n").encode("ascii", errors="replace")
    else:
        compact = "".join(text.split())  # tolerate wrapped base64 (`base64` without -w0)
        try:
            pem = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise KeyMaterialError(f"{what} (base64 decoding failed)") from None
        if not pem.lstrip().startswith(_PEM_HEADER.encode()):
            raise KeyMaterialError(f"{what} (decodes to something that is not a PEM)")
    try:
        return Ed25519Signer.from_pem(pem)
    except KeyMaterialError as err:
        raise KeyMaterialError(f"{what} ({err})") from None


def signer_from_file(path: str | os.PathLike[str]) -> Ed25519Signer:
    """Load a PKCS#8 Ed25519 PEM file; warn if others can read it."""
    p = Path(path)
    try:
        info = p.stat()
        if info.st_size > _MAX_KEY_SOURCE:
            raise KeyMaterialError(f"key file {p} is {info.st_size} bytes, not a key")
        pem = p.read_bytes()
    except FileNotFoundError:
        raise KeyMaterialError(f"key file {p} does not exist") from None
    except IsADirectoryError:
        raise KeyMaterialError(f"key file {p} is a directory") from None
    except PermissionError:
        raise KeyMaterialError(f"key file {p} is not readable by this user") from None
    except OSError as err:
        raise KeyMaterialError(f"key file {p} cannot be read ({err.strerror})") from None
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        log.warning(
            "key file %s is readable by group or others (mode %o); chmod 600 it",
            p,
            stat.S_IMODE(info.st_mode),
        )
    try:
        return Ed25519Signer.from_pem(pem)
    except KeyMaterialError as err:
        raise KeyMaterialError(f"key file {p} is not a PKCS#8 Ed25519 PEM ({err})") from None


def load_signer(
    env_var: str = DEFAULT_ENV_VAR,
    key_file: str | os.PathLike[str] | None = None,
    *,
    allow_dev_key: bool,
) -> Signer:
    """The signing key for this process.

    Order: the environment variable ``env_var`` if set and non-empty; else ``key_file`` if
    given; else, only when ``allow_dev_key``, a random throwaway key (logged as a warning,
    since checkpoints it signs cannot be verified after a restart). Setting both the variable
    and a file is refused rather than silently preferring one: two configured keys usually
    mean a deployment mistake, and guessing wrong forks the log's signing identity.
    """
    value = os.environ.get(env_var, "")
    if value.strip() and key_file is not None:
        raise UsageError(f"both {env_var} and a key file ({key_file}) are set; configure one")
    if value.strip():
        return signer_from_env_value(value, source=env_var)
    if key_file is not None:
        return signer_from_file(key_file)
    if allow_dev_key:
        signer = Ed25519Signer.generate()
        log.warning(
            "NO SIGNING KEY CONFIGURED: using a throwaway dev key (public key %s). Checkpoints "
            "signed now will not verify after a restart. Set %s or pass a key file in "
            "production (create one with `glasskey keygen`).",
            signer.public_key.hex(),
            env_var,
        )
        return signer
    raise KeyMaterialError(
        f"no signing key: set {env_var} (base64 of a PKCS#8 Ed25519 PEM) or give a key file; "
        "`glasskey keygen` makes one"
    )


def write_private_file(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` with mode 0600, refusing to overwrite unless ``force``.

    The file is created with 0600 from the start (no window where it is world-readable);
    with ``force`` an existing file is replaced atomically through a 0600 temporary file.
    """
    p = Path(path)
    if not force:
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise UsageError(f"{p} already exists; pass --force to overwrite it") from None
        except OSError as err:
            raise UsageError(f"cannot create {p}: {err.strerror}") from None
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(p, 0o600)  # in case the umask is unusual; O_CREAT mode is masked by it
        return
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, p)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {p}: {err.strerror}") from None


__all__ = [
    "DEFAULT_ENV_VAR",
    "generate_pem",
    "load_signer",
    "pem_to_env_value",
    "signer_from_env_value",
    "signer_from_file",
    "write_private_file",
]
