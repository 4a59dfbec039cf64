"""Key bundles: the canonical value a messaging user publishes for all their devices.

A directory value is opaque bytes, and stays so: any app may publish any value. An app whose
users have several devices publishes a *key bundle* instead — one value listing every device:
an opaque device id, the device's identity key, its signed-prekey fingerprint, and when the
device was added. Clients can then show and monitor each device's history from the log.

The format (``application/vnd.glasskey.key-bundle+json; version=1``, docs/key-bundles.md):
canonical JSON, i.e. exactly the bytes ``encode_key_bundle`` writes — keys sorted, no
whitespace, ASCII only, integers only, devices sorted by id, base64 (RFC 4648, padded) for
the keys::

    {"devices":[{"added_at":1700000000,"id":"phone-1","identity_key":"BQ…",
    "signed_prekey_fingerprint":"q83…"}],"type":"glasskey.key-bundle","v":1}

Why canonical: the log commits to bytes. If one bundle had two encodings, a server could
publish a new version that *looks* unchanged, and two clients could disagree on whether a
value is a bundle; ``decode_key_bundle`` therefore refuses anything that does not re-encode
to the very same bytes. Unknown fields are refused too — in particular device *names*: they
stay on the owner's devices and must never reach a public log.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from glasskey.core.errors import MalformedError, UsageError

#: The media type of a version-1 key bundle value.
KEY_BUNDLE_CONTENT_TYPE = "application/vnd.glasskey.key-bundle+json; version=1"
KEY_BUNDLE_TYPE = "glasskey.key-bundle"
KEY_BUNDLE_VERSION = 1
#: More devices than any messaging app allows per account; keeps a bundle well under the
#: directory's value limit (64 KiB) with 32-byte keys.
MAX_DEVICES = 64
#: Largest identity key / fingerprint accepted (bytes): room for post-quantum keys (ML-KEM
#: public keys are 1,184 bytes) without letting one device fill the value.
MAX_KEY_BYTES = 2048
#: Device ids: opaque to glasskey (random, or the app's own), never a human-chosen name.
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PREFIX = b'{"devices":['


@dataclass(frozen=True, slots=True, order=True)
class Device:
    """One device of a user: opaque ``device_id``, keys, and when it was added (Unix s)."""

    device_id: str
    identity_key: bytes
    signed_prekey_fingerprint: bytes
    added_at: int

    def __post_init__(self) -> None:
        if not isinstance(self.device_id, str) or not _DEVICE_ID.fullmatch(self.device_id):
            raise UsageError("a device id is 1-64 characters of A-Z a-z 0-9 _ - (opaque)")
        for name in ("identity_key", "signed_prekey_fingerprint"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or not 1 <= len(value) <= MAX_KEY_BYTES:
                raise UsageError(f"a device's {name} is 1-{MAX_KEY_BYTES} bytes")
        added = self.added_at
        if isinstance(added, bool) or not isinstance(added, int) or not 0 <= added < 2**53:
            raise UsageError("a device's added_at is whole Unix seconds (0 to 2^53)")


@dataclass(frozen=True, slots=True)
class KeyBundle:
    """Every device of one user, sorted by device id (ids unique)."""

    devices: tuple[Device, ...]

    def __post_init__(self) -> None:
        devices = tuple(sorted(self.devices))
        object.__setattr__(self, "devices", devices)
        ids = [d.device_id for d in devices]
        if len(set(ids)) != len(ids):
            raise UsageError("device ids in a key bundle must be unique")
        if len(devices) > MAX_DEVICES:
            raise UsageError(f"a key bundle lists at most {MAX_DEVICES} devices")

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.device_id == device_id), None)

    def with_device(self, device: Device) -> KeyBundle:
        """This bundle with ``device`` added, or replacing the device with its id."""
        others = [d for d in self.devices if d.device_id != device.device_id]
        return KeyBundle((*others, device))

    def without_device(self, device_id: str) -> KeyBundle:
        return KeyBundle(tuple(d for d in self.devices if d.device_id != device_id))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode_key_bundle(bundle: KeyBundle) -> bytes:
    """The canonical bytes of ``bundle`` (the value to upload)."""
    if not isinstance(bundle, KeyBundle):
        raise TypeError(f"encode_key_bundle takes a KeyBundle, not {type(bundle).__name__}")
    document = {
        "devices": [
            {
                "added_at": d.added_at,
                "id": d.device_id,
                "identity_key": _b64(d.identity_key),
                "signed_prekey_fingerprint": _b64(d.signed_prekey_fingerprint),
            }
            for d in bundle.devices
        ],
        "type": KEY_BUNDLE_TYPE,
        "v": KEY_BUNDLE_VERSION,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def is_key_bundle(value: bytes) -> bool:
    """Whether ``value`` is a canonical key bundle (else an opaque value, or a broken one)."""
    try:
        decode_key_bundle(value)
    except MalformedError:
        return False
    return True


def looks_like_key_bundle(value: bytes) -> bool:
    """Whether ``value`` claims to be a key bundle (starts as one): such a value that does not
    decode is a broken bundle, not an opaque value."""
    return value.startswith(_PREFIX)


def decode_key_bundle(value: bytes) -> KeyBundle:
    """The bundle ``value`` encodes; ``MalformedError`` unless it is canonical version 1."""
    try:
        document = json.loads(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedError("not a key bundle: not ASCII JSON") from None
    if not isinstance(document, dict) or set(document) != {"devices", "type", "v"}:
        raise MalformedError('not a key bundle: the fields must be exactly "devices", "type", "v"')
    if document["type"] != KEY_BUNDLE_TYPE:
        raise MalformedError(f'not a key bundle: "type" is not "{KEY_BUNDLE_TYPE}"')
    if document["v"] != KEY_BUNDLE_VERSION or isinstance(document["v"], bool):
        raise MalformedError(f"unsupported key bundle version (this reads {KEY_BUNDLE_VERSION})")
    if not isinstance(document["devices"], list):
        raise MalformedError('a key bundle\'s "devices" must be a list')
    try:
        bundle = KeyBundle(tuple(_device(raw) for raw in document["devices"]))
    except UsageError as exc:
        raise MalformedError(f"invalid key bundle: {exc}") from None
    if encode_key_bundle(bundle) != value:
        raise MalformedError(
            "the key bundle is not in canonical form (sorted keys and devices, no whitespace, "
            "padded base64): one bundle has exactly one encoding"
        )
    return bundle


_DEVICE_FIELDS = {"added_at", "id", "identity_key", "signed_prekey_fingerprint"}


def _device(raw: Any) -> Device:
    if not isinstance(raw, dict) or set(raw) != _DEVICE_FIELDS:
        raise MalformedError(
            "a key bundle device has exactly the fields added_at, id, identity_key, "
            "signed_prekey_fingerprint (no names: they stay on the owner's devices)"
        )
    keys = []
    for name in ("identity_key", "signed_prekey_fingerprint"):
        text = raw[name]
        if not isinstance(text, str):
            raise MalformedError(f"a device's {name} must be base64 text")
        try:
            keys.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise MalformedError(f"a device's {name} is not valid base64") from None
    if not isinstance(raw["id"], str):
        raise MalformedError("a device id must be text")
    return Device(raw["id"], keys[0], keys[1], raw["added_at"])


__all__ = [
    "KEY_BUNDLE_CONTENT_TYPE",
    "KEY_BUNDLE_TYPE",
    "KEY_BUNDLE_VERSION",
    "MAX_DEVICES",
    "Device",
    "KeyBundle",
    "decode_key_bundle",
    "encode_key_bundle",
    "is_key_bundle",
    "looks_like_key_bundle",
]
