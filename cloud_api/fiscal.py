"""The shop's fiscal reporting settings (issue 9), as the owner keeps them: FBR / PRA mode, POSIDs,
the Re 1 service fee, PRA's tender rates, the bearer token, and Retry.

The settings (contract.FiscalSettings) live as JSON in shops.fiscal and reach the box and its tills
in the catalog; the token lives apart in shops.fiscal_token and reaches only the box
(catalog.load_catalog for_gateway). The token is write-only: `FiscalState` says whether one is set,
never what it is. Every change moves the catalog version, so each box's ETag goes stale and it pulls
the new settings within a catalog sync.

What the box reports back (contract.FiscalSummary: per day fiscalized / pending / failed, the
failures with the authority's message, whether the queue stopped) arrives on every heartbeat and is
read here from the newest one that carries it.
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .catalog import bump_version, stored_fiscal
from .contract import FiscalSettings, FiscalSettingsIn, FiscalSummary, PosId
from .service.clock import utc_now
from .service.errors import BadRequest, Conflict, NotFound


class FiscalState(BaseModel):
    """What the owner sees of the shop's fiscal reporting (GET and every change answer it)."""

    settings: FiscalSettings
    token_set: bool            # the token itself is never sent to an owner
    # The newest heartbeat's word on the box's fiscal queue, which box said it and when; None
    # until a box running fiscal reporting has sent a heartbeat.
    summary: FiscalSummary | None = None
    summary_box: str | None = None
    summary_at: str | None = None


class PosIdIn(BaseModel):
    """PUT .../fiscal/pos-ids/{device_id}: the POSID FBR / PRA registered for that tablet, or null to clear."""

    model_config = ConfigDict(extra="forbid")

    pos_id: PosId | None


def clean_token(token: str) -> str:
    """The bearer token as it will go in an Authorization header: surrounding whitespace (a pasted
    newline) taken off, and nothing inside that a header cannot carry; BadRequest otherwise."""
    token = token.strip()
    if any(not ("!" <= ch <= "~") for ch in token):
        raise BadRequest("the token must be printable ASCII without spaces, as FBR or PRA issued it")
    return token


async def _locked_shop(conn: AsyncConnection, shop_id: str) -> Any:
    # FOR UPDATE on PostgreSQL, so two owners' changes (a POSID here, the mode there) are read and
    # written one after the other, none lost; SQLite's BEGIN IMMEDIATE already serialises writers.
    s = schema.shops.c
    return (await conn.execute(select(s.fiscal, s.fiscal_token).where(s.id == shop_id).with_for_update())).one()


async def _store(conn: AsyncConnection, shop_id: str, settings: FiscalSettings, **values: Any) -> None:
    await conn.execute(update(schema.shops).where(schema.shops.c.id == shop_id)
                       .values(fiscal=settings.model_dump_json(), **values))
    await bump_version(conn, shop_id)


def _checked(settings: dict[str, Any]) -> FiscalSettings:
    try:
        return FiscalSettings.model_validate(settings)
    except ValidationError as err:   # e.g. a thousand and first POSID
        raise BadRequest(str(err.errors()[0]["msg"]).removeprefix("Value error, ")) from err


async def put_fiscal(conn: AsyncConnection, shop_id: str, body: FiscalSettingsIn) -> None:
    """Replace mode, environment, service fee and tender rates (POSIDs and Retry stay); the token:
    None keeps the one stored, "" (or only spaces) forgets it, anything else replaces it."""
    row = await _locked_shop(conn, shop_id)
    settings = _checked({**stored_fiscal(row.fiscal).model_dump(), **body.model_dump(exclude={"token"})})
    token = row.fiscal_token if body.token is None else (clean_token(body.token) or None)
    await _store(conn, shop_id, settings, fiscal_token=token)


async def known_tablets(conn: AsyncConnection, shop_id: str) -> dict[str, dict[str, Any]]:
    """The shop's tablets by device_id: those whose documents reached the cloud, and those its boxes
    named in their newest heartbeat (a tablet just paired has sold nothing yet, but needs its POSID
    before its first sale). Each: device_code, name (the box's), revoked (by the owner)."""
    dv, g = schema.devices.c, schema.gateways.c
    tablets: dict[str, dict[str, Any]] = {}
    for beat, in (await conn.execute(select(g.last_heartbeat).where(
            g.shop_id == shop_id, g.revoked_at.is_(None), g.last_heartbeat.is_not(None))
            .order_by(g.last_heard_at))).all():
        for tablet in _loaded(beat).get("devices", []):
            if isinstance(tablet, dict) and isinstance(tablet.get("device_id"), str) and tablet["device_id"]:
                tablets[tablet["device_id"]] = {"device_code": str(tablet.get("device_code") or ""),
                                                "name": str(tablet.get("name") or ""), "revoked": False}
    for row in (await conn.execute(select(dv.device_id, dv.device_code, dv.revoked_at)
                                   .where(dv.shop_id == shop_id))).all():
        name = tablets.get(row.device_id, {}).get("name", "")
        tablets[row.device_id] = {"device_code": row.device_code, "name": name, "revoked": row.revoked_at is not None}
    return dict(sorted(tablets.items(), key=lambda item: (_code_order(item[1]["device_code"]), item[0])))


def _code_order(code: str) -> tuple[int, str]:
    # T2 before T10; a tablet the box named without a code last.
    return (int(code[1:]), code) if code[1:].isdigit() else (10**9, code)


async def set_pos_id(conn: AsyncConnection, shop_id: str, device_id: str, pos_id: int | None) -> None:
    """Give a tablet its POSID (or take it away with None).

    NotFound for a tablet the shop does not know (clearing one that has a POSID always works);
    Conflict if another tablet already has that POSID: FBR registers each counter on its own.
    """
    row = await _locked_shop(conn, shop_id)
    settings = stored_fiscal(row.fiscal)
    pos_ids = dict(settings.pos_ids)
    if pos_id is None:
        if device_id not in pos_ids and device_id not in await known_tablets(conn, shop_id):
            raise NotFound("this shop has no tablet with that device id")
        pos_ids.pop(device_id, None)
    else:
        tablets = await known_tablets(conn, shop_id)
        if device_id not in tablets and device_id not in pos_ids:
            raise NotFound("this shop has no tablet with that device id")
        holder = next((other for other, held in pos_ids.items() if held == pos_id and other != device_id), None)
        if holder is not None:
            code = tablets.get(holder, {}).get("device_code") or holder
            raise Conflict("POSID {pos_id} is already {code}'s", pos_id=pos_id, code=code)
        pos_ids[device_id] = pos_id
    await _store(conn, shop_id, _checked({**settings.model_dump(), "pos_ids": pos_ids}))


async def request_retry(conn: AsyncConnection, shop_id: str) -> str:
    """The owner pressed Retry: a new retry_requested_at, which the box sees change in the catalog and
    offers its parked invoices again. The time it was set."""
    row = await _locked_shop(conn, shop_id)
    now = utc_now()
    await _store(conn, shop_id, stored_fiscal(row.fiscal).model_copy(update={"retry_requested_at": now}))
    return now


async def fiscal_state(conn: AsyncConnection, shop_id: str) -> FiscalState:
    """The settings, whether a token is set, and the newest heartbeat's fiscal summary."""
    s, g = schema.shops.c, schema.gateways.c
    shop = (await conn.execute(select(s.fiscal, s.fiscal_token.is_not(None).label("token_set"))
                               .where(s.id == shop_id))).one()
    state = FiscalState(settings=stored_fiscal(shop.fiscal), token_set=bool(shop.token_set))
    # A revoked box's word is stale (its replacement reports now); a heartbeat from before issue 9, or
    # one this version cannot read, says nothing of fiscal reporting.
    for name, heard_at, beat in (await conn.execute(
            select(g.name, g.last_heard_at, g.last_heartbeat)
            .where(g.shop_id == shop_id, g.revoked_at.is_(None), g.last_heartbeat.is_not(None))
            .order_by(g.last_heard_at.desc()))).all():
        fiscal = _loaded(beat).get("fiscal")
        if not isinstance(fiscal, dict):
            continue
        try:
            summary = FiscalSummary.model_validate(fiscal)
        except ValidationError:
            continue
        return state.model_copy(update={"summary": summary, "summary_box": name, "summary_at": heard_at})
    return state


def _loaded(beat: str | None) -> dict[str, Any]:
    try:
        value = json.loads(beat) if beat else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
