"""Which user ids name the same user: an explicit policy, applied wherever an id comes in.

User ids are the directory's labels, so two spellings the policy keeps apart are two users
with two keys. Under ``exact`` ``Alice`` and ``alice`` are different users: fine where the
messaging service hands out canonical ids itself, a lookalike trap where people type them
(with ``--open-registration`` anyone may claim ``Alice`` next to ``alice``). ``casefold``
stores and compares ids NFKC-normalised and case-folded; ``e164`` accepts phone numbers only.

Every entry point (register, upload, lookup, history, inclusion) normalises through the one
policy, so a spelling can never reach a label another entry point would not have produced.
The log declares its policy in its key document and clients pin it with the keys and apply
it too (it lives in ``core`` for that): a client of a ``casefold`` log that looks up
``ALICE`` verifies the proof for the label ``alice`` instead of reporting the server's
correct answer as ``wrong_label``.
The policy is chosen before the first registration: switching it later does not rewrite the
ids already registered (an ``Alice`` registered under ``exact`` is unreachable under
``casefold``).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from glasskey.core.errors import UsageError

#: User ids are the directory labels (UTF-8). Printable, no whitespace, bounded.
USER_ID_RE = re.compile(r"^[A-Za-z0-9._@+\-:]{1,256}$")

#: E.164: ``+``, then 8-15 digits, the first not 0 (country codes never start with 0).
E164_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")

#: Separators people write inside phone numbers; dropped before checking E.164.
_PHONE_SEPARATORS = str.maketrans("", "", " -.()")


def check_user_id(user_id: str) -> str:
    """Validate a user id (also the directory label); raises ``UsageError`` with the rule."""
    if not isinstance(user_id, str) or not USER_ID_RE.match(user_id):
        raise UsageError("user_id must be 1-256 characters from A-Z a-z 0-9 . _ @ + - :")
    return user_id


class UserIdPolicy(StrEnum):
    """``exact``: ids as given (the default, so existing ids keep naming the same users);
    ``casefold``: NFKC + case folding; ``e164``: phone numbers, separators removed."""

    EXACT = "exact"
    CASEFOLD = "casefold"
    E164 = "e164"

    def normalise(self, user_id: str) -> str:
        """The canonical form of ``user_id`` under this policy; ``UsageError`` if invalid."""
        if not isinstance(user_id, str):
            raise UsageError("user_id must be a string")
        if self is UserIdPolicy.CASEFOLD:
            return check_user_id(unicodedata.normalize("NFKC", user_id).casefold())
        if self is UserIdPolicy.E164:
            number = user_id.translate(_PHONE_SEPARATORS)
            if not E164_RE.match(number):
                raise UsageError(
                    "this server's user ids are phone numbers in E.164 form: + and 8-15 digits "
                    "(e.g. +4915112345678)"
                )
            return number
        return check_user_id(user_id)


__all__ = ["E164_RE", "USER_ID_RE", "UserIdPolicy", "check_user_id"]
