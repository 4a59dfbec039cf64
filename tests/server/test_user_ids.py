"""The user id policies: one canonical spelling per user, or a clear refusal."""

from __future__ import annotations

import pytest

from glasskey.core.errors import UsageError
from glasskey.server._user_ids import UserIdPolicy


def test_exact_keeps_ids_as_given() -> None:
    assert UserIdPolicy.EXACT.normalise("Alice") == "Alice"
    with pytest.raises(UsageError):
        UserIdPolicy.EXACT.normalise("al ice")


@pytest.mark.parametrize("spelling", ["alice", "Alice", "ALICE", "\uff21lice"])  # fullwidth A
def test_casefold_folds_every_spelling_to_one(spelling: str) -> None:
    assert UserIdPolicy.CASEFOLD.normalise(spelling) == "alice"


def test_casefold_still_refuses_what_no_label_may_hold() -> None:
    with pytest.raises(UsageError):
        UserIdPolicy.CASEFOLD.normalise("al ice")


@pytest.mark.parametrize("number", ["+4915112345678", "+49 151 1234-5678", "+1 (555) 123.4567"])
def test_e164_normalises_separators_away(number: str) -> None:
    assert UserIdPolicy.E164.normalise(number).lstrip("+").isdigit()


@pytest.mark.parametrize("bad", ["12345", "+1234567", "+0123456789", "+1234567890123456", "alice"])
def test_e164_refuses_what_is_not_a_phone_number(bad: str) -> None:
    with pytest.raises(UsageError, match=r"E\.164"):
        UserIdPolicy.E164.normalise(bad)
