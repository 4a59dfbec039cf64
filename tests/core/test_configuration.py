"""Known-answer constants of both configurations (akd-compat.md section 14)."""

from __future__ import annotations

import pytest

from glasskey.core.akd._node_label import NodeLabel
from glasskey.core.akd.configuration import Configuration, get_configuration
from glasskey.core.errors import ConfigurationError
from tests.vectors import AKD_TEST_VRF_SEED

W = get_configuration("whatsapp_v1")
E = get_configuration("experimental")


@pytest.mark.parametrize(
    ("config", "field", "expected"),
    [
        (W, "empty_hash", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"),
        (E, "empty_hash", "491bf950d50bdfe210cd85f9691385be532299c0dad8c3d8ce740af099f766c1"),
        (W, "root_label_value", "245097bfbd7049db2fb9a8004cb070f1175011ba47b11ed9240864cc87072d33"),
        (E, "root_label_value", "00" * 36),
        (
            W,
            "empty_label_value",
            "af0af37cd5f4b0e068e612ad6327d79066fd9fdcd9ea360b438059abafd1d992",
        ),
        (E, "empty_label_value", "00000000" + "01" + "00" * 31),
        (W, "empty_root_value", "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"),
        (E, "empty_root_value", "00" * 32),
        (W, "empty_node_hash", "8d0447ac34e4607db4d20d403824e7dd4d384dab5ee5c11bbdebf0df9be57e6d"),
        (E, "empty_node_hash", "00" * 32),
        (W, "epoch0", "f48ded419214732a2c610c1e280543744bab3c17aec33e444997fa2d8f79792a"),
        (E, "epoch0", "00" * 32),
        (W, "commitment_key", "1ec16faa07c5e5024f95a339e395f8c1299a3d1c3f65e4bd9246ff33ada10a65"),
        (E, "commitment_key", "268214effba46cc5f0b7cb976cf47c177aa061c8aa6e84a8e542088a17982889"),
        (W, "alpha", "19f9bede9b6911309b352a1b1dc7328c856093a33649ef2391c81a7636566173"),
        (E, "alpha", "ffa23e33ac13a9508b7eb413c3bc8c9553967b00af40b4e1c8cae6518a22f9d3"),
    ],
)
def test_constants(config: Configuration, field: str, expected: str) -> None:
    computed = {
        "empty_hash": lambda: config.hash(b""),
        "root_label_value": lambda: config.root_label_value,
        "empty_label_value": lambda: config.empty_label_value,
        "empty_root_value": lambda: config.empty_root_value,
        "empty_node_hash": lambda: config.empty_node_hash,
        "epoch0": lambda: config.root_hash_from_value(config.empty_root_value),
        "commitment_key": lambda: config.commitment_key(AKD_TEST_VRF_SEED),
        "alpha": lambda: config.vrf_alpha(b"16", True, 3),
    }[field]()
    assert computed.hex() == expected


@pytest.mark.parametrize(
    ("config", "label", "nonce", "commitment", "leaf"),
    [
        (
            W,
            "1ebcd0ddae05780a3052f0fe1238c1c1bba4323faec7a34e1e166a226790fb8e",
            "6f6f1f6ccc8adbfd296a004065325af45bbd6ba367bfcbda1f53ded53cfd502e",
            "582b0baad4fb9e3ff3ad56277727878ddd2b4b03160fc2a83669dcddc8be0f79",
            "394f5a80107e82da7304c4ad7c58d5eba1996cfc7504d2d3c1447fe0a49ebeb4",
        ),
        (
            E,
            "fe1d2d5acfc3a8f3c683d1feddc0b8d7244430e2de20de99f71dc084579fec08",
            "87f6f8afdbf8d5992a082c5769dafcf1cfa646356f60f95b2707226a105f366b",
            "910ab498047d945d1e1ddf05efa9cae78123b0a874086524ad0c92d399db8bba",
            "bd83cfbd72e462ae897cbcb738848af92da585f16eaf635ce6d7abe2f0f24ca7",
        ),
    ],
)
def test_commitment_chain(
    config: Configuration, label: str, nonce: str, commitment: str, leaf: str
) -> None:
    key = config.commitment_key(AKD_TEST_VRF_SEED)
    node = NodeLabel.leaf(bytes.fromhex(label))
    computed_nonce = config.commitment_nonce(key, node.to_bytes(), 3, b"16,48")
    assert computed_nonce.hex() == nonce
    computed_commitment = config.commitment(b"16,48", computed_nonce)
    assert computed_commitment.hex() == commitment
    assert config.leaf_hash(computed_commitment, 48).hex() == leaf


def test_unknown_configuration_is_a_typed_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown configuration 'whatsapp_v2'"):
        get_configuration("whatsapp_v2")
    with pytest.raises(ConfigurationError, match="takes no domain label"):
        get_configuration("whatsapp_v1", b"x")


def test_experimental_domain_label_changes_every_hash() -> None:
    other = get_configuration("experimental", b"com.example.kt")
    assert other.hash(b"") != E.hash(b"")
    assert other != E
    assert get_configuration("experimental") == E
