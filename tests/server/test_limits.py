"""The building blocks of the abuse limits: cost-aware admission, trusted proxies, and the
audit proof joined from stored single-epoch proofs."""

from __future__ import annotations

import pytest

from glasskey.core.akd.wire import (
    encode_append_only_proof,
    encode_single_append_only_proof,
    join_append_only_proof,
)
from glasskey.core.errors import ConfigurationError
from glasskey.directory import Directory
from glasskey.server._proxies import ClientAddresses
from glasskey.server._ratelimit import CostLimiter


def test_cost_limiter_bounds_concurrency_and_charges_cost() -> None:
    costs = CostLimiter(concurrency=1, rate=1000)
    assert costs.admit("a") == 0.0
    assert costs.admit("b") > 0  # one at a time
    costs.done("a", 3000)  # served three seconds' worth of budget
    retry = costs.admit("a")
    assert 1.5 < retry <= 2.0  # in its own debt until the refill pays it back
    assert CostLimiter(concurrency=0, rate=1).admit("a") == 0.0  # disabled


def test_one_client_in_debt_does_not_lock_out_the_others() -> None:
    """An attacker looping over audit pages pays its own debt; the auditor still gets in,
    and many clients together cannot overspend the process's budget by more than a second."""
    costs = CostLimiter(concurrency=1, rate=1000)
    assert costs.admit("attacker") == 0.0
    costs.done("attacker", 1500)
    assert 0.4 < costs.admit("attacker") <= 0.5  # its own debt: 500 at 1000/s
    assert costs.admit("auditor") == 0.0  # the process is 500 in debt, within its second
    costs.done("auditor", 600)  # the process is now 1100 in debt
    retry = costs.admit("bystander")  # not in debt itself, but the process's second is spent
    assert 0.0 < retry <= 0.1


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    untrusting = ClientAddresses([])
    assert untrusting.client("127.0.0.1", ["1.2.3.4"]) == "127.0.0.1"
    addresses = ClientAddresses(["127.0.0.0/8", "10.0.0.1"])
    assert addresses.client("192.0.2.1", ["1.2.3.4"]) == "192.0.2.1"  # peer is not a proxy
    assert addresses.client("127.0.0.1", ["6.6.6.6, 203.0.113.9, 10.0.0.1"]) == "203.0.113.9"
    assert addresses.client("127.0.0.1", ["6.6.6.6", "203.0.113.9"]) == "203.0.113.9"
    assert addresses.client("127.0.0.1", ["10.0.0.1"]) == "127.0.0.1"  # only proxies
    assert addresses.client("127.0.0.1", []) == "127.0.0.1"
    with pytest.raises(ConfigurationError, match="trusted-proxy"):
        ClientAddresses(["not-an-address"])


def test_joined_audit_proof_is_byte_identical_to_the_encoded_one() -> None:
    directory = Directory.in_memory(vrf_seed=bytes(32))
    for epoch in range(4):
        directory.publish([(b"user%d" % i, bytes([epoch])) for i in range(epoch, epoch + 30)])
    proof = directory.audit(0, 4)
    singles = [encode_single_append_only_proof(single) for single in proof.proofs]
    assert join_append_only_proof(singles, proof.epochs) == encode_append_only_proof(proof)
    assert join_append_only_proof([], []) == b""
    with pytest.raises(ValueError):
        join_append_only_proof(singles, [0])
