"""mDNS announcements, seen by a real zeroconf browser; everything is bound to 127.0.0.1 only.

No packet may leave for another address: the announcer and every browser bind to 127.0.0.1
(multicast goes out on lo), and the second address set (127.0.0.2) is only announced, never bound.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from zeroconf import AddressResolver, DNSAddress, ServiceListener, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from gateway import mdns
from gateway.keys import ANNOUNCER, HOSTNAME, SETTINGS, SHOP_NAME
from gateway.mdns import SERVICE_TYPES, Announcer, instance_name, mdns_context, package_version
from gateway.settings import GatewaySettings

LOOPBACK = ["127.0.0.1"]
ONE, TWO = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("127.0.0.2")
PORT = 8443


class Events(ServiceListener):
    """What a browser heard, as (event, service type, instance name)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.seen.append(("added", type_, name))

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.seen.append(("updated", type_, name))

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.seen.append(("removed", type_, name))

    def names(self, event: str) -> set[str]:
        return {name for kind, _, name in self.seen if kind == event}


async def eventually(check: Callable[[], Awaitable[Any]], expected: Any, timeout: float = 15.0) -> None:
    """Poll `check` until it returns `expected`, or fail with what it returned last."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (got := await check()) != expected:
        if loop.time() > deadline:
            raise AssertionError(f"after {timeout}s: {got!r} != {expected!r}")
        await asyncio.sleep(0.05)


async def fresh_lookup(hostname: str) -> list[str]:
    """Resolve `<hostname>.local` with a new zeroconf (empty cache): an A query on the wire."""
    zc = AsyncZeroconf(interfaces=LOOPBACK)
    try:
        resolver = AddressResolver(f"{hostname}.local.")
        return sorted(resolver.parsed_addresses()) if await resolver.async_request(zc.zeroconf, 1500) else []
    finally:
        await zc.async_close()


@pytest.fixture
def names() -> tuple[str, str]:
    """A host and shop name of this test alone (other tests may announce on lo at the same time)."""
    tag = uuid.uuid4().hex[:8]
    return f"posline-test-{tag}", f"Madina Store {tag}"


@pytest.fixture
async def announcer() -> AsyncIterator[Announcer]:
    announcer = Announcer("127.0.0.1")
    yield announcer
    await announcer.close()


@pytest.fixture
async def browser() -> AsyncIterator[tuple[AsyncZeroconf, Events]]:
    zc = AsyncZeroconf(interfaces=LOOPBACK)
    events = Events()
    browser = AsyncServiceBrowser(zc.zeroconf, list(SERVICE_TYPES), listener=events)
    yield zc, events
    await browser.async_cancel()
    await zc.async_close()


async def test_announces_both_services_and_the_host_name(announcer: Announcer, browser: Any, names: Any) -> None:
    zc, events = browser
    hostname, shop = names
    await announcer.start(hostname, PORT, shop, [ONE])
    wanted = {f"{shop}.{kind}" for kind in SERVICE_TYPES}
    await eventually(lambda: asyncio.sleep(0, events.names("added") & wanted), wanted)

    for kind in SERVICE_TYPES:
        info = AsyncServiceInfo(kind, f"{shop}.{kind}")
        assert await info.async_request(zc.zeroconf, 3000), kind
        assert info.port == PORT
        assert info.server == f"{hostname}.local."
        assert info.parsed_addresses() == ["127.0.0.1"]
        assert info.decoded_properties == {"shop": shop, "version": package_version(), "path": "/"}
    assert await fresh_lookup(hostname) == ["127.0.0.1"]


async def test_update_addresses_reannounces_only_on_change(announcer: Announcer, names: Any) -> None:
    hostname, shop = names
    # A listener that never asks: it only learns what the announcer sends unprompted.
    passive = AsyncZeroconf(interfaces=LOOPBACK)

    async def heard() -> set[str]:
        records = passive.zeroconf.cache.async_entries_with_name(f"{hostname}.local.")
        return {str(ipaddress.ip_address(r.address)) for r in records if isinstance(r, DNSAddress)}

    try:
        await announcer.start(hostname, PORT, shop, [ONE])
        await eventually(heard, {"127.0.0.1"})

        assert await announcer.update_addresses([ONE]) is False
        assert await announcer.update_addresses([TWO, ONE]) is True
        assert announcer.addresses == [TWO, ONE]
        await eventually(heard, {"127.0.0.1", "127.0.0.2"})   # announced, not merely answered
    finally:
        await passive.async_close()
    await eventually(lambda: fresh_lookup(hostname), ["127.0.0.1", "127.0.0.2"])

    assert await announcer.update_addresses([TWO]) is True
    await eventually(lambda: fresh_lookup(hostname), ["127.0.0.2"])


async def test_close_says_goodbye(announcer: Announcer, browser: Any, names: Any) -> None:
    _, events = browser
    hostname, shop = names
    await announcer.start(hostname, PORT, shop, [ONE])
    wanted = {f"{shop}.{kind}" for kind in SERVICE_TYPES}
    await eventually(lambda: asyncio.sleep(0, events.names("added") & wanted), wanted)
    assert await fresh_lookup(hostname) == ["127.0.0.1"]

    await announcer.close()
    await eventually(lambda: asyncio.sleep(0, events.names("removed") & wanted), wanted)
    assert await fresh_lookup(hostname) == []
    assert await announcer.update_addresses([TWO]) is False   # closed: nothing to re-announce


def test_instance_name_is_a_clean_label_of_at_most_63_bytes() -> None:
    assert instance_name("Madina  Store.\n", "posline") == "Madina Store"
    assert instance_name(" .. ", "posline") == "posline"
    urdu = instance_name("مدینہ جنرل اسٹور " * 5, "posline")
    assert len(urdu.encode()) <= 63 and urdu.startswith("مدینہ جنرل") and urdu == urdu.strip()


def app_for(tmp_path: Path, names: tuple[str, str], **overrides: Any) -> web.Application:
    app = web.Application()
    app[SETTINGS] = GatewaySettings(state_dir=tmp_path, port=PORT, interfaces="127.0.0.1", **overrides)
    app[HOSTNAME], app[SHOP_NAME] = names
    return app


async def test_context_announces_watches_addresses_and_says_goodbye(tmp_path: Path, names: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_for(tmp_path, names, address_check_s=0.05)
    context = mdns_context(app)
    await context.__anext__()
    try:
        assert await fresh_lookup(names[0]) == ["127.0.0.1"]
        # The LAN changes under the box: the watcher re-announces within a few checks.
        monkeypatch.setattr(mdns, "lan_addresses", lambda interfaces: [ONE, TWO])
        await eventually(lambda: fresh_lookup(names[0]), ["127.0.0.1", "127.0.0.2"])
    finally:
        with pytest.raises(StopAsyncIteration):
            await context.__anext__()
    assert await fresh_lookup(names[0]) == []


async def test_context_does_nothing_when_mdns_is_off(tmp_path: Path, names: Any) -> None:
    app = app_for(tmp_path, names, mdns=False)
    context = mdns_context(app)
    await context.__anext__()
    assert ANNOUNCER not in app
    with pytest.raises(StopAsyncIteration):
        await context.__anext__()


async def test_context_survives_a_network_without_multicast(tmp_path: Path, names: Any, caplog: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def no_multicast(**kwargs: Any) -> AsyncZeroconf:
        raise OSError(19, "No such device")

    monkeypatch.setattr(mdns, "AsyncZeroconf", no_multicast)
    app = app_for(tmp_path, names)
    context = mdns_context(app)
    with caplog.at_level(logging.WARNING, logger="gateway.mdns"):
        await context.__anext__()   # the box goes on serving
    assert ANNOUNCER not in app
    assert "No such device" in caplog.text
    with pytest.raises(StopAsyncIteration):
        await context.__anext__()


V6 = ipaddress.ip_address("fe80::1")   # only ever a value here: never bound, never on the wire


@pytest.mark.parametrize("host,announced", [
    ("0.0.0.0", ["127.0.0.1"]), ("127.0.0.1", ["127.0.0.1"]), ("192.168.1.5", ["127.0.0.1"]),
    ("::", ["127.0.0.1", "fe80::1"]), ("fe80::2", ["127.0.0.1", "fe80::1"]),
])
def test_aaaa_records_only_when_the_box_listens_on_ipv6(tmp_path: Path, host: str, announced: list[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mdns, "lan_addresses", lambda interfaces: [ONE, V6])
    settings = GatewaySettings(state_dir=tmp_path, host=host, interfaces="127.0.0.1")
    assert [str(a) for a in mdns.served_addresses(settings)] == announced


async def test_the_context_announces_no_ipv6_address_for_an_ipv4_socket(tmp_path: Path, names: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # ::1 rather than a LAN address so the AAAA record, if announced, stays on this machine.
    monkeypatch.setattr(mdns, "lan_addresses", lambda interfaces: [ONE, ipaddress.ip_address("::1")])
    app = app_for(tmp_path, names, host="0.0.0.0")
    context = mdns_context(app)
    await context.__anext__()
    try:
        assert app[ANNOUNCER].addresses == [ONE]
        assert await fresh_lookup(names[0]) == ["127.0.0.1"]
    finally:
        with pytest.raises(StopAsyncIteration):
            await context.__anext__()
