"""The shifts of a date range, worked out together (shift_reports.shifts_between), equal each shift's own
Z-report and the sums of its documents, on SQLite and PostgreSQL: several tills and days, a shift that
runs past midnight, one still open, one with nothing sold, and sales outside any shift."""
from __future__ import annotations

from typing import Any

from cloud_api import reports
from cloud_api.database import create_engine, reading
from cloud_api.reports import counter_figures, shift_figures
from cloud_api.shift_reports import shifts_between
from tests.cloud.counter_documents import cash_movement, line, refund, sale, shift_close, shift_open
from tests.cloud.test_ingest import new_shop, post_batch
from tests.cloud.test_report_sums import figures

FIGURES = list(figures([]))


def _at(day: str, hour: str) -> str:
    return f"2026-11-{day}T{hour}:00+05:00"


def _days_at_the_counter() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Documents of four shifts on two tills over three days (and a sale outside any); each shift's id."""
    docs: list[dict[str, Any]] = []
    seq = {"T1": iter(range(1, 1000)), "T2": iter(range(1, 1000))}

    def at(till: str, day: str, hour: str, cashier: str = "c1") -> dict[str, Any]:
        return {"seq": next(seq[till]), "device_code": till, "created_at": _at(day, hour), "cashier_id": cashier}

    def sold(shift_id: str | None, base: dict[str, Any], *lines: dict[str, Any], **kw: Any) -> dict[str, Any]:
        params = dict(base)
        docs.append(sale(params.pop("seq"), list(lines), shift_id=shift_id, **params, **kw))
        return docs[-1]

    shifts: dict[str, str] = {}
    for name, till, day, float_ in (("monday", "T1", "26", 100000), ("tuesday", "T1", "27", 200000),
                                    ("late", "T2", "27", 300000), ("idle", "T2", "28", 0)):
        base = at(till, day, "08:00" if name != "late" else "20:00")
        opened = shift_open(base.pop("seq"), float_, **base)
        docs.append(opened)
        shifts[name] = opened["id"]
    first = sold(shifts["monday"], at("T1", "26", "10:00"), line("TAPAL-190", 2, 55000, discount=5500), change=3000)
    sold(shifts["monday"], at("T1", "26", "11:00", "c2"), line("COKE-1500", 1, 21000),
         payments=[{"tender": "wallet", "amount": 21000, "wallet": "jazzcash", "reference": "W1", "unverified": True}])
    docs.append(cash_movement(next(seq["T1"]), "in", 50000, "change from the bank", shifts["monday"],
                              device_code="T1", created_at=_at("26", "12:00")))
    docs.append(shift_close(next(seq["T1"]), shifts["monday"], 180000, expected_cash=180000,
                            device_code="T1", created_at=_at("26", "21:00")))
    # Tuesday: a return of Monday's sale (on its own day and shift), a card sale, a paid out.
    base = at("T1", "27", "09:30")
    docs.append(refund(base.pop("seq"), first, [(0, 1)], "cash", shift_id=shifts["tuesday"], **base))
    sold(shifts["tuesday"], at("T1", "27", "10:00", "c2"), line("LUX-SOAP", 3, 17000),
         payments=[{"tender": "card", "amount": 51000, "reference": "R1"}])
    sold(shifts["tuesday"], at("T1", "27", "11:00"), line("SUGAR-LOOSE", 1250, 16000, unit="kg"),
         payments=[{"tender": "wallet", "amount": 10000, "wallet": "easypaisa", "reference": "W2"},
                   {"tender": "cash", "amount": 20000}], change=10000)
    docs.append(cash_movement(next(seq["T1"]), "out", 20000, "tea", shifts["tuesday"], device_code="T1",
                              created_at=_at("27", "12:00")))
    docs.append(shift_close(next(seq["T1"]), shifts["tuesday"], 200000, device_code="T1",
                            created_at=_at("27", "22:00")))
    # The late shift sells past midnight (the next business day) and is never closed.
    sold(shifts["late"], at("T2", "27", "23:00"), line("COKE-1500", 2, 21000))
    sold(shifts["late"], at("T2", "28", "01:30", "c2"), line("TAPAL-190", 1, 55000),
         payments=[{"tender": "wallet", "amount": 55000, "wallet": "jazzcash", "reference": "W3",
                    "unverified": True}])
    sold(None, at("T2", "28", "10:00"), line("LUX-SOAP", 1, 17000))   # in no shift
    return docs, shifts


async def test_the_shifts_of_a_range_equal_each_shifts_own_figures(cloud_client: Any, cloud_db_url: str,
                                                                   monkeypatch: Any) -> None:
    shop = await new_shop(cloud_client, cloud_db_url)
    docs, shifts = _days_at_the_counter()
    half = len(docs) // 2
    for batch in (docs[half:], docs[:half]):   # closings before their openings, some
        results = (await (await post_batch(cloud_client, shop, batch)).json())["results"]
        assert [r["status"] for r in results] == ["stored"] * len(batch), results
    engine = create_engine(cloud_db_url)
    try:
        async with reading(engine) as conn:
            together = await shifts_between(conn, shop["shop_id"], "2026-11-26", "2026-11-28")
            one_by_one = {sid: await counter_figures(conn, shop["shop_id"], shift_id=sid) for sid in shifts.values()}
            monkeypatch.setattr(reports, "_SHIFTS_A_STATEMENT", 2)   # several statements' worth of shifts
            in_pairs = await shift_figures(conn, shop["shop_id"], list(shifts.values()))
    finally:
        await engine.dispose()
    assert [z["shift_id"] for z in together] == [shifts[n] for n in ("monday", "tuesday", "late", "idle")]
    for z in together:
        mine = [d for d in docs if d.get("shift_id") == z["shift_id"] and d["kind"] != "shift_close"]
        assert {k: z[k] for k in FIGURES} == one_by_one[z["shift_id"]] == in_pairs[z["shift_id"]]
        assert {k: z[k] for k in FIGURES} == figures(mine)
    late = together[2]
    assert (late["sales_count"], late["by_tender"], late["unverified"]) == (
        2, {"cash": 42000, "wallet": 55000}, {"count": 1, "amount": 55000})
    assert together[3]["sales_count"] == 0 and together[3]["by_cashier"] == {}
    # Each day's Z-reports (GET .../reports/shifts) are the same as that day's shifts in the range.
    for day in ("26", "27", "28"):
        listed = (await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/shifts?date=2026-11-{day}",
                                                headers=shop["owner"])).json())["shifts"]
        in_range = {z["shift_id"]: z for z in together}
        assert listed and all(z == in_range[z["shift_id"]] for z in listed)
