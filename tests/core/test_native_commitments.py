"""Publish's leaf commitments: the native batch, the Python batch and the per-leaf rules agree.

``Configuration.leaf_commitments`` runs in the extension when it is installed; the Python
``_leaf_commitments`` is the reference, itself checked against ``commitment_nonce`` and
``commitment`` leaf by leaf (the rules the akd vectors pin); ``leaf_nonce``, which lookup
proofs carry, is the same nonce.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glasskey.core import _native
from glasskey.core.akd import configuration
from glasskey.core.akd._node_label import NodeLabel
from glasskey.core.akd.configuration import Configuration, get_configuration
from glasskey.core.errors import MalformedError
from tests.native import NOT_INSTALLED, needs_native

configs = st.one_of(
    st.just(get_configuration("whatsapp_v1")),
    st.binary(max_size=24).map(lambda label: get_configuration("experimental", label)),
)
leaves = st.lists(
    st.tuples(
        st.binary(min_size=32, max_size=32),
        st.integers(min_value=0, max_value=2**64 - 1),
        st.binary(max_size=300),
    ),
    max_size=12,
)


def per_leaf(
    config: Configuration, key: bytes, batch: list[tuple[bytes, int, bytes]]
) -> list[bytes]:
    return [
        config.commitment(
            value,
            config.commitment_nonce(key, NodeLabel.leaf(label).to_bytes(), version, value),
        )
        for label, version, value in batch
    ]


@given(config=configs, key=st.binary(min_size=32, max_size=32), batch=leaves)
def test_the_python_batch_is_the_per_leaf_rules(
    config: Configuration, key: bytes, batch: list[tuple[bytes, int, bytes]]
) -> None:
    assert config._leaf_commitments(key, batch) == per_leaf(config, key, batch)


@given(config=configs, key=st.binary(max_size=40), batch=leaves)
def test_the_leaf_nonce_is_the_nonce_of_the_leaf_labels_form(
    config: Configuration, key: bytes, batch: list[tuple[bytes, int, bytes]]
) -> None:
    # What lookup proofs carry (Directory._nonce) is what publish committed to.
    for label, version, value in batch:
        assert config.leaf_nonce(key, label, version, value) == config.commitment_nonce(
            key, NodeLabel.leaf(label).to_bytes(), version, value
        )


@pytest.mark.parametrize("size", [0, 31, 33])
def test_the_leaf_nonce_of_a_label_of_the_wrong_size_is_malformed(size: int) -> None:
    with pytest.raises(MalformedError, match=rf"^node label value must be 32 bytes, got {size}$"):
        get_configuration("whatsapp_v1").leaf_nonce(bytes(32), bytes(size), 1, b"v")


@needs_native
@given(config=configs, key=st.binary(max_size=40), batch=leaves)
def test_the_native_batch_is_the_python_batch(
    config: Configuration, key: bytes, batch: list[tuple[bytes, int, bytes]]
) -> None:
    expected = config._leaf_commitments(key, batch)
    assert config.leaf_commitments(key, batch) == expected
    assert len(expected) == len(batch) and all(len(c) == 32 for c in expected)


@pytest.mark.parametrize("size", [0, 31, 33])
@pytest.mark.parametrize("native", [False, True], ids=["python", "native"])
def test_a_node_label_of_the_wrong_size_is_malformed_on_either_path(
    size: int, native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if native and _native.vrf is None:
        pytest.skip(NOT_INSTALLED)
    if not native:
        monkeypatch.setattr(configuration, "native", None)
    config = get_configuration("whatsapp_v1")
    batch = [(bytes(32), 1, b"v"), (bytes(size), 2, b"w")]
    with pytest.raises(MalformedError, match=rf"^node label value must be 32 bytes, got {size}$"):
        config.leaf_commitments(bytes(32), batch)
