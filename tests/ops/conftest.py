"""The real-process fixtures of the attack tests, for the operations tests."""

from tests.security.conftest import auditor_server, log_server, processes

__all__ = ["auditor_server", "log_server", "processes"]
