"""Prometheus metrics in the text exposition format, without a client-library dependency.

Why hand-rolled: the set is small and fixed (epochs, queue depth, publish time, requests),
and a dozen lines of formatting avoid a global registry that tests would have to reset.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

#: Publish-duration histogram buckets in seconds.
PUBLISH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Request-latency histogram buckets in seconds.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def render(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        lines = [
            f'{name}_bucket{{{labels}{sep}le="{bound}"}} {count}'
            for bound, count in zip(self.buckets, self.counts, strict=True)
        ]
        lines.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.total}')
        suffix = f"{{{labels}}}" if labels else ""
        lines.append(f"{name}_sum{suffix} {self.sum}")
        lines.append(f"{name}_count{suffix} {self.total}")
        return lines


class Metrics:
    """Counters and histograms for one server process; ``render()`` gives the scrape body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.epochs_published = 0
        self.updates_published = 0
        self.updates_accepted = 0
        self.uploads_replayed = 0
        self.publish_failures = 0
        self.vrf_proofs_filled = 0
        self.publish_seconds = _Histogram(PUBLISH_BUCKETS)
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.request_seconds: dict[str, _Histogram] = {}
        self.rate_limited = 0
        self.auditor_signatures = 0
        self.auditor_failures = 0
        self.gossip_forks = 0
        #: Gauges read at scrape time (queue depth, current epoch, is-publisher).
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        #: Labelled series rendered at scrape time (per-witness lag and failures).
        self.collectors: list[Callable[[], list[str]]] = []

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (help_text, read)

    def observe_publish(self, seconds: float, updates: int) -> None:
        with self._lock:
            self.epochs_published += 1
            self.updates_published += updates
            self.publish_seconds.observe(seconds)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            hist = self.request_seconds.get(route)
            if hist is None:
                hist = self.request_seconds[route] = _Histogram(REQUEST_BUCKETS)
            hist.observe(seconds)

    def inc(self, field: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + amount)

    def render(self) -> str:
        out: list[str] = []

        def counter(name: str, help_text: str, value: float) -> None:
            out.extend([f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"])

        with self._lock:
            counter("glasskey_epochs_published_total", "Epochs this process published.",
                    self.epochs_published)  # fmt: skip
            counter("glasskey_updates_published_total", "Queued updates drained into epochs.",
                    self.updates_published)  # fmt: skip
            counter("glasskey_updates_accepted_total", "Key updates accepted into the queue.",
                    self.updates_accepted)  # fmt: skip
            counter("glasskey_uploads_replayed_total",
                    "Uploads refused because they repeated an earlier upload's id (409).",
                    self.uploads_replayed)  # fmt: skip
            counter("glasskey_publish_failures_total", "Publish attempts that failed.",
                    self.publish_failures)  # fmt: skip
            counter("glasskey_vrf_proofs_filled_total",
                    "Published versions whose lookup VRF proofs were computed and stored.",
                    self.vrf_proofs_filled)  # fmt: skip
            counter("glasskey_rate_limited_total", "Requests refused by the rate limiter.",
                    self.rate_limited)  # fmt: skip
            counter("glasskey_auditor_signatures_total",
                    "Auditor countersignatures verified and stored.",
                    self.auditor_signatures)  # fmt: skip
            counter("glasskey_auditor_failures_total",
                    "Countersign attempts that failed (auditor down, refused, bad signature).",
                    self.auditor_failures)  # fmt: skip
            counter("glasskey_gossip_forks_total",
                    "Gossiped checkpoints signed by this log's key but not in its tree.",
                    self.gossip_forks)  # fmt: skip
            out.append("# HELP glasskey_publish_seconds Time to publish one epoch.")
            out.append("# TYPE glasskey_publish_seconds histogram")
            out.extend(self.publish_seconds.render("glasskey_publish_seconds"))
            out.append("# HELP glasskey_http_requests_total HTTP requests by route and status.")
            out.append("# TYPE glasskey_http_requests_total counter")
            for (method, route, status), count in sorted(self.requests.items()):
                out.append(
                    f'glasskey_http_requests_total{{method="{method}",route="{route}",'
                    f'status="{status}"}} {count}'
                )
            out.append("# HELP glasskey_http_request_seconds HTTP request latency by route.")
            out.append("# TYPE glasskey_http_request_seconds histogram")
            for route, hist in sorted(self.request_seconds.items()):
                out.extend(hist.render("glasskey_http_request_seconds", f'route="{route}"'))
        for name, (help_text, read) in sorted(self.gauges.items()):
            try:
                value = float(read())
            except Exception:  # a failing gauge must not break the scrape
                continue
            out.extend([f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"])
        for collect in self.collectors:
            try:
                out.extend(collect())
            except Exception:  # a failing collector must not break the scrape
                continue
        return "\n".join(out) + "\n"
