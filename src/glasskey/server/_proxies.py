"""Which address a request comes from when reverse proxies stand in front of the server.

``X-Forwarded-For`` is whatever the client wrote, followed by what each proxy appended: only
entries appended by proxies the operator trusts are facts. So the header is believed only
when the TCP peer is a trusted proxy, and then the client is the right-most entry that is not
itself a trusted proxy — anything left of it the client may have invented to get a fresh
rate-limit bucket per request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from glasskey.core.errors import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(values: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values (addresses or CIDR blocks) as networks; bad ones refused."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"--trusted-proxy {value!r} is not an IP address or CIDR block"
            ) from None
    return tuple(networks)


class ClientAddresses:
    """``client(peer, forwarded_for)`` → the address to rate-limit a request by."""

    def __init__(self, trusted: Sequence[str]) -> None:
        self._trusted = parse_trusted_proxies(trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def client(self, peer: str, forwarded_for: Sequence[str]) -> str:
        """The TCP ``peer``, unless it is a trusted proxy: then the right-most untrusted
        address of the ``X-Forwarded-For`` header values (in order received)."""
        if not self._trusted or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed([h for h in hops if h]):
            if not self._is_trusted(hop):
                return hop
        return peer
