"""Per-device views of verified keys whose values are key bundles (``glasskey.api.keybundle``).

Only verified data comes in (``VerifiedKey``, ``VerifiedHistory``): what these helpers show
is what the log proved, version by version, with each version's publication time. Device
*names* are not in the log; an app keeps them on the owner's devices, keyed by device id.
"""

from __future__ import annotations

from dataclasses import dataclass

from glasskey.api.keybundle import (
    Device,
    KeyBundle,
    decode_key_bundle,
    looks_like_key_bundle,
)
from glasskey.client._verify import VerifiedHistory, VerifiedKey


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """One device's change in one version: ``added``, ``removed`` or ``keys_changed``."""

    version: int
    epoch: int
    published_at: float | None
    device_id: str
    change: str
    #: The device as of this version (as it was, for ``removed``).
    device: Device


def bundle_of(value: bytes) -> KeyBundle | None:
    """The key bundle ``value`` holds; None for an opaque (non-bundle) value.

    A value that starts like a bundle but is not a canonical one is a ``MalformedError``: a
    broken bundle must not pass for "no devices".
    """
    if not looks_like_key_bundle(value):
        return None
    return decode_key_bundle(value)


def devices_of(key: VerifiedKey) -> KeyBundle | None:
    """The devices of a verified current key (None: an opaque value)."""
    return bundle_of(key.key)


def device_history(history: VerifiedHistory) -> list[DeviceChange]:
    """Every device change across the verified versions, oldest first.

    Versions are compared in order: a device id that appears is ``added``, one that
    disappears ``removed``, one whose identity key or signed-prekey fingerprint differs
    ``keys_changed``. An opaque version lists no devices. With a ``most_recent`` history the
    oldest version shown counts as the start: its devices are reported ``added`` there.
    """
    changes: list[DeviceChange] = []
    before: dict[str, Device] = {}
    times = dict(zip((r.version for r in history.versions), history.published_at, strict=False))
    for result in sorted(history.versions, key=lambda r: r.version):
        bundle = bundle_of(result.value)
        now = {d.device_id: d for d in bundle.devices} if bundle is not None else {}
        at = times.get(result.version)

        def change(
            kind: str,
            device: Device,
            version: int = result.version,
            epoch: int = result.epoch,
            when: float | None = at,
        ) -> DeviceChange:
            return DeviceChange(version, epoch, when, device.device_id, kind, device)  # fmt: skip

        for device_id in sorted(set(before) | set(now)):
            old, new = before.get(device_id), now.get(device_id)
            if old is None and new is not None:
                changes.append(change("added", new))
            elif new is None and old is not None:
                changes.append(change("removed", old))
            elif (
                old is not None
                and new is not None
                and (
                    (old.identity_key, old.signed_prekey_fingerprint, old.added_at)
                    != (new.identity_key, new.signed_prekey_fingerprint, new.added_at)
                )
            ):
                changes.append(change("keys_changed", new))
        before = now
    return changes
