"""Owner accounts: sign-in with a phone number or an email and a password, sessions, and the shops
an owner holds.

- A password is kept only as an argon2id hash (argon2-cffi's defaults: RFC 9106's low-memory
  profile). Hashing takes ~0.1 s of one core and 64 MiB, so it runs off the event loop, on a pool of
  its own of ARGON2_THREADS: a flood of sign-ins queues there rather than taking memory and threads.
- A login is normalised once (`normal_login`), so "+92 300 1234567", "0300-1234567" and
  "923001234567" are one account, and "Owner@Shop.PK" and "owner@shop.pk" another.
- Guessing is slowed per login and client address: a try is counted (in a transaction of its own,
  committed) BEFORE the password is checked, so parallel guesses cannot outrun the count. After
  FREE_TRIES failures from one address, that address gets one try per LOCKOUT_S; a quarter hour
  without a failure forgets them, and a good sign-in from that address clears them. One address
  cannot lock the owner out of another. Across all addresses a login gets LOGIN_TRIES failures, after
  which it waits LOGIN_WAIT_S since the last: this bounds guessing from many addresses (an IPv6
  block is millions), at the price that someone with many addresses can keep the owner waiting.
  An unknown login is counted and answered exactly like a known one.
- A session is a random token in a cookie, kept here only as a digest, so a stolen database
  holds no live session. Any stateless worker can check it. Forms carry `service.web.csrf_token(session)`.
"""
from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import schema
from .database import insert_or_ignore
from .service.clock import utc_after, utc_now
from .service.errors import BadRequest, Conflict, TooManyRequests, Unauthorised
from .service.tokens import new_token, token_digest

PASSWORD_MIN = 8
SESSION_DAYS = 30
FREE_TRIES, LOCKOUT_S, FORGET_S = 5, 60, 15 * 60       # per login and address
LOGIN_TRIES, LOGIN_WAIT_S = 50, 15 * 60                # per login, all addresses together
ALL_ADDRESSES = "*"
ARGON2_THREADS = 2   # 64 MiB each: at most this many hashes at once per worker process
WRONG = "wrong phone number, email or password"
LOCKED = "too many wrong passwords: try again in {s} s"

_hasher = PasswordHasher()
_argon2 = ThreadPoolExecutor(max_workers=ARGON2_THREADS, thread_name_prefix="argon2")
_PHONE = re.compile(r"^0[0-9]{9,11}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Owner:
    owner_id: str
    login: str


@dataclass(frozen=True)
class OwnerShop:
    shop_id: str
    name: str
    timezone: str


def normal_login(login: str) -> str:
    """One spelling per account: a Pakistani mobile as 03001234567, an email in lower case."""
    login = login.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in login):
        raise BadRequest("give a phone number (03001234567) or an email address")
    if "@" in login:
        if not _EMAIL.match(login) or len(login) > 200:
            raise BadRequest("that is not an email address")
        return login.lower()
    digits = re.sub(r"[\s\-()]", "", login).removeprefix("+")
    if digits.startswith("92"):
        digits = "0" + digits[2:]
    if not _PHONE.match(digits):
        raise BadRequest("give a phone number (03001234567) or an email address")
    return digits


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise BadRequest(f"a password must be at least {PASSWORD_MIN} characters")
    if len(password) > 200:
        raise BadRequest("a password must be at most 200 characters")


async def _argon2_run(work: Callable[..., Any], *args: Any) -> Any:
    """argon2 work off the event loop, at most ARGON2_THREADS at once (the rest queue)."""
    return await asyncio.get_running_loop().run_in_executor(_argon2, work, *args)


async def owner_by_login(conn: AsyncConnection, login: str) -> Owner | None:
    o = schema.owners.c
    row = (await conn.execute(select(o.id, o.login).where(o.login == normal_login(login)))).first()
    return Owner(row.id, row.login) if row else None


async def create_owner(conn: AsyncConnection, login: str, password: str) -> Owner:
    """A new owner account; Conflict if the login is taken."""
    login = normal_login(login)
    _check_password(password)
    if await owner_by_login(conn, login) is not None:
        raise Conflict(f"an owner {login} already exists")
    owner = Owner(str(uuid.uuid4()), login)
    hashed = await _argon2_run(_hasher.hash, password)
    await conn.execute(schema.owners.insert().values(id=owner.owner_id, login=login, password_hash=hashed,
                                                     created_at=utc_now()))
    return owner


async def set_password(conn: AsyncConnection, owner_id: str, password: str) -> None:
    """A new password; every session of the owner ends (a stolen cookie dies with the old password)."""
    _check_password(password)
    hashed = await _argon2_run(_hasher.hash, password)
    await conn.execute(update(schema.owners).where(schema.owners.c.id == owner_id)
                       .values(password_hash=hashed))
    await conn.execute(delete(schema.owner_sessions).where(schema.owner_sessions.c.owner_id == owner_id))


async def attach_shop(conn: AsyncConnection, owner_id: str, shop_id: str) -> None:
    await conn.execute(update(schema.shops).where(schema.shops.c.id == shop_id).values(owner_id=owner_id))


async def shops_of(conn: AsyncConnection, owner_id: str) -> list[OwnerShop]:
    """The owner's shops, by name."""
    s = schema.shops.c
    rows = (await conn.execute(select(s.id, s.name, s.timezone).where(s.owner_id == owner_id)
                               .order_by(s.name, s.id))).all()
    return [OwnerShop(row.id, row.name, row.timezone) for row in rows]


async def check_password(engine: AsyncEngine, login: str, password: str, address: str | None = None) -> Owner:
    """The owner this login and password open, or Unauthorised (the same answer for an unknown login),
    or TooManyRequests when `address` (the client's) or the login as a whole has failed too often.

    Takes the engine, not a connection: the try is counted in a transaction of its own, committed
    before the password is checked, so it stays counted although the sign-in is refused.
    """
    try:
        login = normal_login(login)
    except BadRequest as err:
        raise Unauthorised(WRONG) from err
    address = (address or "unknown")[:64]
    await _count_a_try(engine, login, address)
    o = schema.owners.c
    async with engine.connect() as conn:
        row = (await conn.execute(select(o.id, o.login, o.password_hash).where(o.login == login))).first()
    try:
        if row is None:
            # Spend the time a real check would, so the answer's delay does not tell who has an account.
            await _argon2_run(_hasher.hash, password)
            raise Unauthorised(WRONG)
        await _argon2_run(_hasher.verify, row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError) as err:
        raise Unauthorised(WRONG) from err
    f = schema.sign_in_failures.c
    async with engine.begin() as conn:   # this address's count is cleared; the login's gets this try back
        await conn.execute(delete(schema.sign_in_failures).where(f.login == login, f.address == address))
        await conn.execute(update(schema.sign_in_failures)
                           .where(f.login == login, f.address == ALL_ADDRESSES, f.failures > 0)
                           .values(failures=f.failures - 1))
    return Owner(row.id, row.login)


async def _count_a_try(engine: AsyncEngine, login: str, address: str) -> None:
    """Count a try of `login` from `address` (and from all addresses), or TooManyRequests if either
    count is used up. Each count is one UPDATE whose WHERE is the limit, so parallel tries queue on
    the row and at most the limit of them get through."""
    f = schema.sign_in_failures.c
    now = datetime.now(timezone.utc)
    async with engine.begin() as conn:
        for where, limit, wait_s, forget_s in ((address, FREE_TRIES, LOCKOUT_S, FORGET_S),
                                               (ALL_ADDRESSES, LOGIN_TRIES, LOGIN_WAIT_S, LOGIN_WAIT_S)):
            await conn.execute(insert_or_ignore(conn, schema.sign_in_failures).values(
                login=login, address=where, failures=0, last_failed_at=utc_now()))
            waited, forgotten = utc_after(-wait_s), utc_after(-forget_s)
            counted = await conn.execute(
                update(schema.sign_in_failures)
                .where(f.login == login, f.address == where, (f.failures < limit) | (f.last_failed_at <= waited))
                .values(failures=case((f.last_failed_at <= forgotten, 1), else_=f.failures + 1),
                        last_failed_at=utc_now()))
            if counted.rowcount == 1:
                continue
            last = (await conn.execute(select(f.last_failed_at).where(f.login == login, f.address == where)))
            wait = max(1, int(wait_s - (now - _parse(last.scalar_one())).total_seconds()) + 1)
            # Raised inside the transaction: a try refused here counts nowhere (the rollback).
            raise TooManyRequests(LOCKED, wait, s=wait)


async def start_session(conn: AsyncConnection, owner_id: str) -> str:
    """A new session token for the cookie (kept here only as its digest)."""
    token = new_token()
    await conn.execute(schema.owner_sessions.insert().values(
        token_digest=token_digest(token), owner_id=owner_id, created_at=utc_now(),
        expires_at=utc_after(SESSION_DAYS * 86400)))
    return token


async def session_owner(conn: AsyncConnection, token: str) -> Owner | None:
    """The owner of a live session, or None."""
    sess, o = schema.owner_sessions.c, schema.owners.c
    row = (await conn.execute(select(o.id, o.login, sess.expires_at)
                              .join(schema.owners, o.id == sess.owner_id)
                              .where(sess.token_digest == token_digest(token)))).first()
    if row is None or _parse(row.expires_at) <= datetime.now(timezone.utc):
        return None
    return Owner(row.id, row.login)


async def end_session(conn: AsyncConnection, token: str) -> None:
    await conn.execute(delete(schema.owner_sessions).where(
        schema.owner_sessions.c.token_digest == token_digest(token)))


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))
