"""mDNS: how tablets find the box as https://posline.local/ with nothing typed but the name.

Announced (zeroconf, multicast DNS on the interfaces of `settings.interfaces`):
- `<hostname>.local` A records for the box's LAN addresses (the name its certificate carries), and
  AAAA records only when the HTTPS socket listens on IPv6 (`--host ::`), since a tablet given an
  address the box does not answer on may try that one first;
- two services on the HTTPS port, each with TXT `shop`, `version` and `path=/`:
  `_posline._tcp` (a till looking for its gateway) and `_https._tcp` (a browser or an
  installer's phone listing web servers on the LAN).
The instance name is the shop's name, so a shop with two boxes sees "Madina" and "Madina (2)".
Addresses are re-announced when they change (DHCP renews, a cable moves to another switch).
Nothing here may stop the box serving: without multicast the tills still reach its address.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from typing import AsyncIterator, Iterable

from aiohttp import web
from zeroconf import Error as ZeroconfError
from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from .network import IPAddress, lan_addresses
from .settings import GatewaySettings

log = logging.getLogger(__name__)

SERVICE_TYPES = ("_posline._tcp.local.", "_https._tcp.local.")


class AnnounceError(Exception):
    """mDNS could not be started or updated (no multicast, port taken, a bad name)."""


def package_version() -> str:
    """The installed `posline` version, or "dev" in a source tree that was never installed."""
    try:
        return version("posline")
    except PackageNotFoundError:
        return "dev"


def instance_name(shop_name: str, hostname: str) -> str:
    """A DNS-SD instance name: the shop's name without dots or control characters, at most 63 bytes."""
    name = " ".join(re.sub(r"[\x00-\x1f\x7f.]", " ", shop_name).split()) or hostname
    while len(name.encode()) > 63:
        name = name[:-1]
    return name.rstrip()


def announceable(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    """The addresses to announce: loopback only when there is nothing else (tests, a laptop)."""
    addresses = list(addresses)   # a tablet told "posline.local is 127.0.0.1" would talk to itself
    return [a for a in addresses if not a.is_loopback] or addresses


def listened_versions(host: str) -> frozenset[int]:
    """IP versions a socket bound to `host` answers: 4 for an IPv4 address ("0.0.0.0"); else ("::", a name) both."""
    try:
        return frozenset({4}) if ipaddress.ip_address(host).version == 4 else frozenset({4, 6})
    except ValueError:
        return frozenset({4, 6})


def served_addresses(settings: GatewaySettings) -> list[IPAddress]:
    """The LAN addresses of `settings.interfaces` that the box's HTTPS socket (`settings.host`) answers on."""
    versions = listened_versions(settings.host)
    return [a for a in lan_addresses(settings.interfaces) if a.version in versions]


class Announcer:
    """Announces the box and its services on the LAN until closed."""

    def __init__(self, interfaces: str = "all") -> None:
        self.interfaces = interfaces            # "all" or a comma-separated list of addresses to bind
        self.addresses: list[IPAddress] = []    # what is announced now
        self._zeroconf: AsyncZeroconf | None = None
        self._services: list[AsyncServiceInfo] = []

    async def start(self, hostname: str, port: int, shop_name: str, addresses: Iterable[IPAddress]) -> None:
        """Bind zeroconf to the configured interfaces and register `<hostname>.local` and both services."""
        self.addresses = announceable(addresses)
        hostname = hostname.removesuffix(".").removesuffix(".local")
        name = instance_name(shop_name, hostname)
        txt = {"shop": shop_name, "version": package_version(), "path": "/"}
        self._services = [
            AsyncServiceInfo(kind, f"{name}.{kind}", port=port, properties=txt, server=f"{hostname}.local.",
                             parsed_addresses=[str(a) for a in self.addresses])
            for kind in SERVICE_TYPES]
        try:
            self._zeroconf = self._open()
            # allow_name_change: a second box of the same shop becomes "Madina (2)" instead of failing.
            await asyncio.gather(*(self._zeroconf.async_register_service(info, allow_name_change=True)
                                   for info in self._services))
        except (ZeroconfError, OSError, ValueError) as err:
            await self.close()
            raise AnnounceError(f"cannot announce {hostname}.local over mDNS: {err}") from err

    def _open(self) -> AsyncZeroconf:
        if self.interfaces.strip() == "all":
            v6 = any(a.version == 6 for a in lan_addresses("all"))
            return AsyncZeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.All if v6 else IPVersion.V4Only)
        # zeroconf cannot listen on ::1 (its own documentation says so); the v4 loopback carries tests.
        bound = [str(a) for a in lan_addresses(self.interfaces) if not (a.version == 6 and a.is_loopback)]
        return AsyncZeroconf(interfaces=bound)   # the IP version follows from the list

    async def update_addresses(self, addresses: Iterable[IPAddress]) -> bool:
        """Re-announce `<hostname>.local` if the address set changed; True if it did."""
        wanted = announceable(addresses)
        if self._zeroconf is None or set(wanted) == set(self.addresses):
            return False
        # New objects rather than edits: the registry must learn of the change from async_update_service.
        self._services = [
            AsyncServiceInfo(info.type, info.name, port=info.port, properties=info.properties, server=info.server,
                             parsed_addresses=[str(a) for a in wanted])
            for info in self._services]   # info.name: the name actually registered, "(2)" and all
        try:
            for info in self._services:
                await self._zeroconf.async_update_service(info)
        except (ZeroconfError, OSError) as err:
            raise AnnounceError(f"cannot re-announce the box's addresses: {err}") from err
        self.addresses = wanted
        return True

    async def close(self) -> None:
        """Say goodbye (so tablets drop the old records at once) and close the sockets."""
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is not None:
            with suppress(ZeroconfError, OSError):
                await zeroconf.async_unregister_all_services()
            await zeroconf.async_close()


async def watch_addresses(announcer: Announcer, settings: GatewaySettings) -> None:
    """Every `address_check_s`, re-announce if the LAN addresses changed; runs until cancelled."""
    while True:
        await asyncio.sleep(settings.address_check_s)
        try:
            if await announcer.update_addresses(served_addresses(settings)):
                log.info("mDNS: now announcing %s", ", ".join(map(str, announcer.addresses)))
        except AnnounceError as err:
            log.warning("%s", err)   # try again next time; the tills keep the addresses they have


async def mdns_context(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: announce while serving, say goodbye on shutdown; never fatal."""
    from .keys import ANNOUNCER, HOSTNAME, SETTINGS, SHOP_NAME   # keys.py imports this module

    settings = app[SETTINGS]
    if not settings.mdns:
        yield
        return
    announcer = Announcer(settings.interfaces)
    try:
        await announcer.start(app[HOSTNAME], settings.port, app[SHOP_NAME], served_addresses(settings))
    except (AnnounceError, ValueError) as err:
        log.warning("%s; tablets must use the box's address", err)
        yield
        return
    app[ANNOUNCER] = announcer
    watcher = asyncio.create_task(watch_addresses(announcer, settings))
    try:
        yield
    finally:
        watcher.cancel()
        with suppress(asyncio.CancelledError):
            await watcher
        await announcer.close()
