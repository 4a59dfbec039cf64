"""The auditor's newest countersigned epoch in client state, and the declared re-signing
interval behind the default maximum checkpoint age."""

from __future__ import annotations

import dataclasses

import pytest

from glasskey.client import AuditorPin, ClientState, Trust, VerificationPolicy
from glasskey.core.errors import UsageError

KEY = bytes(range(32))
TRUST = Trust("glasskey.local/log", "glasskey.local/log+00000000+AA==", KEY, "experimental")


def test_the_auditor_epoch_only_grows() -> None:
    state = ClientState()
    assert state.auditor_epoch("ns") == (0, None)
    state.raise_auditor_epoch("ns", 7, asked=True)
    epoch, asked_at = state.auditor_epoch("ns")
    assert epoch == 7 and asked_at is not None
    state.raise_auditor_epoch("ns", 3)  # an older signature seen later lowers nothing
    assert state.auditor_epoch("ns") == (7, asked_at)
    state.raise_auditor_epoch("ns", 9)
    assert state.auditor_epoch("ns") == (9, asked_at)
    assert state.auditor_epoch("other") == (0, None)


def test_the_default_max_age_follows_the_declared_interval() -> None:
    policy = VerificationPolicy()
    assert policy.max_age_for(TRUST) == 3600.0  # a log that declares no interval
    declared = dataclasses.replace(TRUST, checkpoint_refresh=60.0)
    assert policy.max_age_for(declared) == 3 * 60.0 + 15.0
    assert VerificationPolicy(max_age=10).max_age_for(declared) == 10  # explicit wins
    assert VerificationPolicy(max_age=None).max_age_for(declared) is None
    with pytest.raises(UsageError, match="checkpoint_refresh"):
        dataclasses.replace(TRUST, checkpoint_refresh=0)


def test_the_declared_interval_is_pinned_in_state() -> None:
    state = ClientState()
    pinned = Trust("o", "o+00000000+AA==", KEY, "experimental", None, 5.0, 60.0)
    state.pin("http://log", pinned)
    assert state.trust("http://log") == pinned


def test_an_auditor_url_must_be_http() -> None:
    pin = AuditorPin([KEY], "ns", url="https://auditor.example/")
    assert pin.url == "https://auditor.example" and pin.check_interval == 60.0
    with pytest.raises(UsageError, match="url"):
        AuditorPin([KEY], "ns", url="auditor.example")
    with pytest.raises(UsageError, match="check_interval"):
        AuditorPin([KEY], "ns", check_interval=-1)
