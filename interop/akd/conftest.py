"""Shows which published akd the interop harness is built against (``GLASSKEY_AKD_VERSION``)."""

from __future__ import annotations

from interop.akd import harness


def pytest_report_header() -> str:
    return f"akd interop: akd {harness.AKD_VERSION} ({harness.BINARY})"
