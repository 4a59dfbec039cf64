"""Where ``glasskey serve`` gets its two private keys: the log signing key and the VRF key.

Production passes them in (environment variables, as ops teams do with secrets; or files).
With nothing configured, ``glasskey serve`` must still "just work" *and* keep working across
restarts — a key that changes on restart makes every client's pinned key wrong — so it keeps
development keys in 0600 files in a ``glasskey-dev-keys/`` folder (mode 0700) next to the
database and says so in a warning. A folder of their own, not the database's folder itself,
because that is often a source checkout (``make serve``): the repository's ``.gitignore``
names the folder, so a private key is never one ``git add .`` away from being published. The
key bytes themselves never reach a log line or the database.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path

from glasskey.core.errors import KeyMaterialError
from glasskey.core.signing import Signer
from glasskey.keys import DEFAULT_ENV_VAR, generate_pem, load_signer, write_private_file

log = logging.getLogger("glasskey.server.keys")

VRF_ENV_VAR = "GLASSKEY_VRF_KEY"
DEV_SIGNING_KEY_FILE = "glasskey-signing-key.pem"
DEV_VRF_KEY_FILE = "glasskey-vrf-key.hex"
#: The folder (next to the database) that holds the development keys; git-ignored.
DEV_KEY_DIR = "glasskey-dev-keys"


def dev_key_dir(base: Path) -> Path:
    """Where the development keys of a server whose database lives in ``base`` are kept.

    ``base/glasskey-dev-keys``, unless ``base`` still holds keys an earlier glasskey wrote
    there directly: those stay in use (new keys would make every client's pin wrong)."""
    if (base / DEV_SIGNING_KEY_FILE).exists() or (base / DEV_VRF_KEY_FILE).exists():
        return base
    return base / DEV_KEY_DIR


def _parse_seed(text: str, source: str) -> bytes:
    text = text.strip()
    seed: bytes | None = None
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        try:
            seed = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            seed = None
    if seed is None or len(seed) != 32:
        raise KeyMaterialError(f"{source} must hold a 32-byte VRF secret key in hex or base64")
    return seed


def _create_dev_key_file(path: Path, data: bytes) -> bool:
    """Publish ``data`` at ``path`` (mode 0600) unless it exists; True if this call made it.

    Several server processes may start at once (``--workers N``): the key is written whole to
    a private temporary file and hard-linked into place, which fails if another process got
    there first. So nobody ever reads a half-written key, and every process ends up with
    the one key that won, instead of each signing with its own.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
    write_private_file(tmp, data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def load_signing_key(key_file: str | None, dev_dir: Path) -> Signer:
    """Env ``GLASSKEY_SIGNING_KEY``, else ``key_file``, else a persistent dev key file."""
    if os.environ.get(DEFAULT_ENV_VAR, "").strip() or key_file is not None:
        return load_signer(key_file=key_file, allow_dev_key=False)
    path = dev_dir / DEV_SIGNING_KEY_FILE
    if not path.exists() and _create_dev_key_file(path, generate_pem()):
        log.warning(
            "no signing key configured: created a development key in %s (set %s in production)",
            path,
            DEFAULT_ENV_VAR,
        )
    return load_signer(key_file=path, allow_dev_key=False)


def load_vrf_seed(key_file: str | None, dev_dir: Path) -> bytes:
    """Env ``GLASSKEY_VRF_KEY``, else ``key_file``, else a persistent dev key file."""
    value = os.environ.get(VRF_ENV_VAR, "").strip()
    if value:
        return _parse_seed(value, VRF_ENV_VAR)
    if key_file is not None:
        return _parse_seed(Path(key_file).read_text("ascii", errors="replace"), key_file)
    path = dev_dir / DEV_VRF_KEY_FILE
    if not path.exists() and _create_dev_key_file(
        path, os.urandom(32).hex().encode("ascii") + b"\n"
    ):
        log.warning(
            "no VRF key configured: created a development key in %s (set %s in production)",
            path,
            VRF_ENV_VAR,
        )
    return _parse_seed(path.read_text("ascii", errors="replace"), str(path))
