"""The directory reproduces facebook/akd's published bytes (spec section 15).

With the test VRF key and the upstream generator's publish schedule, glasskey must reach the
vectors' epoch-49 hash and serialise lookup and history proofs byte-identical to the vectors;
replaying the fixture generator's updates must rebuild its stored tree node by node.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from glasskey.core.akd import wire
from glasskey.core.akd.types import HistoryParams
from glasskey.directory import Directory
from glasskey.directory.akd._keys import key_label, node_key
from tests.vectors import AKD_TEST_VRF_SEED, akd_vector, vector_path, vector_schedule

CONFIGS = ["whatsapp_v1", "experimental"]


@pytest.fixture(scope="module", params=CONFIGS)
def vector_directory(request: pytest.FixtureRequest) -> Directory:
    directory = Directory.in_memory(request.param, vrf_seed=AKD_TEST_VRF_SEED)
    for batch in vector_schedule():
        directory.publish(batch)
    return directory


def test_public_key_and_epoch_hash(vector_directory: Directory) -> None:
    v = akd_vector(vector_directory.config.name)
    assert vector_directory.vrf_public_key == v.vrf_public_key
    epoch_hash = vector_directory.get_epoch_hash()
    assert epoch_hash.epoch == v.epoch == 49
    assert epoch_hash.root_hash == v.epoch_hash


def test_lookup_proof_bytes(vector_directory: Directory) -> None:
    v = akd_vector(vector_directory.config.name)
    proof, _ = vector_directory.lookup(v.label)
    assert wire.encode_lookup_proof(proof) == v.lookup_proof


def test_history_proof_bytes(vector_directory: Directory) -> None:
    v = akd_vector(vector_directory.config.name)
    complete, _ = vector_directory.key_history(v.label, HistoryParams.complete())
    assert wire.encode_history_proof(complete) == v.history_complete
    recent, _ = vector_directory.key_history(v.label, HistoryParams.most_recent_n(1))
    assert wire.encode_history_proof(recent) == v.history_most_recent_1


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        (
            "whatsapp_v1",
            "0b9485d54b3e510b68d3b475e834c3179ba22c1b0b4df4eedb88ac0b08ea0544",
            "8512bd5bf233cdff5c85f099d6f9ad940d609871fa89812ff2cb4e8afd48e868",
        ),
        (
            "experimental",
            "bc95dae0f78746e9f730e90505e5728b135e7d0058554859a811de974ce6c75a",
            "d20d790ddd5c4dfba53f4f8be86d94da136692b9b6844b2e66f139db5cefab55",
        ),
    ],
)
def test_one_child_root_constants(name: str, first: str, second: str) -> None:
    """Spec section 14's derived roots exercise the root with a single child."""
    directory = Directory.in_memory(name, vrf_seed=AKD_TEST_VRF_SEED)
    assert directory.publish([(b"a", b"x")]).root_hash.hex() == first
    assert directory.publish([(b"a", b"y"), (b"b", b"z")]).root_hash.hex() == second


# -- fixtures: node-by-node ---------------------------------------------------------------


class _TaggedLoader(yaml.SafeLoader):
    pass


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    assert isinstance(node, yaml.MappingNode)
    data = loader.construct_mapping(node, deep=True)
    data["__tag__"] = suffix
    return data


_TaggedLoader.add_multi_constructor("!", _tagged)


def _hex(value: object) -> bytes:
    return bytes.fromhex(str(value))


def _fixture_states(name: str) -> list[dict[str, Any]]:
    text = vector_path("akd", "fixtures", f"{name}.yaml").read_text()
    docs = list(yaml.load_all(text, Loader=_TaggedLoader))
    return [d for d in docs if isinstance(d, dict) and "records" in d and "epoch" in d]


@pytest.mark.parametrize("name", CONFIGS)
def test_fixture_trees_rebuilt_node_by_node(name: str) -> None:
    states = _fixture_states(name)
    assert len(states) == 2
    for state in states:
        records = state["records"]
        azks = next(r for r in records if r["__tag__"] == "Azks")
        latest = int(azks["latest_epoch"])
        by_epoch: dict[int, list[tuple[bytes, bytes]]] = {}
        for r in records:
            if r["__tag__"] == "ValueState":
                assert int(r["version"]) == 1  # the fixtures only hold first versions
                by_epoch.setdefault(int(r["epoch"]), []).append(
                    (_hex(r["username"]), _hex(r["value"]))
                )
        directory = Directory.in_memory(name, vrf_seed=AKD_TEST_VRF_SEED)
        for epoch in range(1, latest + 1):
            result = directory.publish(by_epoch.get(epoch, []))
            assert result.epoch == epoch, "fixture epochs must each hold at least one update"
        tree_nodes = [r for r in records if r["__tag__"] == "TreeNode"]
        assert len(tree_nodes) == int(azks["num_nodes"])
        with directory.store.read() as txn:
            for record in tree_nodes:
                node = record["latest_node"]
                label = node["label"]
                key = node_key(int(str(label["label_val"]), 16), int(label["label_len"]))
                stored = txn.get_nodes([key]).get(key)
                assert stored is not None, f"node {label} missing"
                assert stored.value == _hex(node["hash"])
                assert stored.last_epoch == int(node["last_epoch"])
                assert stored.min_epoch == int(node["min_descendant_epoch"])
                for side, stored_key in (
                    ("left_child", stored.left_key),
                    ("right_child", stored.right_key),
                ):
                    child = node.get(side)
                    if child is None:
                        assert stored_key is None
                    else:
                        assert stored_key is not None
                        assert key_label(stored_key) == (
                            int(str(child["label_val"]), 16),
                            int(child["label_len"]),
                        )
            assert txn.stats()["nodes"] == len(tree_nodes)
