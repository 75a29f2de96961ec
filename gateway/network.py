"""The box's LAN addresses: what its certificate names and what mDNS announces.

Only private, link-local and loopback addresses count: the box's CA may only
vouch for those (its name constraints say so), and a tablet only ever reaches
the box on the shop's LAN.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

import ifaddr

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# What the box's CA is permitted to name (RFC 5280 nameConstraints), and so what it serves on.
PERMITTED_NETWORKS = [ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8",
    "fc00::/7", "fe80::/10", "::1/128")]


def is_lan_address(address: IPAddress) -> bool:
    return any(address in net for net in PERMITTED_NETWORKS if net.version == address.version)


def lan_addresses(interfaces: str = "all") -> list[IPAddress]:
    """This machine's LAN addresses, sorted; `interfaces` is "all" or a comma-separated list of addresses.

    A listed address is taken as given (tests bind to 127.0.0.1); "all" asks the
    kernel for every interface's addresses and keeps the LAN ones.
    """
    if interfaces.strip() != "all":
        wanted = [ipaddress.ip_address(part.strip()) for part in interfaces.split(",") if part.strip()]
        return sorted({a for a in wanted if is_lan_address(a)}, key=_order)
    found: set[IPAddress] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            raw = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip   # IPv6 comes as (address, flow, scope)
            try:
                address = ipaddress.ip_address(raw)
            except ValueError:
                continue
            if is_lan_address(address) and not (address.version == 6 and address.is_link_local):
                found.add(address)   # link-local v6 needs a scope id no certificate or URL carries well
    return sorted(found, key=_order)


def _order(address: IPAddress) -> tuple[int, int, IPAddress]:
    # IPv4 first, loopback last: the first address is the one to print for a human.
    return (address.version, int(address.is_loopback), address)


def display_address(addresses: Iterable[IPAddress]) -> str | None:
    """The address a person should type, if any."""
    for address in addresses:
        return str(address)
    return None
