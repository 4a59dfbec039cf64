"""glasskey's Plexi-compatible third-party auditor: service, proofs, storage and client.

* :class:`AuditorClient` — what a log (glasskey's directory service) calls to get each epoch
  countersigned: ``AuditorClient(base_url, token).publish(namespace, epoch, digest)``.
* :class:`Auditor` (``service``) — the publication rules and signing, independent of HTTP.
* ``app.create_app`` — the Plexi HTTP API; ``proofs.ProofGate`` — each epoch's audit proof,
  verified before the epoch is signed; ``sources`` — where proofs are fetched from;
  ``store.open_auditor_store`` — SQLite or PostgreSQL.

Signature verification for clients is pure and lives in :mod:`glasskey.core.plexi`.
"""

from glasskey.auditor._client import AuditorClient
from glasskey.auditor._service import Auditor, Identity, Keyring

__all__ = ["Auditor", "AuditorClient", "Identity", "Keyring"]
