"""Server settings: one frozen dataclass the CLI fills from flags and the environment."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from glasskey.core.errors import ConfigurationError
from glasskey.server._proxies import parse_trusted_proxies
from glasskey.server._user_ids import UserIdPolicy
from glasskey.storage._urls import parse_database_url

DEFAULT_DB_FILE = "glasskey.db"
DEFAULT_ORIGIN = "glasskey.local/log"

#: The default maximum publication delay: this many epoch intervals, but never below
#: ``MIN_DEFAULT_PUBLICATION_DELAY`` seconds (with sub-second intervals an epoch's publish
#: time, not the interval, decides when an upload is in the tree).
PUBLICATION_DELAY_INTERVALS = 5
MIN_DEFAULT_PUBLICATION_DELAY = 5.0
#: A longer declared delay would let a dropped upload go unnoticed for more than a day.
MAX_PUBLICATION_DELAY = 86_400.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything ``create_service`` needs besides the keys.

    ``db_url``: ``sqlite:///PATH`` (default: ``glasskey.db`` in the working folder),
    ``memory://`` (tests) or ``postgresql://...``. ``blob_dir``: where audit blobs go
    (default: ``PATH.audit/`` next to a SQLite file, ``./glasskey-audit`` otherwise).
    """

    db_url: str = f"sqlite:///{DEFAULT_DB_FILE}"
    epoch_interval: float = 5.0
    origin: str = DEFAULT_ORIGIN
    configuration: str = "whatsapp_v1"
    domain_label: bytes | None = None
    blob_dir: str | None = None
    #: Public-endpoint rate limit per client address (requests/second; 0 disables).
    rate_limit: float = 50.0
    rate_burst: float | None = None
    #: Reverse proxies (addresses or CIDR blocks) whose ``X-Forwarded-For`` is believed; the
    #: client is then the right-most address in it that is not one of them. Empty: the TCP
    #: peer is the client, whatever the header says.
    trusted_proxies: tuple[str, ...] = ()
    #: Expensive public reads (audit proofs, key histories, blob listings, the audit log)
    #: running at once per process (0: no limit), and the response bytes per second they may
    #: serve together. Over either: 429 with Retry-After, so lookups keep their latency.
    expensive_concurrency: int = 1
    expensive_bytes_per_second: float = 2 * 1024 * 1024
    #: Largest request body accepted (bytes). A key upload is at most ~88 KB of JSON (a
    #: 64 KiB key in base64), so this leaves room while refusing anything absurd with a 413.
    max_body_bytes: int = 128 * 1024
    #: Key uploads per minute per user (also the burst; 0 disables), and writes (uploads and
    #: registrations) per second per process from everyone together (bursts of twice that).
    user_write_limit: float = 6.0
    write_rate_limit: float = 500.0
    #: Anyone may register an unused user id (first come, first served). Off in production:
    #: there the messaging service's own authenticator or the admin token registers users.
    open_registration: bool = False
    #: Which ids name the same user (``_user_ids.UserIdPolicy``). ``exact`` by default: ids
    #: registered so far keep naming the same users; pick another before the first one.
    user_id_policy: UserIdPolicy = UserIdPolicy.EXACT
    admin_token: str | None = field(default=None, repr=False)
    #: ``module:factory`` of a plug-in ``Authenticator`` (``_auth.load_authenticator``) that
    #: maps the app's own credentials to user ids, built in every worker; None: glasskey's
    #: per-user tokens. Service credentials work in either case.
    authenticator: str | None = None
    #: Re-sign the head checkpoint this often even without new epochs, so that honest idle
    #: logs never look stale to clients (must be well below clients' maximum age).
    checkpoint_refresh: float = 60.0
    max_batch: int = 100_000
    #: Versions per batch when storing lookup VRF proofs between epochs (two proofs each,
    #: ~0.2 ms apiece over the VRF pool): small enough to keep publisher ticks on time.
    vrf_fill_batch: int = 1_000
    #: The log's promise: every accepted upload is in a published epoch within this many
    #: seconds. Declared in the key document; key owners' clients pin it at first contact and
    #: report an upload still missing after it (``update_not_published``). None: the default
    #: (``PUBLICATION_DELAY_INTERVALS`` epoch intervals, at least
    #: ``MIN_DEFAULT_PUBLICATION_DELAY``). Changing it later makes those clients refuse the
    #: log (``trust_mismatch``), like a changed key.
    max_publication_delay: float | None = None
    #: Start the background publisher (False: tests drive ``publish_once`` themselves).
    run_publisher: bool = True
    shutdown_timeout: float = 30.0
    #: Plexi-compatible auditor that countersigns every epoch (None: no auditor).
    auditor_url: str | None = None
    #: The auditor namespace of this log (default: the root-log ``origin``).
    auditor_namespace: str | None = None
    #: Bearer token for the auditor's write API ($GLASSKEY_AUDITOR_TOKEN; never logged).
    auditor_token: str | None = field(default=None, repr=False)
    #: Back-off between failed countersign attempts: doubles from ``base`` up to ``max`` s.
    #: Witnesses (``VKEY@URL``) the log submits every signed checkpoint to (tlog-witness).
    witnesses: tuple[str, ...] = ()
    witness_retry_base: float = 1.0
    witness_retry_max: float = 60.0
    auditor_retry_base: float = 1.0
    auditor_retry_max: float = 60.0

    #: After start-up, move every object allocated so far (modules, app, caches) out of the
    #: garbage collector's sight (``gc.freeze``). A full collection otherwise walks them all:
    #: 30-110 ms pauses measured under load, the whole p99. Set by ``glasskey serve``; off
    #: for in-process use (tests build many apps, whose frozen objects would never be freed).
    freeze_gc: bool = False
    #: Threads for lookup reads from async endpoints; None: 0 (on the event loop) for SQLite
    #: and memory, 2 for PostgreSQL. Measured with PostgreSQL on loopback (2 workers, 2
    #: cores): 0 threads 1,590 lookups/s, 2 threads 1,340/s, 8 threads 1,000/s — but with the
    #: database across a network every round trip would stall the loop, so threads it is.
    read_threads: int | None = None
    #: A read replica (``glasskey serve --read-only``): serves reads from ``db_url`` (a hot
    #: standby), never writes — no migrations, publisher, election or queued uploads — and
    #: answers writes with 503 naming ``writer_url``. Past ``max_replica_lag`` seconds behind
    #: the writer, ``/readyz`` turns unready (what it serves stays valid, only older).
    read_only: bool = False
    writer_url: str | None = None
    max_replica_lag: float = 30.0
    #: Where audit blobs go: a folder (default ``blob_dir``) or ``s3://bucket/prefix`` (an
    #: S3-compatible object store; credentials and endpoint from the usual AWS_* variables).
    audit_store: str | None = None

    def __post_init__(self) -> None:
        parse_trusted_proxies(self.trusted_proxies)  # a bad address fails at start-up
        if self.max_body_bytes < 1:
            raise ConfigurationError("the request body limit must be at least one byte")
        # A negative or zero interval would spin the publisher (or never wake it); NaN and
        # infinity compare false with everything and would slip past a plain ``<= 0``.
        for flag, value in (
            ("--epoch-interval", self.epoch_interval),
            ("--checkpoint-refresh", self.checkpoint_refresh),
            ("--auditor-retry-max", self.auditor_retry_max),
            ("--expensive-bytes", self.expensive_bytes_per_second),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ConfigurationError(f"{flag} must be a number above 0, got {value:g}")
        for flag, value in (
            ("--rate-limit", self.rate_limit),
            ("--user-write-limit", self.user_write_limit),
            ("--write-rate-limit", self.write_rate_limit),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise ConfigurationError(f"{flag} must be 0 (off) or above 0, got {value:g}")
        if not (math.isfinite(self.max_replica_lag) and self.max_replica_lag > 0):
            raise ConfigurationError("--max-replica-lag must be a positive number of seconds")
        if self.writer_url is not None and not self.writer_url.startswith(("http://", "https://")):
            raise ConfigurationError("--writer-url must be an http:// or https:// URL")
        delay = self.max_publication_delay
        if delay is None:
            return
        lowest = 2 * self.epoch_interval
        if not (math.isfinite(delay) and lowest <= delay <= MAX_PUBLICATION_DELAY):
            raise ConfigurationError(
                f"--max-publication-delay must be at least two epoch intervals ({lowest:g} s), "
                f"so that an honest publisher meets it, and at most {MAX_PUBLICATION_DELAY:g} s; "
                f"got {delay:g}"
            )

    def resolved_max_publication_delay(self) -> float:
        """The declared maximum publication delay in seconds (configured or default)."""
        if self.max_publication_delay is not None:
            return self.max_publication_delay
        return max(PUBLICATION_DELAY_INTERVALS * self.epoch_interval, MIN_DEFAULT_PUBLICATION_DELAY)

    def resolved_read_threads(self) -> int:
        if self.read_threads is not None:
            return max(0, self.read_threads)
        return 2 if parse_database_url(self.db_url).is_postgres else 0

    def resolved_auditor_namespace(self) -> str:
        """The configured namespace, else the origin made a valid Plexi name.

        Plexi namespace names appear unescaped in URL paths, so only ``[A-Za-z0-9._-]`` is
        allowed: ``glasskey.local/log`` becomes ``glasskey.local-log``.
        """
        if self.auditor_namespace:
            return self.auditor_namespace
        return re.sub(r"[^A-Za-z0-9._-]", "-", self.origin)[:255] or "glasskey"

    def resolved_blob_dir(self) -> str:
        if self.blob_dir:
            return self.blob_dir
        path = parse_database_url(self.db_url).path
        return str(Path(path).with_suffix(".audit")) if path is not None else "glasskey-audit"
