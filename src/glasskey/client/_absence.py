"""Pure verification (no I/O) of the two IETF-style lookups: proofs of absence and
fixed-version search.

* A 404 for ``/api/crypto/bundles/{user}`` may carry ``absence``: the VRF proof of the
  label's version 1 and akd's non-membership proof of that node, in a signed state. Only
  when that verifies (checkpoint steps 1–4 of ``_verify`` plus ``absence_verify``) does the
  client report ``UserNotFound``; anything less is the ``UnprovenAbsence`` alert, because a
  server could otherwise hide a user's key behind a bare "not found".
* ``?version=N`` answers version N with akd's ``UpdateProof`` for it, checked by
  ``version_verify`` against the label and N the client asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glasskey.api.wire import AbsenceResponse, VersionResponse, parse
from glasskey.client._alerts import UnprovenAbsence, WrongLabel
from glasskey.client._policy import VerificationPolicy
from glasskey.client._state import Head
from glasskey.client._verify import (
    VerifiedKey,
    _countersignature,
    _pinned,
    configuration_of,
    verify_signed_state,
)
from glasskey.core.akd._absence import absence_verify, decode_absence_proof
from glasskey.core.akd._version import version_verify
from glasskey.core.errors import (
    AbsenceProofError,
    MalformedError,
    NotFound,
    VersionProofError,
)


class UserNotFound(NotFound):
    """The user has no published key, and the server proved it (``absence`` verified)."""

    code = "user_not_found"

    def __init__(self, message: str, absence: VerifiedAbsence) -> None:
        super().__init__(message, status=404, server_code="not_found")
        self.absence = absence


class AbsenceClaim(NotFound):
    """A 404 whose body carries an ``absence`` object (still unverified)."""

    def __init__(self, error: NotFound, absence: Any) -> None:
        super().__init__(str(error), status=error.status, server_code=error.server_code)
        self.absence = absence


@dataclass(frozen=True, slots=True)
class VerifiedAbsence:
    """``user_id`` had no version in the directory epoch ``epoch`` (root ``root_hash``)."""

    user_id: str
    epoch: int
    root_hash: bytes
    head: Head
    auditor_epoch: int = 0


def verify_absence(
    policy: VerificationPolicy,
    user_id: str,
    body: Mapping[str, Any] | None,
    previous: Head | None,
    *,
    now: float | None = None,
    auditor_epoch: int = 0,
) -> VerifiedAbsence:
    """Verify the ``absence`` object of a bundle 404 for ``user_id``.

    ``body`` None (a bare 404), an unreadable one, one for another user, or a proof that
    does not verify raise ``UnprovenAbsence``; the signed state's own failures keep their
    alerts (``invalid_signature``, ``fork_detected``, ``stale_head``, ...).
    """
    trust = _pinned(policy)
    if body is None:
        raise UnprovenAbsence(
            f"the server says {user_id!r} has no key but sends no proof of absence"
        )
    try:
        absence = parse(AbsenceResponse, body, "the proof of absence")
    except MalformedError as exc:
        raise UnprovenAbsence(f"unreadable proof of absence for {user_id!r}: {exc}") from None
    if absence.user_id != user_id:
        raise UnprovenAbsence(
            f"asked for {user_id!r}, the proof of absence is for {absence.user_id!r}"
        )
    state = verify_signed_state(
        trust, absence, previous, max_age=policy.max_age_for(trust), now=now,
        witnesses=policy.witnesses, witness_threshold=policy.witness_threshold,
        allow_empty=True,
    )  # fmt: skip
    if state.epoch == 0:  # the signed, empty log: no epoch, so nobody has a key
        _, newest = _countersignature(policy.auditor, body, state, auditor_epoch)
        return VerifiedAbsence(user_id, 0, state.root_hash, state.head, newest)
    try:
        proof = decode_absence_proof(absence.vrf_proof, absence.non_membership_proof)
        absence_verify(
            configuration_of(trust), trust.vrf_public_key, state.root_hash,
            user_id.encode("utf-8"), proof,
        )  # fmt: skip
    except (AbsenceProofError, MalformedError) as exc:
        raise UnprovenAbsence(f"the proof of absence of {user_id!r} is invalid: {exc}") from exc
    _, newest = _countersignature(policy.auditor, body, state, auditor_epoch)
    return VerifiedAbsence(user_id, state.epoch, state.root_hash, state.head, newest)


def verify_version_bundle(
    policy: VerificationPolicy,
    user_id: str,
    version: int,
    body: Mapping[str, Any],
    previous: Head | None,
    *,
    now: float | None = None,
    auditor_epoch: int = 0,
) -> VerifiedKey:
    """Verify a ``?version=N`` answer: version ``version`` of ``user_id`` in the signed tree.

    Raises ``WrongLabel`` for another user, ``VersionProofError`` for another version or a
    proof that does not verify (another label's VRF proof included), and the signed state's
    alerts as ``verify_bundle`` does. The result's ``version`` is ``version``; it is *a*
    version of the user, not necessarily the current one.
    """
    trust = _pinned(policy)
    found = parse(VersionResponse, body, "the fixed-version response")
    if found.user_id != user_id:
        raise WrongLabel(f"asked for {user_id!r}, the server answered for {found.user_id!r}")
    if found.version != version:
        raise VersionProofError(f"asked for version {version}, the server sent {found.version}")
    state = verify_signed_state(
        trust, found, previous, max_age=policy.max_age_for(trust), now=now,
        witnesses=policy.witnesses, witness_threshold=policy.witness_threshold,
    )  # fmt: skip
    result = version_verify(
        configuration_of(trust), trust.vrf_public_key, state.root_hash, state.epoch,
        user_id.encode("utf-8"), version, found.proof,
    )  # fmt: skip
    if found.key != result.value or found.published_epoch != result.epoch:
        raise VersionProofError("the key/epoch in the response differ from the proof's")
    signature, newest = _countersignature(policy.auditor, body, state, auditor_epoch)
    return VerifiedKey(
        user_id, result.value, result.version, result.epoch, state.epoch, state.root_hash,
        state.head, signature, newest,
    )  # fmt: skip
