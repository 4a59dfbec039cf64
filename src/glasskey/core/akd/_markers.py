"""Marker versions for lookup and history proofs (spec sections 9.4 and 9.5).

Markers let a client check "no version newer than N exists" with O(log) proofs: a lookup
proves the largest power of two at or below its version exists, and a history proof proves
past markers exist and future markers do not. The algorithm is reproduced *exactly* as akd
0.12 computes it (including its quirks: dedup only against the last element appended; the
future loop accumulates into one variable and tests bits of the original ``end``) because a
verifier that derives different lists would reject every honest proof.
"""

from __future__ import annotations

from typing import Final

from glasskey.core.errors import ProofError

SKIP_LIST: Final = (1, 2, 4, 16, 256, 65536, 2**32)


def marker_version(version: int) -> int:
    """Largest power of two at or below ``version`` (the lookup marker)."""
    if version < 1:
        raise ProofError(f"version {version} has no marker: versions start at 1")
    return 1 << (version.bit_length() - 1)


def _max_skip_index(value: int) -> int:
    index = 0
    for i, skip in enumerate(SKIP_LIST):
        if skip <= value:
            index = i
    return index


def _floor_log2(value: int) -> int:
    return value.bit_length() - 1


def marker_versions(start: int, end: int, epoch: int) -> tuple[list[int], list[int]]:
    """(past markers, future markers) for a history proof covering versions start..=end."""
    if not 1 <= start <= end <= epoch:
        raise ProofError(
            f"invalid version range for markers: start={start}, end={end}, epoch={epoch}"
        )
    past: list[int] = []

    def push_past(value: int) -> None:
        if value != 0 and (not past or past[-1] != value):
            past.append(value)

    skip = SKIP_LIST[_max_skip_index(start)]
    if skip != start:
        push_past(skip)
    power = 1 << _floor_log2(start)
    if power != start:
        push_past(power)
    for i in range(start.bit_length() - 1, -1, -1):
        if (start >> i) & 1:
            push_past(start & ~((1 << (i + 1)) - 1))

    future: list[int] = []
    f = end
    for i in range(end.bit_length() - 1):
        if not (end >> i) & 1:
            f = (f | (1 << i)) & ~((1 << i) - 1)
            if f <= epoch:
                future.append(f)
    skip_slice = SKIP_LIST[_max_skip_index(end) + 1 : _max_skip_index(epoch) + 1]
    for i in range(_floor_log2(end) + 1, _floor_log2(epoch) + 1):
        if skip_slice and (1 << i) >= skip_slice[0]:
            break
        future.append(1 << i)
    future.extend(skip_slice)
    return past, future
