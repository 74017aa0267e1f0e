"""Pure-ASGI guard: the client's address and scheme, believed from X-Forwarded-For and
X-Forwarded-Proto only when the connection comes from a trusted proxy
(``TICKETBOOK_FORWARDED_ALLOW_IPS``).

It replaces uvicorn's ProxyHeadersMiddleware (``ticketbook serve`` turns that off), which
took any text in X-Forwarded-For as the client's address: 3 KB of it reached the rate
limiter's index and answered 500. Here:

- X-Forwarded-For is read from the right: each proxy appends the address it got the request
  from, so the client is the first address, from the right, that is not a trusted proxy.
  What a client writes further left is never looked at, however long.
- That address must be an IP address (IPv4, IPv6, optionally ``[v6]:port`` or ``v4:port``);
  it becomes ``scope["client"]`` in its canonical form. If it is anything else, or only
  trusted proxies are found in the last ``MAX_HOPS`` entries, the header is ignored: the
  request is answered as coming from the proxy itself, never with an error.
- ``*`` trusts any peer as a proxy, but only one hop: the rightmost entry is the client (what
  the proxy appended), not the leftmost, which the client may have written itself.
- X-Forwarded-Proto counts only from a trusted proxy, and only as ``http`` or ``https``.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Proxies in a row we follow back (a CDN, a load balancer, a local nginx: three). Beyond that
# the header is ignored rather than parsed on.
MAX_HOPS = 8
# No valid entry is longer ("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" is 53).
MAX_ENTRY_CHARS = 64
SCHEMES = frozenset({"http", "https"})


def parse_address(text: str) -> tuple[IPAddress, int] | None:
    """An X-Forwarded-For entry (``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]:80``) as
    (address, port, 0 when none); None unless it is one of these."""
    text = text.strip()
    if not text or len(text) > MAX_ENTRY_CHARS or "%" in text:  # no IPv6 zone ids
        return None
    port_text = ""
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            return None
        port_text, version = rest[1:], 6
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        version = 4
    else:
        host, version = text, 0
    port = 0
    if port_text or (version in (4, 6) and text.endswith(":")):
        if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
            return None
        port = int(port_text)
    # "[1.2.3.4]" and "::1:80" are not addresses, whatever they would parse as.
    if version and (":" in host) != (version == 6):
        return None
    address = ip(host)
    return None if address is None else (address, port)


# Remembered: every request asks about its peer's address (nearly always the same few
# proxies), and parsing one costs more than the rest of this layer. Addresses are immutable.
@functools.lru_cache(maxsize=4096)
def ip(text: str) -> IPAddress | None:
    """An IP address, an IPv4-mapped IPv6 one as the IPv4 it is; None for anything else."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies whose forwarding headers are believed."""

    any_peer: bool
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """Comma-separated addresses and networks (``10.0.0.0/8``), ``*`` for any peer (one
        hop), or ``none``; ValueError names the first entry that is none of these."""
        any_peer = False
        networks: list[IPNetwork] = []
        entries = [e.strip() for e in text.split(",") if e.strip()]
        if [e.lower() for e in entries] == ["none"]:
            return cls(False, ())
        for entry in entries:
            if entry == "*":
                any_peer = True
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    "must be comma-separated IP addresses or networks, `*` or `none`, "
                    f"got {entry!r}"
                ) from None
        return cls(any_peer, tuple(networks))

    def __contains__(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def trusts_peer(self, host: str | None) -> bool:
        if self.any_peer:
            return True
        address = ip(host) if host else None
        return address is not None and address in self

    def client_in(self, forwarded_for: str) -> tuple[str, int] | None:
        """The client X-Forwarded-For names, seen from a trusted peer; None to ignore it."""
        entries = forwarded_for.rsplit(",", MAX_HOPS)
        checked = entries[-MAX_HOPS:]
        found = None
        for entry in reversed(checked):
            found = parse_address(entry)
            if found is None:
                return None
            if self.any_peer or found[0] not in self:
                return str(found[0]), found[1]
        if len(entries) > len(checked) or found is None:
            return None
        # Every hop is a trusted proxy: the request started at the leftmost of them.
        return str(found[0]), found[1]


class ForwardedHeaders:
    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            peer = scope.get("client")
            if self.trusted.trusts_peer(peer[0] if peer else None):
                self._apply(scope)
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope) -> None:
        proto: bytes | None = None
        forwarded_for: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name == b"x-forwarded-proto":
                proto = value
        if proto is not None:
            scheme = proto.decode("latin-1").strip().lower()
            if scheme in SCHEMES:
                scope["scheme"] = scheme
        if forwarded_for:
            client = self.trusted.client_in(b",".join(forwarded_for).decode("latin-1"))
            if client is None:
                log.debug("ignored a malformed X-Forwarded-For from %s", scope.get("client"))
            else:
                scope["client"] = client
