"""What a client requires before it calls an answer verified: one frozen value.

Why one object: the same requirements are given to the sync client, the async client and the
pure ``verify_bundle``/``verify_history`` functions, so "verified" means the same thing
everywhere and a check cannot be forgotten in one place. The object is immutable and
validated when built (a bad key is a ``UsageError`` at configuration time, not a surprise at
the first lookup), and two policies with the same requirements are equal.

The log's checks (checkpoint signature, root-log inclusion, consistency, AKD proof for the
asked label) are not optional and so are not in the policy; it holds only what a deployment
chooses: which keys to pin, how fresh a head must be, which third parties must vouch for it.

Witness cosignatures (c2sp.org/tlog-cosignature) are one more optional pair of fields: the
witnesses' verifier keys and how many of them must have cosigned a checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, Literal

from glasskey.client._state import Trust
from glasskey.core.errors import MalformedError, UsageError
from glasskey.core.plexi import validate_namespace_name
from glasskey.log.witness import parse_witness_vkey

ED25519_PUBLIC_KEY_SIZE = 32
#: How often, at most, a client asks a pinned auditor for its newest countersigned epoch.
DEFAULT_AUDITOR_CHECK_INTERVAL = 60.0
#: ``VerificationPolicy.max_age`` default: follow the log's declared re-signing interval.
LOG_DECLARED: Final = "log-declared"


def _ed25519_public_key(key: object) -> bytes:
    """One pinned key, given raw (32 bytes) or as 64 hex characters."""
    if isinstance(key, str):
        try:
            key = bytes.fromhex(key)
        except ValueError:
            raise UsageError(
                f"an auditor key given as text must be {2 * ED25519_PUBLIC_KEY_SIZE} hex "
                f"characters, got {key[:16]!r}…"
            ) from None
    if not isinstance(key, bytes) or len(key) != ED25519_PUBLIC_KEY_SIZE:
        raise UsageError(
            f"an auditor key is a {ED25519_PUBLIC_KEY_SIZE}-byte Ed25519 public key "
            "(raw bytes or hex)"
        )
    return key


@dataclass(frozen=True, slots=True, init=False)
class AuditorPin:
    """The third-party auditor whose countersignature a client checks: a (keys, namespace)
    pair, both pinned out of band.

    ``keys``: the auditor's Ed25519 public keys (a key taken from the log, or from an auditor
    the log chose, proves nothing); raw 32 bytes or 64 hex characters, at least one. Every
    countersignature a response carries must verify under one of them and cover exactly the
    served epoch and root, else ``AuditorSignatureInvalid``.

    ``namespace``: the auditor namespace of *this* log. Required: one auditor audits many
    logs, so a key alone would accept a genuine countersignature of a shadow log (same log
    keys, other history) that some other namespace of the same auditor carries. The namespace
    is inside the signed bytes, so it cannot be relabelled either.

    ``required``: also refuse a response whose epoch carries no countersignature
    (``AuditorSignatureMissing``). The auditor signs shortly after each epoch, so expect brief
    refusals right after a publication. A requirement without keys cannot be expressed: the
    pin always has keys.

    Rollbacks: a served epoch older than the newest one this auditor countersigned for the
    namespace is refused (``RollbackDetected``) — a server restored from an old backup, or an
    old head replayed to a client with fresh state. The newest countersignature comes with
    each response (``auditor_latest``), but a lying server omits it; so with ``url`` (the
    auditor's base URL) the client also asks the auditor itself, at most once per
    ``check_interval`` seconds, and verifies its answer under ``keys``.
    """

    keys: tuple[bytes, ...]
    namespace: str
    required: bool
    url: str | None
    check_interval: float

    def __init__(
        self,
        keys: Iterable[bytes | str],
        namespace: str,
        required: bool = False,
        *,
        url: str | None = None,
        check_interval: float = DEFAULT_AUDITOR_CHECK_INTERVAL,
    ) -> None:
        if isinstance(keys, str | bytes):
            raise UsageError("auditor keys are a sequence of keys: wrap a single key in a tuple")
        pinned = tuple(_ed25519_public_key(key) for key in keys)
        if not pinned:
            raise UsageError("an auditor pin needs at least one Ed25519 public key")
        try:
            namespace = validate_namespace_name(namespace)
        except MalformedError:
            raise UsageError(
                "an auditor pin needs the log's auditor namespace: 1-255 characters of "
                f"[A-Za-z0-9._-], got {namespace!r}"
            ) from None
        if not isinstance(required, bool):
            raise UsageError("AuditorPin.required must be True or False")
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            raise UsageError("AuditorPin.url must be the auditor's http(s) base URL (or None)")
        if (
            isinstance(check_interval, bool)
            or not isinstance(check_interval, int | float)
            or (check_interval < 0)
        ):
            raise UsageError("AuditorPin.check_interval must be a number of seconds, 0 or more")
        object.__setattr__(self, "keys", pinned)
        object.__setattr__(self, "namespace", namespace)
        object.__setattr__(self, "required", required)
        object.__setattr__(self, "url", None if url is None else url.rstrip("/"))
        object.__setattr__(self, "check_interval", float(check_interval))

    def __repr__(self) -> str:  # keys in hex, as operators publish and compare them
        keys = ", ".join(repr(key.hex()) for key in self.keys)
        return (
            f"AuditorPin(keys=({keys},), namespace={self.namespace!r}, required={self.required}, "
            f"url={self.url!r}, check_interval={self.check_interval!r})"
        )


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    """Everything a client requires of an answer, beyond the proofs that are always checked.

    ``trust``: the server's pinned log and VRF keys. ``None`` means trust on first use: the
    client pins what the server's key document says at first contact, then refuses other
    keys (``TrustMismatch``). The pure ``verify_*`` functions have no server to ask and need
    it set (see ``with_trust``).

    ``max_age``: refuse a checkpoint whose signed timestamp is older than this many seconds
    (``StaleHead``); ``None`` turns the freshness check off (e.g. to re-verify recorded
    answers later). By default (``LOG_DECLARED``) it follows the log's declared re-signing
    interval pinned in ``trust`` (``Trust.default_max_age``: a few intervals, one hour for a
    log that declares none): a fixed hour let an old head be replayed for an hour.

    ``auditor``: when set, the auditor countersignature served with a proof is checked as
    ``AuditorPin`` says; when ``None``, countersignatures are ignored.

    ``witnesses``: verifier keys of the witnesses this client trusts, in signed-note form
    ``name+hex id+base64(0x04 || Ed25519 key)``, pinned out of band (a witness key taken from
    the log proves nothing). ``witness_threshold`` (k): a checkpoint with fewer than k valid
    cosignatures by distinct pinned witnesses is refused (``UnwitnessedHead``); a pinned
    witness's cosignature that does not verify is refused too (``SignatureError``). With k
    above 0, freshness (``max_age``) is measured from the k-th newest witness cosignature
    time, not the log's own: the log cannot make an old head look fresh, so even a client
    with no state refuses a replayed or rolled-back head. Right after a new epoch its
    checkpoint may not be cosigned yet: retry after a moment.
    """

    trust: Trust | None = None
    max_age: float | Literal["log-declared"] | None = LOG_DECLARED
    auditor: AuditorPin | None = None
    witnesses: tuple[str, ...] = ()
    witness_threshold: int = 0

    def __post_init__(self) -> None:
        if self.trust is not None and not isinstance(self.trust, Trust):
            raise UsageError("VerificationPolicy.trust must be a Trust (or None)")
        if (
            self.max_age is not None
            and self.max_age != LOG_DECLARED
            and (
                isinstance(self.max_age, bool)
                or not isinstance(self.max_age, int | float)
                or self.max_age <= 0
            )
        ):
            raise UsageError("max_age must be a positive number of seconds (or None: no check)")
        if self.auditor is not None and not isinstance(self.auditor, AuditorPin):
            raise UsageError("VerificationPolicy.auditor must be an AuditorPin (or None)")
        if isinstance(self.witnesses, str) or not all(isinstance(w, str) for w in self.witnesses):
            raise UsageError("VerificationPolicy.witnesses is a sequence of verifier key strings")
        object.__setattr__(self, "witnesses", tuple(w.strip() for w in self.witnesses))
        names: set[str] = set()
        for vkey in self.witnesses:
            try:
                witness = parse_witness_vkey(vkey)
            except MalformedError as exc:
                raise UsageError(f"witness key {vkey[:40]!r}…: {exc}") from None
            if witness.name in names:
                raise UsageError(f"two witness keys named {witness.name!r}")
            names.add(witness.name)
        k = self.witness_threshold
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(self.witnesses):
            raise UsageError(
                f"witness_threshold must be 0..{len(self.witnesses)} (the number of witness "
                f"keys), got {k!r}"
            )

    def with_trust(self, trust: Trust) -> VerificationPolicy:
        """This policy with ``trust`` pinned (the client resolves first-use trust this way)."""
        return self if self.trust == trust else replace(self, trust=trust)

    def max_age_for(self, trust: Trust) -> float | None:
        """The maximum checkpoint age for a log pinned as ``trust`` (None: not checked)."""
        if self.max_age == LOG_DECLARED:
            return trust.default_max_age
        return self.max_age


#: Trust on first use, checkpoints at most a few of the log's re-signing intervals old, no
#: auditor: what a client gets unasked.
DEFAULT_POLICY = VerificationPolicy()

__all__ = ["DEFAULT_POLICY", "LOG_DECLARED", "AuditorPin", "VerificationPolicy"]
