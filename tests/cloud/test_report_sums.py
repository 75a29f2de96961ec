"""The owner's reports equal the sums of the documents: a property test over random days at the counter.

Random sales (pieces and loose goods, line and cart discounts, cash with change, card, split with
wallets, some unverified, some with the Re 1 FBR service fee), refunds of what earlier sales sold, paid in / out, on two business days,
some in the shift and some outside it, sent in any order. The summary and the Z-report are worked
out here from the documents alone and must equal what the cloud answers, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings, strategies as st

from cloud_api.app import create_app
from cloud_api.contract import SERVICE_FEE
from cloud_api.database import create_engine
from cloud_api.settings import CloudSettings
from cloud_api.shops import create_shop
from tests.cloud.counter_documents import DAY, cash_movement, line, refund, sale, shift_close, shift_open
from tests.conftest import _pg_or_skip, new_cloud_shop

DAYS = {DAY: "2026-11-27T{}:00+05:00", "2026-11-28": "2026-11-28T{}:00+05:00"}
PIECES = ["TAPAL-190", "COKE-1500", "LUX-SOAP"]
LOOSE = {"SUGAR-LOOSE": "kg", "OIL-LOOSE": "l"}


@st.composite
def _line(draw: Any) -> dict[str, Any]:
    if draw(st.booleans()):
        sku, unit = draw(st.sampled_from(sorted(LOOSE.items())))
        qty, price = draw(st.integers(1, 5000)), draw(st.integers(1000, 100000))
        full = line(sku, qty, price, unit=unit)["amount"]
    else:
        sku, unit = draw(st.sampled_from(PIECES)), "each"
        qty, price = draw(st.integers(1, 5)), draw(st.integers(100, 100000))
        full = qty * price
    if full < 2:
        return line(sku, qty, price, unit=unit)
    discount = draw(st.integers(0, full - 1))
    cart = draw(st.integers(0, full - 1 - discount))
    gst_bp = draw(st.sampled_from([0, 1800]))
    return line(sku, qty, price, unit=unit, discount=discount, cart_discount=cart, gst_bp=gst_bp)


@st.composite
def _payments(draw: Any, total: int) -> tuple[list[dict[str, Any]], int]:
    how = draw(st.sampled_from(["cash", "card", "split"]))
    if how == "card":
        return [{"tender": "card", "amount": total, "reference": "RRN1"}], 0
    change = draw(st.integers(0, 10000))
    if how == "cash" or total < 2:
        return [{"tender": "cash", "amount": total + change}], change
    wallet = draw(st.integers(1, total - 1))
    return [{"tender": "wallet", "amount": wallet, "wallet": draw(st.sampled_from(["jazzcash", "easypaisa"])),
             "reference": "W1", "unverified": draw(st.booleans())},
            {"tender": "cash", "amount": total - wallet + change}], change


@st.composite
def _counter_day(draw: Any) -> tuple[list[dict[str, Any]], str]:
    """A shift's documents (and some outside it) in the order the cloud receives them; the shift's id."""
    seq = iter(range(1, 10_000))
    opened = shift_open(next(seq), draw(st.integers(0, 1_000_000)), created_at=DAYS[DAY].format("08:00"))
    sid = opened["id"]
    docs, sales, returned = [opened], [], defaultdict(int)
    for _ in range(draw(st.integers(1, 12))):
        where = dict(cashier_id=draw(st.sampled_from(["c1", "c2"])),
                     created_at=DAYS[draw(st.sampled_from(sorted(DAYS)))].format("12:00"),
                     shift_id=sid if draw(st.integers(0, 3)) else None)
        what = draw(st.sampled_from(["sale", "sale", "refund", "move"]))
        if what == "refund" and sales:
            original = draw(st.sampled_from(sales))
            index = draw(st.integers(0, len(original["lines"]) - 1))
            left = original["lines"][index]["qty"] - returned[(original["id"], index)]
            if left:
                qty = draw(st.integers(1, left))
                back = refund(next(seq), original, [(index, qty)], draw(st.sampled_from(["cash", "card"])), **where)
                if back["total"]:   # a gram of a 1-paisa line is worth nothing: no till pays that back
                    returned[(original["id"], index)] += qty
                    docs.append(back)
        elif what == "move":
            docs.append(cash_movement(next(seq), draw(st.sampled_from(["in", "out"])), draw(st.integers(1, 50000)),
                                      "float top-up", **where))
        else:
            lines = draw(st.lists(_line(), min_size=1, max_size=3))
            fee = draw(st.sampled_from([0, SERVICE_FEE]))   # the Re 1 FBR fee: in the total, in no line
            payments, change = draw(_payments(sum(ln["amount"] for ln in lines) + fee))
            sales.append(sale(next(seq), lines, payments, change=change, service_fee=fee, **where))
            docs.append(sales[-1])
    in_shift = [d for d in docs if d.get("shift_id") == sid]
    expected = z_expected_cash(opened["opening_float"], in_shift)
    docs.append(shift_close(next(seq), sid, counted_cash=max(0, expected + draw(st.integers(-1000, 1000))),
                            expected_cash=max(0, expected + draw(st.sampled_from([0, 0, 100]))),
                            created_at=DAYS[DAY].format("22:00")))
    return draw(st.permutations(docs)), sid


def z_expected_cash(opening_float: int, docs: list[dict[str, Any]]) -> int:
    """float + cash taken - change - cash refunded + paid in - paid out, from the documents."""
    cash = opening_float
    for doc in docs:
        if doc["kind"] in ("sale", "refund"):
            sign = 1 if doc["kind"] == "sale" else -1
            cash += sign * sum(p["amount"] for p in doc["payments"] if p["tender"] == "cash") - doc.get("change", 0)
        elif doc["kind"] == "cash_movement":
            cash += doc["amount"] if doc["direction"] == "in" else -doc["amount"]
    return cash


def figures(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the reports must say about these documents, worked out from them alone."""
    out: dict[str, Any] = {"sales_count": 0, "gross": 0, "refunds_count": 0, "refunds": 0, "discounts": 0, "tax": 0,
                           "service_fees": 0,
                           "paid_in": 0, "paid_out": 0, "unverified": {"count": 0, "amount": 0}}
    by_tender: dict[str, int] = defaultdict(int)
    by_cashier: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc["kind"] == "cash_movement":
            out["paid_in" if doc["direction"] == "in" else "paid_out"] += doc["amount"]
            continue
        if doc["kind"] not in ("sale", "refund"):
            continue
        is_sale = doc["kind"] == "sale"
        sign = 1 if is_sale else -1
        cashier = by_cashier.setdefault(doc["cashier_id"], {"name": None, "sales_count": 0, "gross": 0,
                                                            "refunds_count": 0, "refunds": 0, "net": 0})
        cashier["sales_count" if is_sale else "refunds_count"] += 1
        cashier["gross" if is_sale else "refunds"] += doc["total"]
        cashier["net"] += sign * doc["total"]
        out["sales_count" if is_sale else "refunds_count"] += 1
        out["gross" if is_sale else "refunds"] += doc["total"]
        out["tax"] += sign * doc["tax"]
        out["discounts"] += doc.get("discount", 0)
        out["service_fees"] += doc.get("service_fee", 0)
        for p in doc["payments"]:
            by_tender[p["tender"]] += sign * p["amount"]
            if is_sale and p["tender"] == "wallet" and p.get("unverified"):
                out["unverified"]["count"] += 1
                out["unverified"]["amount"] += p["amount"]
        if doc.get("change"):
            by_tender["cash"] -= doc["change"]
    out.update(net=out["gross"] - out["refunds"], by_tender=dict(sorted(by_tender.items())), by_cashier=by_cashier)
    return out


def summary_of(docs: list[dict[str, Any]], day: str) -> dict[str, Any]:
    on_day = [d for d in docs if d["created_at"].startswith(day)]
    by_device: dict[str, int] = defaultdict(int)
    loose: dict[str, dict[str, Any]] = {}
    for doc in on_day:
        if doc["kind"] in ("sale", "refund"):
            sign = 1 if doc["kind"] == "sale" else -1
            by_device[doc["device_code"]] += sign * doc["total"]
            for ln in doc["lines"]:
                if ln.get("unit", "each") != "each":
                    entry = loose.setdefault(ln["sku"], {"unit": ln["unit"], "qty": 0, "amount": 0})
                    entry["qty"] += sign * ln["qty"]
                    entry["amount"] += sign * ln["amount"]
    return {"date": day, **figures(on_day), "by_device": dict(by_device), "loose": dict(sorted(loose.items()))}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_summary_and_the_z_report_equal_the_sums_of_the_documents(backend, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cloud.db'}" if backend == "sqlite" else _pg_or_skip()
    with asyncio.Runner() as runner:   # a loop of our own: hypothesis calls the test synchronously
        client = runner.run(_cloud(url))
        try:
            # POSLINE_REPORT_EXAMPLES=400 digs deeper, by hand.
            @settings(max_examples=int(os.environ.get("POSLINE_REPORT_EXAMPLES", "25")), deadline=None,
                      database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(_counter_day())
            def check(day: tuple[list[dict[str, Any]], str]) -> None:
                docs, sid = day
                summaries, z = runner.run(_reports(client, url, docs))
                for date, summary in summaries.items():
                    assert summary == summary_of(docs, date)
                in_shift = [d for d in docs if d.get("shift_id") == sid]
                opened = next(d for d in docs if d["kind"] == "shift_open")
                closed = next(d for d in docs if d["kind"] == "shift_close")
                expected = z_expected_cash(opened["opening_float"], in_shift)
                assert {k: z[k] for k in figures([])} == figures(in_shift)
                assert (z["opening_float"], z["expected_cash"], z["counted_cash"], z["over_short"]) == (
                    opened["opening_float"], expected, closed["counted_cash"], closed["counted_cash"] - expected)
                assert z["disagrees"] == (closed["expected_cash"] != expected)
                checked.append(len(docs))
            checked: list[int] = []
            check()
            assert sum(checked) >= 100   # the days were not all empty
        finally:
            runner.run(client.close())


async def _cloud(url: str) -> TestClient:
    await new_cloud_shop(url, clean=True, demo=False)   # migrates (and empties PostgreSQL)
    client = TestClient(TestServer(create_app(CloudSettings(db_url=url))))
    await client.start_server()
    return client


async def _reports(client: TestClient, url: str, docs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh shop gets `docs` in two batches; its summaries of both days and its one Z-report."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        shop = await create_shop(conn, "Madina")
    await engine.dispose()
    enrolled = await (await client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token})).json()
    gateway, owner = ({"Authorization": f"Bearer {token}"} for token in (enrolled["api_key"], shop.owner_token))
    half = len(docs) // 2
    for batch in (docs[:half], docs[half:]):
        response = await client.post("/v1/journal:batch", json={"documents": batch}, headers=gateway)
        results = (await response.json())["results"]
        assert [r["status"] for r in results] == ["stored"] * len(batch), results
    base = f"/v1/shops/{shop.shop_id}/reports"
    summaries = {day: await (await client.get(f"{base}/summary?date={day}", headers=owner)).json() for day in DAYS}
    shifts = (await (await client.get(f"{base}/shifts?date={DAY}", headers=owner)).json())["shifts"]
    assert len(shifts) == 1
    return summaries, shifts[0]
