"""Contact monitoring (IETF KEYTRANS "Monitor" for other people's labels).

A client that accepted a contact's key at (version v, epoch e) keeps watching that label:
every successful ``lookup`` watches it (``watch=False`` opts out), and
``monitor_contacts`` re-verifies each watched label with one complete history proof — one
request per label per check, however long ago the last check was. Against what this client
verified before (the ``observations`` of the client state) it reports:

* ``contact_key_changed``: a version newer than any verified before (the safety-number
  change the app shows; reported once, as the new versions are then observed);
* ``contact_history_inconsistent``: a version verified before is missing from the proven
  history or holds another key there, or the server no longer proves the history at all
  (a 404, a proof that does not verify or is for another label): the server showed this
  client a key it does not show the world.

The watched set and the log size each label was last checked at live in the client state
(table ``contacts``, beside the observations), so monitoring continues across runs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from glasskey.client._alerts import (
    Alert,
    ContactHistoryInconsistent,
    ContactKeyChanged,
    KeyChanged,
    WrongLabel,
)
from glasskey.client._state import ClientState
from glasskey.core.akd.types import VerifyResult
from glasskey.core.errors import HistoryProofError, MalformedError, NotFound, VerificationError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS contacts (origin TEXT NOT NULL, label TEXT NOT NULL, "
    "watched INTEGER NOT NULL, checked_size INTEGER, checked_at REAL, "
    "PRIMARY KEY (origin, label))"
)


@dataclass(frozen=True, slots=True)
class Contact:
    """A watched label and when it was last re-verified (log size, time; None: never)."""

    label: str
    checked_size: int | None
    checked_at: float | None


@dataclass(frozen=True, slots=True)
class ContactReport:
    """One ``monitor_contacts`` pass: the labels checked and every alert found."""

    checked: tuple[str, ...]
    alerts: tuple[Alert, ...]

    @property
    def ok(self) -> bool:
        return not self.alerts


class ContactList:
    """The watched set, stored in the client state's SQLite file (its own table).

    Every label this state verified a key of (its ``observations``) is watched unless a row
    here says ``watched = 0`` (an opt-out); a row with ``watched = 1`` watches a label with no
    observation yet. So the usual case — a lookup of a contact — costs no write beyond the
    observation the client stores anyway (each write is an fsync on a phone).
    """

    def __init__(self, state: ClientState) -> None:
        self._conn = state._conn
        self._lock: threading.Lock = state._lock
        with self._lock:
            self._conn.execute(_SCHEMA)

    def _row(self, origin: str, label: str) -> tuple[int] | None:
        row = self._conn.execute(
            "SELECT watched FROM contacts WHERE origin = ? AND label = ?", (origin, label)
        ).fetchone()
        return None if row is None else (int(row[0]),)

    def watch(self, origin: str, label: str) -> None:
        """Watch ``label`` (again); keeps its last check. Writes only if it changes."""
        with self._lock:
            row = self._row(origin, label)
            if row is not None:
                if row[0] == 0:
                    self._conn.execute(
                        "UPDATE contacts SET watched = 1 WHERE origin = ? AND label = ?",
                        (origin, label),
                    )
                return
            observed = self._conn.execute(
                "SELECT 1 FROM observations WHERE origin = ? AND label = ? LIMIT 1",
                (origin, label),
            ).fetchone()
            if observed is None:
                self._conn.execute(
                    "INSERT INTO contacts (origin, label, watched) VALUES (?, ?, 1)",
                    (origin, label),
                )

    def unwatch(self, origin: str, label: str) -> None:
        """Stop watching ``label`` (``watch`` or a later watching lookup undoes it)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO contacts (origin, label, watched) VALUES (?, ?, 0) "
                "ON CONFLICT (origin, label) DO UPDATE SET watched = 0",
                (origin, label),
            )

    def watched(self, origin: str) -> list[Contact]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT l.label, c.checked_size, c.checked_at FROM "
                "(SELECT label FROM observations WHERE origin = ?1 "
                " UNION SELECT label FROM contacts WHERE origin = ?1) AS l "
                "LEFT JOIN contacts AS c ON c.origin = ?1 AND c.label = l.label "
                "WHERE coalesce(c.watched, 1) = 1 ORDER BY l.label",
                (origin,),
            ).fetchall()
        return [Contact(r[0], r[1], r[2]) for r in rows]

    def checked(self, origin: str, label: str, size: int) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO contacts (origin, label, watched, checked_size, checked_at) "
                "VALUES (?, ?, 1, ?, ?) ON CONFLICT (origin, label) DO UPDATE SET "
                "checked_size = excluded.checked_size, checked_at = excluded.checked_at",
                (origin, label, size, time.time()),
            )


#: Failures of a watched label's history that mean "the server no longer proves what it
#: showed": reported as ``contact_history_inconsistent`` with the cause in the message.
HIDING_ERRORS = (KeyChanged, HistoryProofError, WrongLabel, MalformedError, NotFound)


def history_alerts(
    label: str,
    seen: list[tuple[int, int, bytes]],
    versions: tuple[VerifyResult, ...],
    digest_of: dict[int, bytes],
) -> list[Alert]:
    """Alerts for a verified complete history of ``label`` against what was ``seen`` before
    (version, epoch, value digest) — ``digest_of`` maps each proven version to its digest."""
    alerts: list[Alert] = []
    for version, epoch, digest in seen:
        proven = digest_of.get(version)
        if proven is None:
            err = ContactHistoryInconsistent(
                f"version {version} of {label!r} (verified in epoch {epoch}) is missing from "
                "its proven history"
            )
            alerts.append(Alert.from_error(err, label, version))
        elif proven != digest:
            err = ContactHistoryInconsistent(
                f"version {version} of {label!r} holds another key than the one verified earlier"
            )
            alerts.append(Alert.from_error(err, label, version))
    newest_seen = max((v for v, _, _ in seen), default=0)
    for result in sorted(versions, key=lambda r: r.version):
        if result.version > newest_seen:
            changed = ContactKeyChanged(
                f"{label!r} published key version {result.version} in epoch {result.epoch} "
                f"(last verified: version {newest_seen}): verify the new safety number"
            )
            alerts.append(Alert(changed.code, str(changed), label, result.version, result.epoch))
    return alerts


def failure_alert(label: str, exc: VerificationError | NotFound) -> Alert:
    """The alert for a watched label whose history could not be verified."""
    if isinstance(exc, HIDING_ERRORS):
        err = ContactHistoryInconsistent(
            f"the server no longer proves the history of {label!r}, which this client "
            f"verified before ({exc.code}: {exc})"
        )
        return Alert.from_error(err, label)
    assert isinstance(exc, VerificationError)
    return Alert.from_error(exc, label)
