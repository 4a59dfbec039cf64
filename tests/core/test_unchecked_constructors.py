"""The audit walk's fast constructors build exactly what the dataclasses' own ``__init__`` does."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glasskey.core.akd._node_label import NodeLabel, node_label_unchecked
from glasskey.core.akd.types import AzksElement, new_element


@given(val=st.binary(min_size=32, max_size=32), value=st.binary(max_size=40))
def test_fast_constructors_equal_the_dataclass_constructors(val: bytes, value: bytes) -> None:
    label = node_label_unchecked(val, 256)
    assert type(label) is NodeLabel
    assert label == NodeLabel(val, 256) and hash(label) == hash(NodeLabel(val, 256))
    assert (label.val, label.length, repr(label)) == (val, 256, repr(NodeLabel(val, 256)))
    element = new_element(label, value)
    assert type(element) is AzksElement
    assert element == AzksElement(NodeLabel(val, 256), value)
    assert hash(element) == hash(AzksElement(NodeLabel(val, 256), value))
    assert (element.label, element.value) == (label, value)


def test_fast_constructed_values_stay_frozen() -> None:
    label = node_label_unchecked(bytes(32), 256)
    element = new_element(label, b"v")
    with pytest.raises(dataclasses.FrozenInstanceError):
        label.length = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        element.value = b"w"  # type: ignore[misc]
    assert (label.length, element.value) == (256, b"v")
