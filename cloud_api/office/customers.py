"""The back office's customers and their khata (udhaar, issue 10): the list with balances and ageing,
a customer's page (details, printable statement, adjustment, the balance as a WhatsApp / SMS message),
and a new customer. Every rule is cloud_api/khata.py's; these pages only ask and show.

- The list is an ageing list: most owed first (or by name), what is owed split by age (0-7, 8-30,
  30+ days: khata.ageing, payments set against the oldest debts first), totals in the footer: what is
  owed to the shop (the positive balances: equal to the sum of the age columns) and, apart, the
  advances the shop holds (the negative balances, shown positive). Netting the two would make the
  footer disagree with the age columns (the box's /admin says the same two figures in the same words).
- An adjustment is a new khata entry, never an edit: a mistake is put right by another adjustment.
  The form carries the entry's id (made with the page), so a form sent twice counts once.
- The message is only a link: wa.me or sms: opens the owner's own phone with the text written;
  nothing here sends anything. Only a mobile (03xx) gets the links; a landline gets the text to copy.
  It says plainly what is owed, held in advance or that the khata is clear, in English or Urdu: the
  customer's language (?msg=en|ur), which may differ from the owner's screen.
- The printed statement has the shop's name, address and phone on top. An adjustment's reason is the
  owner's own note: shown on screen, never printed (the page says so).
- Search: part of the name, or of the phone typed any way (+92 300 ..., 0300-...): khata.phone_matches,
  the till's rule.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from ..catalog import shop_details
from ..database import reading
from ..gateway_api import ENGINE
from ..khata import (AGE_BUCKETS, AdjustmentIn, CustomerIn, add_adjustment, create_customer, customer,
                     customers_with_balances, default_credit_limit, message_links, statement, update_customer)
from ..product_import import parse_rupees, rupees_text
from ..service.errors import BadRequest
from .formats import rupees, t
from .ranges import TENDERS, parse_day, shop_today
from .web import PREFIX, language, owner_shop, path_text, query_text, render, shop_form, signed_in
from .words import translate

routes = web.RouteTableDef()

SHOP = PREFIX + "/shops/{shop_id}"
DETAILS = ("name", "phone", "cnic", "ntn", "credit_limit_rs")
STATEMENT_DAYS = 30   # a statement shows the last month unless a range is chosen
SORTS = {"owed": t("Most owed first"), "name": t("By name")}
# What each kind of entry is called on a statement.
KINDS = {"sale": t("Sale on account"), "refund": t("Return to account"), "khata_payment": t("Payment received"),
         "khata_adjustment": t("Adjustment at the till"), "office_adjustment": t("Adjustment by the owner")}
# Entries whose note is the owner's internal reason: on screen only, never on the printed statement.
ADJUSTMENTS = ("khata_adjustment", "office_adjustment")
# The customer fields' errors as the pages say them (contract.CustomerDetails' messages).
MESSAGES = (t("must be a phone number, e.g. 0300 1234567 or +92 300 1234567"),
            t("must be a CNIC of 13 digits, e.g. 35202-1234567-1"), t("is required"), t("is too long"),
            t("must be rupees with up to 2 decimals, e.g. 549.50"), t("must be at most Rs 100,000,000"),
            t("must be more than zero"), t("this shop has no customer with that id"))


def is_urdu(text: str | None) -> bool:
    """Whether a name is written in Urdu (Arabic script): the page marks it lang="ur" so it gets the
    office's Urdu font at a size that matches the Latin text around it (office.css)."""
    return any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufeff"
               for ch in text or "")


def _url(shop_id: str, customer_id: str = "", done: str = "") -> str:
    path = f"{PREFIX}/shops/{shop_id}/customers" + (f"/{customer_id}" if customer_id else "")
    return path + (f"?done={done}" if done else "")


def _details(form: Any, errors: dict[str, str]) -> tuple[dict[str, str], CustomerIn | None]:
    """The details form's values as typed, and the customer they make (None, with errors, if they do not)."""
    values = {name: str(form.get(name, "")).strip() for name in DETAILS}
    fields: dict[str, Any] = {name: values[name] or None for name in ("phone", "cnic", "ntn")}
    fields["name"] = values["name"]
    if values["credit_limit_rs"]:
        try:
            fields["credit_limit"] = parse_rupees(values["credit_limit_rs"])
        except ValueError as err:
            errors["credit_limit_rs"] = str(err)
    try:
        return values, (None if errors else CustomerIn(**fields))
    except ValidationError as err:
        for problem in err.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "name"
            message = str(problem["msg"]).removeprefix("Value error, ")
            if problem["type"] == "string_too_short":
                message = "is required"
            elif problem["type"] == "string_too_long":
                message = "is too long"
            elif name == "credit_limit":
                message = "must be at most Rs 100,000,000"
            errors.setdefault("credit_limit_rs" if name == "credit_limit" else name, message)
        return values, None


# --- the list ------------------------------------------------------------------------------

@routes.get(SHOP + "/customers")
async def customers_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    search = query_text(request, "q", 100).strip()
    sort = query_text(request, "sort", 10, "owed")
    if sort not in SORTS:
        raise BadRequest(t("choose how to sort the list from the menu"))
    async with reading(request.app[ENGINE]) as conn:
        rows = await customers_with_balances(conn, shop.shop_id, search)
    if sort == "owed":
        rows.sort(key=lambda row: -row["balance"])
    # Owed and advances apart: a net total would not match the age columns, which count only what is owed.
    totals = {"owed": sum(r["balance"] for r in rows if r["balance"] > 0),
              "advances": sum(-r["balance"] for r in rows if r["balance"] < 0),
              **{label: sum(r["ageing"][label] for r in rows) for label, _, _ in AGE_BUCKETS}}
    return render(request, session, "customers.html", shop=shop, section="customers", customers=rows, search=search,
                  sort=sort, sorts=SORTS, buckets=[label for label, _, _ in AGE_BUCKETS], totals=totals,
                  is_urdu=is_urdu,
                  done=request.query.get("done", ""))


# --- a new customer ---------------------------------------------------------------------------

@routes.get(SHOP + "/customers/new")
async def new_customer_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    async with reading(request.app[ENGINE]) as conn:
        limit = await default_credit_limit(conn, shop.shop_id)
    return render(request, session, "customer_new.html", shop=shop, section="customers",
                  values={"credit_limit_rs": rupees_text(limit)}, errors={})


@routes.post(SHOP + "/customers/new")
async def add_customer(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    errors: dict[str, str] = {}
    values, details = _details(form, errors)
    if details is None:
        return render(request, session, "customer_new.html", status=400, shop=shop, section="customers",
                      values=values, errors=errors)
    async with request.app[ENGINE].begin() as conn:
        made = await create_customer(conn, shop.shop_id, details)
    raise web.HTTPSeeOther(_url(shop.shop_id, made["customer_id"], "added"))


# --- a customer's page ------------------------------------------------------------------------

MESSAGE_LANGUAGES = {"en": "English", "ur": "اردو"}   # each named in its own language: the customer's choice


def balance_message(lang: str, name: str, shop_name: str, balance: int, day: str) -> str:
    """The text the owner sends: the balance in words a customer reads on their phone, saying plainly who
    owes whom: what they owe, what the shop holds of theirs in advance, or that the khata is clear."""
    values = dict(name=name or "", shop=shop_name, day=day, amount=rupees(abs(balance)))
    if balance > 0:
        phrase = t("{name}, you owe {amount} on your khata at {shop} as of {day}. Thank you.")
    elif balance < 0:
        phrase = t("{name}, we at {shop} hold {amount} of yours in advance on your khata as of {day}. Thank you.")
    else:
        phrase = t("{name}, your khata at {shop} is clear as of {day}: you owe nothing. Thank you.")
    return translate(phrase, lang, **values)


async def _customer_page(request: web.Request, session: Any, shop: Any, status: int = 200,
                         **context: Any) -> web.Response:
    customer_id = path_text(request, "customer_id", 36)
    today = shop_today(shop.timezone)
    # Any range (a statement of one customer is small): without from, the last STATEMENT_DAYS up to `to`.
    last = parse_day(query_text(request, "to", 20)) if request.query.get("to") else today
    first = parse_day(query_text(request, "from", 20)) if request.query.get("from") else \
        last - timedelta(days=STATEMENT_DAYS - 1)
    if last < first:
        raise BadRequest(t("the end of the range is before its start"))
    async with reading(request.app[ENGINE]) as conn:
        who = await customer(conn, shop.shop_id, customer_id)   # 404 page for a customer the shop lacks
        account = await statement(conn, shop.shop_id, customer_id, first, last)
        details = await shop_details(conn, shop.shop_id)   # the printed statement's heading
    # The message's language is the customer's, chosen on the page; the owner's screen language by default.
    message_lang = request.query.get("msg", "")
    if message_lang not in MESSAGE_LANGUAGES:
        message_lang = language(request)
    message = balance_message(message_lang, who["name"], details.name or shop.name, who["balance"],
                              today.isoformat())
    context.setdefault("values", {"name": who["name"], "phone": who["phone"] or "", "cnic": who["cnic"] or "",
                                  "ntn": who["ntn"] or "", "credit_limit_rs": rupees_text(who["credit_limit"])})
    context.setdefault("errors", {})
    context.setdefault("adjustment", {"direction": "more", "amount_rs": "", "reason": ""})
    context.setdefault("adjust_errors", {})
    return render(request, session, "customer.html", status=status, shop=shop, section="customers", customer=who,
                  account=account, first=first.isoformat(), last=last.isoformat(), kinds=KINDS,
                  buckets=[label for label, _, _ in AGE_BUCKETS], message=message,
                  links=message_links(who["phone"], message), message_lang=message_lang,
                  message_languages=MESSAGE_LANGUAGES, letterhead=details, is_urdu=is_urdu,
                  adjustments=ADJUSTMENTS, entry_token=str(uuid.uuid4()), tenders=TENDERS,
                  done=request.query.get("done", ""), today=today.isoformat(), **context)


@routes.get(SHOP + "/customers/{customer_id}")
async def customer_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    return await _customer_page(request, session, owner_shop(request, session))


@routes.post(SHOP + "/customers/{customer_id}")
async def save_customer(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    customer_id = path_text(request, "customer_id", 36)
    errors: dict[str, str] = {}
    values, details = _details(form, errors)
    if details is None:
        return await _customer_page(request, session, shop, status=400, values=values, errors=errors)
    async with request.app[ENGINE].begin() as conn:
        await update_customer(conn, shop.shop_id, customer_id, details)
    raise web.HTTPSeeOther(_url(shop.shop_id, customer_id, "saved"))


@routes.post(SHOP + "/customers/{customer_id}/adjust")
async def adjust(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    customer_id = path_text(request, "customer_id", 36)
    typed = {name: str(form.get(name, "")).strip() for name in ("direction", "amount_rs", "reason")}
    errors: dict[str, str] = {}
    amount = 0
    try:
        amount = parse_rupees(typed["amount_rs"])
        if amount == 0:
            errors["amount_rs"] = "must be more than zero"
    except ValueError as err:
        errors["amount_rs"] = str(err)
    if typed["direction"] not in ("more", "less"):
        raise BadRequest(t("choose whether they owe more or less"))
    token = str(form.get("token", ""))
    try:
        entry_id = str(uuid.UUID(token)) if len(token) == 36 else None
    except ValueError:
        entry_id = None
    if entry_id is None:
        raise BadRequest(t("this form is out of date or came from another site: open the page again"))
    adjustment = None
    if not errors:
        try:
            adjustment = AdjustmentIn(amount=amount if typed["direction"] == "more" else -amount,
                                      reason=typed["reason"])
        except ValidationError as err:
            for problem in err.errors():
                name = str(problem["loc"][0]) if problem["loc"] else "reason"
                errors.setdefault("amount_rs" if name == "amount" else "reason",
                                  "must be at most Rs 100,000,000" if name == "amount" else
                                  "is required" if problem["type"] == "string_too_short" else
                                  "is too long")
    if adjustment is None:
        return await _customer_page(request, session, shop, status=400, adjustment=typed, adjust_errors=errors)
    async with request.app[ENGINE].begin() as conn:
        _, created = await add_adjustment(conn, shop.shop_id, customer_id, adjustment, entry_id=entry_id)
    raise web.HTTPSeeOther(_url(shop.shop_id, customer_id, "adjusted" if created else "again"))
