"""Pairing tills: one-time codes in, device identity and a bearer token out.

Codes are 6 digits, expire, work once, and are kept only as digests. Guessing
is bounded: after MAX_FAILURES wrong codes every outstanding code is burned,
so an attacker gets at most a handful of tries per code an owner makes.
"""
from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

import aiosqlite

from cloud_api.service.clock import utc_after, utc_now
from cloud_api.contract import DEVICE_CODE
from cloud_api.service.tokens import new_token, token_digest

from .box import get_value, set_values
from cloud_api.service.errors import Unauthorised

MAX_FAILURES = 5


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
    await set_values(db, pairing_failures="0")
    return code


async def pair_device(db: aiosqlite.Connection, code: str, name: str,
                      resume_id: str | None = None, resume_code: str | None = None) -> Pairing | None:
    """Spend a pairing code and register a till; None for a wrong code (inside the caller's transaction).

    A wrong code returns rather than raises so the failure count it records commits.

    A till that already has an identity (a gateway was replaced) asks to keep it,
    so documents it still holds keep their device and receipt numbers.
    """
    spent = await db.execute(
        "UPDATE pairing_codes SET used_at = ? WHERE code_digest = ? AND used_at IS NULL AND expires_at > ?",
        (utc_now(), token_digest(code), utc_now()))
    if spent.rowcount != 1:
        await _count_failure(db)
        return None
    token = new_token()
    known = await (await db.execute("SELECT device_id, device_code FROM devices WHERE device_id = ?",
                                    (resume_id,))).fetchone() if resume_id else None
    if known:
        # A fresh code from the owner also brings back a tablet the owner had revoked.
        await db.execute("UPDATE devices SET token_digest = ?, name = ?, paired_at = ?, revoked_at = NULL "
                         "WHERE device_id = ?", (token_digest(token), name, utc_now(), resume_id))
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


def _next_code(taken: set[str]) -> str:
    n = 1
    while f"T{n}" in taken:
        n += 1
    return f"T{n}"


async def _count_failure(db: aiosqlite.Connection) -> None:
    failures = int(await get_value(db, "pairing_failures") or 0) + 1
    if failures >= MAX_FAILURES:
        # Too many wrong guesses: burn every open code; the owner makes a new one.
        await db.execute("UPDATE pairing_codes SET used_at = ? WHERE used_at IS NULL", (utc_now(),))
        failures = 0
    await set_values(db, pairing_failures=str(failures))


async def device_for_token(db: aiosqlite.Connection, token: str) -> Device:
    """The till a bearer token belongs to, or Unauthorised (unknown, or revoked by the owner)."""
    row = await (await db.execute("SELECT device_id, device_code, name, revoked_at FROM devices "
                                  "WHERE token_digest = ?", (token_digest(token),))).fetchone()
    if row is None:
        raise Unauthorised("this till is not paired with this gateway")
    if row["revoked_at"] is not None:
        raise Unauthorised("this tablet was removed from the shop box; pair it again with a new code")
    return Device(row["device_id"], row["device_code"], row["name"])
