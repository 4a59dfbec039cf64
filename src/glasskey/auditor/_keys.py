"""Loading the auditor's Ed25519 signing keys, on top of :mod:`glasskey.keys`.

Keys come from ``GLASSKEY_AUDITOR_SIGNING_KEY`` (base64 of a PKCS#8 PEM, the way ops teams
put secrets in environment variables; a raw PEM is accepted too) or from a PEM file. What the
auditor adds to the shared loader: the source may hold *several* ``PRIVATE KEY`` blocks. That
is how a rotation is staged — old and new key loaded together, the one with the newest valid
``not_before`` signs (see :class:`glasskey.auditor._service.Keyring`).

Every failure names the source and what is wrong, never the bytes: a message that quoted
the input would put the private key into logs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from glasskey.core.errors import KeyMaterialError
from glasskey.core.signing import Ed25519Signer, Signer
from glasskey.keys import signer_from_env_value

SIGNING_KEY_ENV = "GLASSKEY_AUDITOR_SIGNING_KEY"
_MAX_SOURCE = 64 * 1024
_PEM_BLOCK = re.compile(rb"-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----", re.DOTALL)


def signers_from_pem(data: bytes, source: str) -> list[Signer]:
    """Every Ed25519 key in a PEM bundle; raises ``KeyMaterialError`` naming only ``source``."""
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise KeyMaterialError(f"{source}: no PKCS#8 'PRIVATE KEY' PEM block found")
    signers: list[Signer] = []
    for index, block in enumerate(blocks, 1):
        try:
            signers.append(Ed25519Signer.from_pem(block))
        except KeyMaterialError as err:
            raise KeyMaterialError(f"{source}: PEM block {index}: {err}") from None
    return signers


def load_signers(
    env_var: str = SIGNING_KEY_ENV,
    key_file: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
) -> list[Signer]:
    """Signing keys from ``key_file`` if given, else from the environment variable."""
    if key_file is not None:
        path = Path(key_file)
        try:
            if path.stat().st_size > _MAX_SOURCE:
                raise KeyMaterialError(f"key file {path} is too large to be a key")
            data = path.read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"cannot read key file {path}: {exc.strerror}") from None
        return signers_from_pem(data, f"key file {path}")
    env = os.environ if environ is None else environ
    value = env.get(env_var, "")
    if not value.strip():
        raise KeyMaterialError(
            f"no auditor signing key: set {env_var} (base64 of a PKCS#8 PEM) or pass --key-file"
        )
    try:
        return [signer_from_env_value(value, source=env_var)]
    except KeyMaterialError:
        pass
    # Perhaps a bundle of several keys (rotation): decode and split it ourselves.
    import base64
    import binascii

    text = value.strip()
    if text.startswith("-----BEGIN"):
        raw = text.replace("\\n", "\n").encode("ascii", errors="replace")
    else:
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise KeyMaterialError(f"{env_var} is not base64 of a PKCS#8 Ed25519 PEM") from None
    return signers_from_pem(raw, env_var)


__all__ = ["SIGNING_KEY_ENV", "Ed25519Signer", "Signer", "load_signers", "signers_from_pem"]
