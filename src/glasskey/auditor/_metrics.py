"""The auditor's Prometheus metrics (text exposition format, no client library).

Why its own small module rather than the log server's: the auditor sits below the server in
the layers (the server uses the auditor's client), so it cannot import the server's metrics;
and what an auditor operator watches is different — epochs signed, publish requests refused
and why, evidence found, and how long a namespace has been waiting for a proof.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable


class AuditorMetrics:
    """Counters by label set plus gauges read at scrape time; ``render()`` is the body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[str, dict[tuple[tuple[str, str], ...], float]]] = {}
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def counter(self, name: str, help_text: str) -> None:
        """Declare a counter, so it is scraped (as 0) before it first counts."""
        with self._lock:
            self._counters.setdefault(name, (help_text, defaultdict(float)))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            _, values = self._counters.setdefault(name, ("", defaultdict(float)))
            values[tuple(sorted(labels.items()))] += amount

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._gauges[name] = (help_text, read)

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            for name, (help_text, values) in sorted(self._counters.items()):
                out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                if not values:
                    out.append(f"{name} 0")
                for labels, value in sorted(values.items()):
                    text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    out.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")
        for name, (help_text, read) in sorted(self._gauges.items()):
            try:
                value = float(read())
            except Exception:  # a failing gauge (database down) must not break the scrape
                continue
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


__all__ = ["AuditorMetrics"]
