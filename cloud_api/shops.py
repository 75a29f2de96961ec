"""Tenancy: shops, their owner tokens, gateway enrolment and API keys."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .service.clock import utc_now
from .contract import EnrolResponse
from .service.tokens import new_token, token_digest
from .service.errors import Conflict, Forbidden, Unauthorised


@dataclass(frozen=True)
class NewShop:
    shop_id: str
    owner_token: str
    enrol_token: str


@dataclass(frozen=True)
class GatewayIdentity:
    gateway_id: str
    shop_id: str


async def create_shop(conn: AsyncConnection, name: str, timezone: str = "Asia/Karachi") -> NewShop:
    """A shop with its owner token and a first one-time enrolment token."""
    shop_id, owner_token = str(uuid.uuid4()), new_token()
    await conn.execute(schema.shops.insert().values(
        id=shop_id, name=name, owner_token_digest=token_digest(owner_token),
        timezone=timezone, catalog_version=0, created_at=utc_now()))
    return NewShop(shop_id, owner_token, await issue_enrol_token(conn, shop_id))


async def issue_enrol_token(conn: AsyncConnection, shop_id: str) -> str:
    """A one-time token an installer gives a gateway to enrol it in this shop."""
    token = new_token()
    await conn.execute(schema.enrol_tokens.insert().values(
        token_digest=token_digest(token), shop_id=shop_id, created_at=utc_now()))
    return token


async def enrol_gateway(conn: AsyncConnection, enrol_token: str, name: str,
                        expected_shop_name: str | None = None) -> EnrolResponse:
    """Spend an enrolment token; return the gateway's long-lived API key (kept only hashed).

    With expected_shop_name, a token of another shop is refused (Conflict) before anything
    is written, so the same token still enrols once the installer corrects the name.
    """
    digest = token_digest(enrol_token)
    shop = (await conn.execute(
        select(schema.shops.c.id, schema.shops.c.name)
        .join(schema.enrol_tokens, schema.enrol_tokens.c.shop_id == schema.shops.c.id)
        .where(schema.enrol_tokens.c.token_digest == digest, schema.enrol_tokens.c.used_at.is_(None)))).first()
    if shop is None:
        raise Unauthorised("enrolment token is unknown or already used")
    if expected_shop_name is not None and expected_shop_name != shop.name:
        # Only someone holding the token learns the name, and they could enrol with it anyway.
        raise Conflict(f"the enrolment token belongs to shop {shop.name!r}, not {expected_shop_name!r}; "
                       f"the token was not used: correct shop_name, or get a token for {expected_shop_name!r}")
    gateway_id, api_key = str(uuid.uuid4()), new_token()
    # The WHERE on used_at makes spending the token atomic: of two racing enrolments that both
    # read it unused above, only one updates a row; the other is refused here.
    spent = await conn.execute(
        update(schema.enrol_tokens)
        .where(schema.enrol_tokens.c.token_digest == digest, schema.enrol_tokens.c.used_at.is_(None))
        .values(used_at=utc_now(), gateway_id=gateway_id))
    if spent.rowcount != 1:
        raise Unauthorised("enrolment token is unknown or already used")
    await conn.execute(schema.gateways.insert().values(
        id=gateway_id, shop_id=shop.id, name=name, api_key_digest=token_digest(api_key),
        enrolled_at=utc_now()))
    return EnrolResponse(gateway_id=gateway_id, shop_id=shop.id, shop_name=shop.name, api_key=api_key)


async def gateway_for_key(conn: AsyncConnection, api_key: str) -> GatewayIdentity:
    """The gateway an API key belongs to, or Unauthorised (unknown key) or Forbidden (revoked by the owner)."""
    row = (await conn.execute(
        select(schema.gateways.c.id, schema.gateways.c.shop_id, schema.gateways.c.revoked_at)
        .where(schema.gateways.c.api_key_digest == token_digest(api_key)))).first()
    if row is None:
        raise Unauthorised("unknown gateway API key")
    if row.revoked_at is not None:
        # Known but no longer let in: a 403, which the box shows the owner as the cloud refusing it.
        raise Forbidden("this box was revoked by the owner; a box enrols again only with a new enrolment token")
    return GatewayIdentity(row.id, row.shop_id)


async def shop_for_owner_token(conn: AsyncConnection, owner_token: str) -> str:
    """The shop an owner token opens, or Unauthorised."""
    row = (await conn.execute(
        select(schema.shops.c.id).where(schema.shops.c.owner_token_digest == token_digest(owner_token)))).first()
    if row is None:
        raise Unauthorised("unknown owner token")
    return row.id


def shop_timezone(conn: Connection, shop_id: str) -> str:
    """The shop's IANA timezone (synchronous, as ingest runs; `await conn.run_sync(shop_timezone, shop_id)`
    from async code)."""
    return conn.execute(select(schema.shops.c.timezone).where(schema.shops.c.id == shop_id)).scalar_one()
