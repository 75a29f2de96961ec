"""The owner PIN of /admin: kept only as an argon2id hash, and guessing is rate-limited.

Policy: at least MIN_DIGITS digits. Six digits is a small space (10^6), which is
enough only because of what surrounds it: the hash never leaves the box (the
backup holds it, and is itself 0600), so guessing has to happen online, through
this module, which allows a few tries per address and a global ceiling per
hour for the whole LAN. At GLOBAL_MAX_PER_HOUR wrong PINs an hour, half the
space takes years.

Limits, counted in the database (a restart does not reset them):

- per address: MAX_FREE_FAILURES wrong PINs, then each further try waits
  FIRST_DELAY_S, doubling per failure, up to MAX_DELAY_S;
- globally: GLOBAL_MAX_PER_HOUR wrong PINs from all addresses together in the
  last hour, then no browser that is not a known device may try until the
  oldest of them is an hour old. One more wrong guess each time that happens
  keeps it shut, so a hostile LAN can keep new browsers out for as long as it
  goes on guessing.

Known devices: the right PIN also gives the browser a long-lived token (a
cookie, see admin.py), kept on the box only as a digest for DEVICE_S after its
last sign-in. A browser presenting one is exempt from the global ceiling, not
from its address's limit, so the owner's own phone still gets in while the LAN
is being guessed at. Setting a new PIN (`posline-gateway admin-pin`) signs every
owner out, forgets every known device and clears the counts.

Checks are serialised by the caller's lock (see admin.py), so parallel requests
cannot slip past a limit between the check and the record.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import aiosqlite
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cloud_api.service.clock import utc_after, utc_now
from cloud_api.service.errors import ServiceError
from cloud_api.service.tokens import new_token, token_digest

from .box import get_value, set_values

MIN_DIGITS = 6
MAX_FREE_FAILURES = 5
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 3600.0
GLOBAL_MAX_PER_HOUR = 30
_KEEP_FAILURES_S = 24 * 3600   # older failures are forgotten
DEVICE_S = 365 * 24 * 3600     # a known device is forgotten a year after its last sign-in

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, t=3): about
# a tenth of a second on a Raspberry Pi, which is why verification runs in a thread.
HASHER = PasswordHasher()
BOX_KEY = "admin_pin_hash"


@dataclass(frozen=True)
class Lockout:
    """Why an attempt may not be made now, and for how long."""

    scope: str          # "address" or "box"
    wait_s: int

    def message(self) -> str:
        wait = _minutes(self.wait_s)
        if self.scope == "address":
            return f"Too many wrong PINs from this device. Try again in {wait}."
        return f"Too many wrong PINs on this box. Try again in {wait}."


def check_pin_policy(pin: str) -> str:
    """The PIN, stripped, or a ServiceError saying what a PIN must be."""
    pin = pin.strip()
    if not re.fullmatch(rf"[0-9]{{{MIN_DIGITS},32}}", pin):
        raise ServiceError(f"the owner PIN must be {MIN_DIGITS} to 32 digits")
    return pin


def hash_pin(pin: str) -> str:
    """An argon2id hash of a PIN that meets the policy (slow: call from a thread in the server)."""
    return HASHER.hash(check_pin_policy(pin))


async def set_owner_pin(db: aiosqlite.Connection, pin_hash: str) -> None:
    """Replace the PIN (inside the caller's transaction); sign every owner out, forget known devices and failures."""
    await set_values(db, **{BOX_KEY: pin_hash})
    await db.execute("DELETE FROM admin_sessions")
    await db.execute("DELETE FROM owner_devices")
    await db.execute("DELETE FROM owner_pin_failures")


async def has_owner_pin(db: aiosqlite.Connection) -> bool:
    return bool(await get_value(db, BOX_KEY))


async def lockout(db: aiosqlite.Connection, address: str, known_device: bool = False) -> Lockout | None:
    """Whether `address` must wait before trying a PIN, and how long; a known device skips the global ceiling."""
    now = datetime.now(timezone.utc)
    hour_ago = _iso(now - timedelta(hours=1))
    row = await (await db.execute("SELECT count(*), min(at) FROM owner_pin_failures WHERE at > ?",
                                  (hour_ago,))).fetchone()
    if row[0] >= GLOBAL_MAX_PER_HOUR and not known_device:
        # Open again when the oldest failure of the window is an hour old.
        return Lockout("box", _seconds_until(_parse(row[1]) + timedelta(hours=1), now))
    row = await (await db.execute("SELECT count(*), max(at) FROM owner_pin_failures WHERE address = ?",
                                  (address,))).fetchone()
    failures, last = row[0], row[1]
    if failures < MAX_FREE_FAILURES:
        return None
    delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - MAX_FREE_FAILURES))
    until = _parse(last) + timedelta(seconds=delay)
    return Lockout("address", _seconds_until(until, now)) if until > now else None


async def verify_pin(db: aiosqlite.Connection, pin: str) -> bool:
    """Whether `pin` is the owner PIN (the hash is checked in a thread, off the event loop)."""
    stored = await get_value(db, BOX_KEY)
    if not stored:
        return False

    def check() -> bool:
        try:
            return HASHER.verify(stored, pin)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def record_failure(db: aiosqlite.Connection, address: str) -> None:
    """Count a wrong PIN (inside the caller's transaction) and forget day-old ones."""
    await db.execute("DELETE FROM owner_pin_failures WHERE at < ?", (utc_after(-_KEEP_FAILURES_S),))
    await db.execute("INSERT INTO owner_pin_failures (address, at) VALUES (?, ?)", (address, utc_now()))


async def record_success(db: aiosqlite.Connection, address: str) -> None:
    """The owner got in from `address`: its count starts again (inside the caller's transaction).

    Only the owner's own typos go; other addresses' failures keep counting towards the global limit.
    """
    await db.execute("DELETE FROM owner_pin_failures WHERE address = ?", (address,))


async def is_known_device(db: aiosqlite.Connection, token: str | None) -> bool:
    """Whether `token` (a browser's device cookie) is one this box gave for the current PIN."""
    if not token:
        return False
    row = await (await db.execute("SELECT 1 FROM owner_devices WHERE token_digest = ? AND expires_at > ?",
                                  (token_digest(token), utc_now()))).fetchone()
    return row is not None


async def remember_device(db: aiosqlite.Connection, token: str | None) -> str:
    """After the right PIN: the browser's device token, its year renewed, or a new one (inside the transaction)."""
    await db.execute("DELETE FROM owner_devices WHERE expires_at <= ?", (utc_now(),))
    if token is None or not await is_known_device(db, token):
        token = new_token()
    await db.execute("INSERT INTO owner_devices (token_digest, created_at, expires_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (token_digest) DO UPDATE SET expires_at = excluded.expires_at",
                     (token_digest(token), utc_now(), utc_after(DEVICE_S)))
    return token


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def _minutes(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = (seconds + 59) // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
