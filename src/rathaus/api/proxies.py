"""The client's address behind reverse proxies (RATHAUS_TRUSTED_PROXIES, none by default).

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the direct peer is a trusted proxy; from
anyone else they are ignored, so a client cannot pick the address its limits are counted for. Every
per-address rule (the chatbot's limits, failed logins, /metrics for this machine) reads the address set
here as `request.client`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """The proxies as networks (a single address is a network of one)."""
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def is_trusted(host: str, trusted: tuple[Network, ...]) -> bool:
    """Whether `host` is one of the trusted proxies (IPv4 also when written as IPv4-mapped IPv6)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return any(address in network or (mapped is not None and mapped in network) for network in trusted)


def forwarded_client(hops: list[str], trusted: tuple[Network, ...]) -> str | None:
    """The client named by a trusted proxy: the last hop not itself a trusted proxy, read from the right
    (each proxy appends the peer it saw; hops further left were written by the client and may be lies)."""
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else None


class TrustedProxies:
    """ASGI middleware: takes the client address and scheme from a trusted proxy's forwarding headers."""

    def __init__(self, app: ASGIApp, proxies: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = networks(proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] not in ("http", "websocket") or not peer or not is_trusted(peer[0], self.trusted):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        hops = [h.strip() for v in headers.getlist("x-forwarded-for") for h in v.split(",") if h.strip()]
        scope = dict(scope)
        client = forwarded_client(hops, self.trusted)
        if client is not None:
            scope["client"] = (client, 0)
        proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            scope["scheme"] = ("wss" if secure else "ws") if scope["type"] == "websocket" else proto
        await self.app(scope, receive, send)
