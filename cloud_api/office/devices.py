"""The back office's devices and sync health page: each box and tablet, documents refused or in
conflict (the two versions side by side), revoking a box or a tablet, and a one-time token to enrol
a new box (shown once, on the page answering the form's post, with the command the installer types).

Revoking a box refuses its API key at once (shops.gateway_for_key). Revoking a tablet names it in
the catalog (catalog.set_device_revoked moves the catalog's version), so its box unpairs it on its
next catalog pull (gateway/catalog.py) and the tablet's token stops working there.
"""
from __future__ import annotations

import difflib
import json
import shlex
from typing import Any, Callable

from aiohttp import web
from sqlalchemy import func, select, update

from .. import schema
from ..catalog import set_device_revoked
from ..contract import receipt_number
from ..database import reading
from ..gateway_api import ENGINE
from ..owners import OwnerShop
from ..reports import sync_health
from ..service.clock import utc_now
from ..shops import issue_enrol_token
from .formats import duration, local_time
from .formats import seconds_since as _seconds_since
from .web import PREFIX, Session, owner_shop, page_context, render, secure_cookie, shop_form, signed_in

routes = web.RouteTableDef()

SHOWN = 50              # refused and conflicting documents listed, newest first
MAX_BODY = 20_000       # characters of a body shown; the rest is cut (it stays in the database)
STALE_S = 15 * 60       # a box or tablet not heard from for this long is marked


def pretty(body: str) -> str:
    """A stored body as indented JSON (keys sorted, so two versions line up), or as stored if not JSON."""
    try:
        text = json.dumps(json.loads(body), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        text = body
    return text if len(text) <= MAX_BODY else text[:MAX_BODY] + "\n…"


def side_by_side(stored: str, incoming: str) -> dict[str, Any]:
    """Both versions' lines, each marked if it differs from the other version."""
    left, right = pretty(stored).splitlines(), pretty(incoming).splitlines()
    changed_left, changed_right = set(), set()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, left, right, autojunk=False).get_opcodes():
        if op != "equal":
            changed_left.update(range(i1, i2))
            changed_right.update(range(j1, j2))
    return {"stored": [(line, i in changed_left) for i, line in enumerate(left)],
            "incoming": [(line, j in changed_right) for j, line in enumerate(right)],
            "fields": _differing_fields(stored, incoming)}


def _differing_fields(stored: str, incoming: str) -> list[str]:
    try:
        a, b = json.loads(stored), json.loads(incoming)
    except ValueError:
        return []
    if not isinstance(a, dict) or not isinstance(b, dict):
        return []
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


async def _problems(conn: Any, shop_id: str) -> dict[str, Any]:
    """Documents refused (validation) and in conflict (same id, other content), newest first."""
    r, q, d, g = schema.rejected_documents.c, schema.quarantine.c, schema.documents.c, schema.gateways.c
    boxes = dict((await conn.execute(select(g.id, g.name).where(g.shop_id == shop_id))).all())
    refused = (await conn.execute(select(r.pk, r.document_id, r.body, r.reason, r.gateway_id, r.rejected_at)
                                  .where(r.shop_id == shop_id).order_by(r.pk.desc()).limit(SHOWN))).all()
    conflicts = (await conn.execute(
        select(q.pk, q.document_id, q.incoming_body, q.gateway_id, q.quarantined_at, d.body.label("stored_body"),
               d.device_code, d.seq)
        .select_from(schema.quarantine.outerjoin(schema.documents, (d.shop_id == q.shop_id) & (d.id == q.document_id)))
        .where(q.shop_id == shop_id).order_by(q.pk.desc()).limit(SHOWN))).all()
    refused_total = (await conn.execute(select(func.count()).where(r.shop_id == shop_id))).scalar_one()
    conflict_total = (await conn.execute(select(func.count()).where(q.shop_id == shop_id))).scalar_one()
    return {
        "refused": [{"pk": row.pk, "document_id": row.document_id, "reason": row.reason, "body": pretty(row.body),
                     "box": boxes.get(row.gateway_id, ""), "at": row.rejected_at} for row in refused],
        "conflicts": [{"pk": row.pk, "document_id": row.document_id, "box": boxes.get(row.gateway_id, ""),
                       "at": row.quarantined_at,
                       "receipt": receipt_number(row.device_code, row.seq) if row.device_code else "",
                       **side_by_side(row.stored_body or "", row.incoming_body)} for row in conflicts],
        "refused_total": int(refused_total), "conflict_total": int(conflict_total),
    }


def _box_view(box: dict[str, Any], t: Callable[..., str], tz: str) -> dict[str, Any]:
    heard = _seconds_since(box["last_heard_at"])
    oldest = _seconds_since(box["oldest_unsynced_at"])
    return {**box, "heard": t("{age} ago", age=duration(heard, t)) if heard is not None else t("never"),
            "heard_at": local_time(box["last_heard_at"], tz) if box["last_heard_at"] else "",
            "stale": heard is None or heard > STALE_S,
            "oldest_age": duration(oldest, t) if oldest is not None and box["backlog"] else "",
            "revoked": local_time(box["revoked_at"], tz) if box["revoked_at"] else ""}


def _tablet_view(device: dict[str, Any], t: Callable[..., str], tz: str) -> dict[str, Any]:
    # Its newest document, or its box's word that it called in (a quiet till still syncs).
    last = max(filter(None, (device["last_heard_at"], device.get("seen_by_box_at"))), default=None)
    heard = _seconds_since(last)
    skew = device["clock_skew_ms"]
    clock = ""
    if device["clock_warning"] and skew is not None:
        # Box time minus tablet time: positive means the tablet's clock is behind.
        age = duration(abs(skew) / 1000, t)
        clock = t("clock {age} behind", age=age) if skew > 0 else t("clock {age} ahead", age=age)
    return {**device, "heard": t("{age} ago", age=duration(heard, t)) if heard is not None else t("never"),
            "heard_at": local_time(last, tz) if last else "", "stale": heard is None or heard > STALE_S, "clock": clock,
            "revoked": local_time(device["revoked_at"], tz) if device["revoked_at"] else ""}


def _devices_url(shop_id: str, done: str = "") -> str:
    return f"{PREFIX}/shops/{shop_id}/devices" + (f"?done={done}" if done else "")


@routes.get(PREFIX + "/shops/{shop_id}/devices")
async def devices_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    return await _page(request, session, shop, done=request.query.get("done", ""))


async def _page(request: web.Request, session: Session, shop: OwnerShop, done: str = "",
                enrol: dict[str, str] | None = None) -> web.Response:
    t = page_context(request, session)["t"]
    async with reading(request.app[ENGINE]) as conn:
        health = await sync_health(conn, shop.shop_id)
        problems = await _problems(conn, shop.shop_id)
    for item in problems["refused"] + problems["conflicts"]:
        item["at"] = local_time(item["at"], shop.timezone)
    return render(request, session, "devices.html", shop=shop, section="devices",
                  boxes=[_box_view(b, t, shop.timezone) for b in health["gateways"]],
                  tablets=[_tablet_view(d, t, shop.timezone) for d in health["devices"]],
                  done=done, enrol=enrol, **problems)


def cloud_url(request: web.Request) -> str:
    """This cloud's address as the owner's browser reached it (https behind a proxy that says so)."""
    scheme = "https" if secure_cookie(request) else request.scheme
    return f"{scheme}://{request.host}"


def provision_command(url: str, token: str, name: str) -> str:
    """What the installer types on the new box (README, "Setting up a box at your bench")."""
    return (f"sudo /opt/posline/venv/bin/posline-gateway provision --state-dir /var/lib/posline \\\n"
            f"    --cloud-url {shlex.quote(url)} --enrol-token {shlex.quote(token)} "
            f"--name {shlex.quote(name)} --owner posline\n"
            f"sudo systemctl restart posline-gateway")


@routes.post(PREFIX + "/shops/{shop_id}/devices/enrol-box")
async def enrol_box(request: web.Request) -> web.Response:
    """A fresh one-time enrolment token, shown once on the page answering this post (never in a URL).

    For a replacement box (or a second one): the installer provisions it with the token, which
    enrols it in this shop once (shops.enrol_gateway); the page is not cached (PAGE_HEADERS).
    """
    session, shop, form = await shop_form(request)
    name = " ".join("".join(ch for ch in str(form.get("name", "")) if ch.isprintable()).split())[:64] or "Counter box"
    async with request.app[ENGINE].begin() as conn:
        token = await issue_enrol_token(conn, shop.shop_id)
    url = cloud_url(request)
    return await _page(request, session, shop, enrol={
        "token": token, "cloud_url": url, "name": name, "command": provision_command(url, token, name)})


@routes.post(PREFIX + "/shops/{shop_id}/devices/revoke-box")
async def revoke_box(request: web.Request) -> web.Response:
    """Refuse a box's API key from now on (a lost or stolen box; a replacement enrols with a new token)."""
    session, shop, form = await shop_form(request)
    g = schema.gateways.c
    async with request.app[ENGINE].begin() as conn:
        changed = await conn.execute(update(schema.gateways).where(
            g.shop_id == shop.shop_id, g.id == str(form.get("gateway_id", "")), g.revoked_at.is_(None))
            .values(revoked_at=utc_now()))
    raise web.HTTPSeeOther(_devices_url(shop.shop_id, "box-revoked" if changed.rowcount == 1 else "unchanged"))


@routes.post(PREFIX + "/shops/{shop_id}/devices/revoke-tablet")
async def revoke_tablet(request: web.Request) -> web.Response:
    """Name a tablet in the catalog as revoked: its box unpairs it on the next catalog pull."""
    return await _set_tablet(request, revoked=True)


@routes.post(PREFIX + "/shops/{shop_id}/devices/allow-tablet")
async def allow_tablet(request: web.Request) -> web.Response:
    """Take a tablet off the catalog's revoked list (it still needs a new pairing code at its box)."""
    return await _set_tablet(request, revoked=False)


async def _set_tablet(request: web.Request, revoked: bool) -> web.Response:
    session, shop, form = await shop_form(request)
    async with request.app[ENGINE].begin() as conn:
        changed = await set_device_revoked(conn, shop.shop_id, str(form.get("device_id", "")), revoked)
    done = ("tablet-revoked" if revoked else "tablet-allowed") if changed else "unchanged"
    raise web.HTTPSeeOther(_devices_url(shop.shop_id, done))
