"""Pairing tills: one-time codes in, device identity and a bearer token out.

Codes are 6 digits, expire (settings.pairing_code_ttl_s, 10 minutes), work
once, and are kept only as digests. Guessing is bounded by PairingGuard, in
memory, without ever cancelling a code:

- per client (an IPv4 address, or an IPv6 /64, which one device can fill):
  FREE_FAILURES wrong codes, then each further try must wait FIRST_DELAY_S,
  doubling per failure up to MAX_DELAY_S; the client hears 429 with Retry-After,
  and its tries are refused unchecked until then, so they reveal nothing. Other
  clients, and the codes they hold, are untouched. A success clears the client.
- for the whole box: at most GLOBAL_FAILURES wrong codes in any window of one
  code lifetime, from all clients together; past that every try is refused,
  unchecked, until the window moves on. A code then faces at most
  GLOBAL_FAILURES guesses in its whole life, however many addresses sweep the
  10^6 space: with one code open that is a 1 in 10^6 / GLOBAL_FAILURES
  (about 1 in 17,000) chance per code the owner makes, not a useful one. The price is
  that a sweep from many addresses pauses pairing for everyone for at most a
  code lifetime; burning the open codes instead (what the box did before) would
  cost the same and also make the owner start again.

Counts live in memory: a guess writes nothing to the SD card, and a restart
(which a LAN client cannot cause) only forgets them.

Identity: a till that already has an identity (its box was replaced, or the
owner revoked it) asks to keep it, so documents it still holds keep their
device and receipt numbers. A box that knows that identity gives it back only
to the holder of its previous token, or when the owner allowed it on /admin
(`allow_repair`); anyone else holding a valid code is refused (409), so a code
cannot take over another tablet's identity and numbering. A box with no record
of it (a fresh or replaced box) keeps its id and code if the code is free.
"""
from __future__ import annotations

import ipaddress
import re
import secrets
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import aiosqlite

from cloud_api.service.clock import utc_after, utc_now
from cloud_api.contract import DEVICE_CODE
from cloud_api.service.errors import Conflict, TooManyRequests, Unauthorised
from cloud_api.service.tokens import new_token, same_secret, token_digest

if TYPE_CHECKING:
    from .store import Store

FREE_FAILURES = 3           # per client: typos before any wait
FIRST_DELAY_S = 2.0         # then 2 s, 4 s, 8 s ... per further failure
MAX_DELAY_S = 600.0
GLOBAL_FAILURES = 60        # per code lifetime, all clients together (see the module docstring)
MAX_CLIENTS = 4096          # clients remembered; the oldest are forgotten (the global bound still holds)
REPAIR_WINDOW_S = 15 * 60   # how long the owner's "allow re-pairing" lasts


class PairingGuard:
    """Who may try a pairing code now: per-client delays and a box-wide ceiling (in memory)."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic):
        self._window_s = max(window_s, 1.0)
        self._clock = clock
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()   # client -> (failures, not before)
        self._recent: deque[float] = deque()                                 # wrong codes in the window

    def check(self, client: str) -> None:
        """TooManyRequests if `client` (or everyone) must wait before trying a code."""
        now = self._clock()
        while self._recent and self._recent[0] <= now - self._window_s:
            self._recent.popleft()
        if len(self._recent) >= GLOBAL_FAILURES:
            raise TooManyRequests("too many wrong pairing codes on this box; try again later",
                                  _whole(self._recent[0] + self._window_s - now))
        _failures, not_before = self._clients.get(client, (0, 0.0))
        if now < not_before:
            raise TooManyRequests("too many wrong pairing codes from this device; wait and try again",
                                  _whole(not_before - now))

    def failed(self, client: str) -> None:
        """Count a wrong code from `client`."""
        now = self._clock()
        self._recent.append(now)
        failures = self._clients.pop(client, (0, 0.0))[0] + 1
        wait = 0.0 if failures <= FREE_FAILURES else min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - FREE_FAILURES - 1))
        self._clients[client] = (failures, now + wait)
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


def client_key(address: str | None) -> str:
    """Whom to count a guess against: the address, or its /64 for IPv6 (one device can use a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _whole(seconds: float) -> int:
    return max(1, int(seconds + 0.999))


@dataclass(frozen=True)
class Device:
    device_id: str
    device_code: str
    name: str


@dataclass(frozen=True)
class Pairing:
    device: Device
    token: str



async def new_pairing_code(db: aiosqlite.Connection, ttl_s: int) -> str:
    """Make a one-time 6-digit code, valid for ttl_s seconds (inside the caller's transaction)."""
    code = f"{secrets.randbelow(10**6):06d}"
    await db.execute("INSERT OR REPLACE INTO pairing_codes (code_digest, created_at, expires_at) VALUES (?, ?, ?)",
                     (token_digest(code), utc_now(), utc_after(ttl_s)))
    return code


async def pair_device(db: aiosqlite.Connection, code: str, name: str, resume_id: str | None = None,
                      resume_code: str | None = None, resume_token: str | None = None) -> Pairing | None:
    """Spend a pairing code and register a till; None for a wrong code (inside the caller's transaction).

    Keeping a known identity needs `resume_token` (its previous token) or the owner's allow_repair;
    otherwise Conflict, and the caller's rollback leaves the code unspent for a second try.
    """
    spent = await db.execute(
        "UPDATE pairing_codes SET used_at = ? WHERE code_digest = ? AND used_at IS NULL AND expires_at > ?",
        (utc_now(), token_digest(code), utc_now()))
    if spent.rowcount != 1:
        return None
    token = new_token()
    known = await (await db.execute("SELECT device_id, device_code, token_digest, repair_allowed_until "
                                    "FROM devices WHERE device_id = ?", (resume_id,))).fetchone() if resume_id else None
    if known:
        proven = bool(resume_token) and same_secret(token_digest(resume_token or ""), known["token_digest"])
        allowed = (known["repair_allowed_until"] or "") > utc_now()
        if not (proven or allowed):
            raise Conflict("this tablet identity belongs to a tablet paired with this box; the owner can allow "
                           "it to pair again on the box's admin page")
        # A fresh code from the owner also brings back a tablet the owner had revoked.
        await db.execute("UPDATE devices SET token_digest = ?, name = ?, paired_at = ?, revoked_at = NULL, "
                         "repair_allowed_until = NULL WHERE device_id = ?",
                         (token_digest(token), name, utc_now(), resume_id))
        return Pairing(Device(known["device_id"], known["device_code"], name), token)
    taken = {row[0] for row in await db.execute_fetchall("SELECT device_code FROM devices")}
    if resume_id and resume_code and re.fullmatch(DEVICE_CODE, resume_code) and resume_code not in taken:
        device = Device(resume_id, resume_code, name)
    else:
        device = Device(str(uuid.uuid4()), _next_code(taken), name)
    await db.execute("INSERT INTO devices (device_id, device_code, name, token_digest, paired_at) "
                     "VALUES (?, ?, ?, ?, ?)", (device.device_id, device.device_code, name, token_digest(token),
                                                utc_now()))
    return Pairing(device, token)


async def allow_repair(db: aiosqlite.Connection, device_id: str, window_s: int = REPAIR_WINDOW_S) -> bool:
    """The owner lets this tablet pair again without its old token, for a while (inside the caller's transaction)."""
    changed = await db.execute("UPDATE devices SET repair_allowed_until = ? WHERE device_id = ?",
                               (utc_after(window_s), device_id))
    return changed.rowcount == 1


def _next_code(taken: set[str]) -> str:
    n = 1
    while f"T{n}" in taken:
        n += 1
    return f"T{n}"


async def device_for_token(store: Store, token: str) -> Device:
    """The till a bearer token belongs to, or Unauthorised (unknown, or revoked by the owner).
    Asked by every request a till makes: read on the event loop (Store.read_row), by the token's index."""
    row = await store.read_row("SELECT device_id, device_code, name, revoked_at FROM devices "
                               "WHERE token_digest = ?", (token_digest(token),))
    if row is None:
        raise Unauthorised("this till is not paired with this gateway")
    if row["revoked_at"] is not None:
        raise Unauthorised("this tablet was removed from the shop box; pair it again with a new code")
    return Device(row["device_id"], row["device_code"], row["name"])
