"""`X-Forwarded-For` is believed only from RATHAUS_TRUSTED_PROXIES (none by default): from anyone else a
client cannot choose the address its limits are counted for. Served by Uvicorn as `rathaus serve` runs it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from rathaus.api.proxies import forwarded_client, networks
from rathaus.app import create_app, uvicorn_options
from rathaus.identity.throttle import MAX_PER_CLIENT
from rathaus.services import Services
from rathaus.settings import Settings, load_settings
from tests.conftest import PASSWORD, TenantFixture
from tests.servers import serve_in_thread

THROTTLED = "198.51.100.7"  # an address that has used up its failed logins


@contextmanager
def served(settings: Settings, services: Services) -> Iterator[str]:
    """The app under Uvicorn with the options of `rathaus serve`, on loopback."""
    with serve_in_thread(create_app(settings, services), **uvicorn_options(settings)) as url:
        yield url


def use_up_failed_logins(services: Services, address: str) -> None:
    for attempt in range(MAX_PER_CLIENT):
        services.login_throttle.failed(f"raten{attempt}@example.org", address)


def login(url: str, email: str, password: str, forwarded: dict[str, str]) -> httpx.Response:
    body = {"email": email, "password": password}
    return httpx.post(f"{url}/api/auth/login", json=body, headers=forwarded, timeout=30)


def test_without_trusted_proxies_the_header_is_ignored(
    settings: Settings, services: Services, jena: TenantFixture
) -> None:
    assert settings.trusted_proxies == []
    with served(settings, services) as url:
        plain = login(url, jena.staff_email, PASSWORD, {"X-Forwarded-Proto": "https"})
        assert plain.status_code == 200 and "secure" not in plain.headers["set-cookie"].lower()
        use_up_failed_logins(services, "127.0.0.1")  # the direct peer
        for claimed in ("203.0.113.1", "203.0.113.2, 203.0.113.3"):
            refused = login(url, jena.staff_email, "falsch-falsch", {"X-Forwarded-For": claimed})
            assert refused.status_code == 429, claimed  # a made-up address gives no fresh attempts


def test_a_trusted_proxy_names_the_client(
    settings: Settings, services: Services, jena: TenantFixture
) -> None:
    settings.trusted_proxies = ["127.0.0.0/8"]
    use_up_failed_logins(services, THROTTLED)
    with served(settings, services) as url:
        assert login(url, jena.staff_email, "falsch", {"X-Forwarded-For": THROTTLED}).status_code == 429
        # the client wrote the left part itself; the proxy appended the address it saw
        lied = login(url, jena.staff_email, "falsch", {"X-Forwarded-For": f"10.9.9.9, {THROTTLED}"})
        assert lied.status_code == 429
        other = login(url, jena.staff_email, "falsch", {"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 401
        https = {"X-Forwarded-For": "198.51.100.8", "X-Forwarded-Proto": "https"}
        ok = login(url, jena.staff_email, PASSWORD, https)
        assert ok.status_code == 200 and "secure" in ok.headers["set-cookie"].lower()


def test_the_client_is_the_last_address_no_trusted_proxy_wrote() -> None:
    trusted = networks(["10.0.0.0/8", "2001:db8::1"])
    assert forwarded_client(["203.0.113.5"], trusted) == "203.0.113.5"
    assert forwarded_client(["1.2.3.4", "203.0.113.5", "10.1.1.1"], trusted) == "203.0.113.5"
    assert forwarded_client(["10.2.2.2", "2001:db8::1"], trusted) == "10.2.2.2"  # only proxies: the first
    assert forwarded_client([], trusted) is None


def test_the_setting_takes_addresses_and_networks() -> None:
    assert load_settings(trusted_proxies="127.0.0.1, 10.0.0.0/8,::1").trusted_proxies == [
        "127.0.0.1",
        "10.0.0.0/8",
        "::1",
    ]
    with pytest.raises(ValueError, match="RATHAUS_TRUSTED_PROXIES"):
        load_settings(trusted_proxies="proxy.stadt.example")
