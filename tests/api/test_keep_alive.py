"""An idle connection stays open longer than clients keep theirs: a request sent on a connection the server
is just closing would be lost (Uvicorn's default of 5 seconds equals httpx's)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

from rathaus.services import Services
from rathaus.settings import Settings
from tests.api.test_trusted_proxies import served


def _response(sock: socket.socket) -> bytes:
    """One HTTP response read from the socket (headers and a body of Content-Length); b"" when closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next((int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length")), 0)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head


def test_a_connection_idle_for_longer_than_a_clients_pool_keeps_it_is_still_served(
    settings: Settings, services: Services
) -> None:
    with served(settings, services) as url:
        address = urlparse(url)
        request = f"GET /healthz HTTP/1.1\r\nHost: {address.netloc}\r\n\r\n".encode()
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            sock.sendall(request)
            first = _response(sock)
            time.sleep(6)  # past httpx's keep-alive of 5 seconds
            sock.sendall(request)
            again = _response(sock)
    assert first.startswith(b"HTTP/1.1 200")
    assert again.startswith(b"HTTP/1.1 200")  # the same connection, not closed meanwhile
