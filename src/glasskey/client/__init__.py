"""The verifying client: lookups, history and monitoring that refuse unproven keys.

>>> with GlasskeyClient("http://127.0.0.1:8080", state="glasskey-client.db") as client:
...     key = client.lookup("alice")          # raises a VerificationError unless proven

What "proven" requires beyond the proofs is one ``VerificationPolicy`` (pinned keys, maximum
checkpoint age, an ``AuditorPin``), given to either client or to ``verify_bundle``.
"""

from glasskey.client._absence import UserNotFound, VerifiedAbsence
from glasskey.client._admin import AdminClient
from glasskey.client._alerts import (
    Alert,
    AuditorSignatureInvalid,
    AuditorSignatureMissing,
    ContactHistoryInconsistent,
    ContactKeyChanged,
    ForkDetected,
    GossipUnverified,
    InvalidGossip,
    KeyChanged,
    RollbackDetected,
    StaleHead,
    TrustMismatch,
    UnexpectedKeyVersion,
    UnprovenAbsence,
    UnwitnessedHead,
    UpdateNotPublished,
    VrfKeyMismatch,
    WrongLabel,
)
from glasskey.client._client import (
    AsyncGlasskeyClient,
    ContactReport,
    GlasskeyClient,
    MonitorReport,
    NetworkError,
    NotFound,
    ServerError,
    UploadReceipt,
    WrongServer,
)
from glasskey.client._devices import DeviceChange, bundle_of, device_history, devices_of
from glasskey.client._gossip import GossipFork, GossipResult
from glasskey.client._policy import LOG_DECLARED, AuditorPin, VerificationPolicy
from glasskey.client._state import ClientState, Head, OwnUpload, Trust
from glasskey.client._verify import VerifiedHistory, VerifiedKey
from glasskey.core.errors import VerificationError

__all__ = [
    "LOG_DECLARED",
    "AdminClient",
    "Alert",
    "AsyncGlasskeyClient",
    "AuditorPin",
    "AuditorSignatureInvalid",
    "AuditorSignatureMissing",
    "ClientState",
    "ContactHistoryInconsistent",
    "ContactKeyChanged",
    "ContactReport",
    "DeviceChange",
    "ForkDetected",
    "GlasskeyClient",
    "GossipFork",
    "GossipResult",
    "GossipUnverified",
    "Head",
    "InvalidGossip",
    "KeyChanged",
    "MonitorReport",
    "NetworkError",
    "NotFound",
    "OwnUpload",
    "RollbackDetected",
    "ServerError",
    "StaleHead",
    "Trust",
    "TrustMismatch",
    "UnexpectedKeyVersion",
    "UnprovenAbsence",
    "UnwitnessedHead",
    "UpdateNotPublished",
    "UploadReceipt",
    "UserNotFound",
    "VerificationError",
    "VerificationPolicy",
    "VerifiedAbsence",
    "VerifiedHistory",
    "VerifiedKey",
    "VrfKeyMismatch",
    "WrongLabel",
    "WrongServer",
    "bundle_of",
    "device_history",
    "devices_of",
]
