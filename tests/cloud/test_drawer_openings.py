"""Drawer openings without a sale (drawer_open documents, "Open drawer" on a till) on the owner's
Z-reports, on SQLite and PostgreSQL: each shift counts its own, with the reasons in the till's order;
an opening outside any shift, or of another shift, is not counted there."""
from __future__ import annotations

from typing import Any

from tests.cloud.counter_documents import _base, hashed, line, sale, shift_close, shift_open
from tests.cloud.office_helpers import owned_shop, sign_in
from tests.cloud.test_office_reports import report

DAY = "2026-11-27"


def drawer_open(seq: int, reason: str, shift_id: str | None, **base: Any) -> dict[str, Any]:
    doc = {**_base("drawer_open", seq, **base), "reason": reason}
    if shift_id:
        doc["shift_id"] = shift_id
    return hashed(doc)


def _documents() -> tuple[list[dict[str, Any]], str, str]:
    def at(hour: str) -> str:
        return f"{DAY}T{hour}:00+05:00"
    t1 = shift_open(1, 500000, device_code="T1", created_at=at("09:00"))
    t2 = shift_open(1, 200000, device_code="T2", created_at=at("09:30"))
    docs = [
        t1, t2,
        drawer_open(2, "Change for a customer", t1["id"], device_code="T1", created_at=at("10:00")),
        sale(3, [line("TAPAL-190", 1, 55000)], device_code="T1", created_at=at("10:05"), shift_id=t1["id"]),
        drawer_open(4, "Check the float", t1["id"], device_code="T1", created_at=at("12:00")),
        drawer_open(2, "No shift open", None, device_code="T2", created_at=at("09:10")),
        shift_close(5, t1["id"], counted_cash=555000, device_code="T1", created_at=at("21:00")),
    ]
    return docs, t1["id"], t2["id"]


async def test_each_shifts_z_report_counts_its_drawer_openings_with_the_reasons(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    enrolled = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    key = (await enrolled.json())["api_key"]
    docs, t1, t2 = _documents()
    # The second opening arrives before the first (a box's batches may): the till's order still holds.
    for batch in (docs[4:], docs[:4]):
        response = await cloud_client.post("/v1/journal:batch", json={"documents": batch},
                                           headers={"Authorization": f"Bearer {key}"})
        results = (await response.json())["results"]
        assert [r["status"] for r in results] == ["stored"] * len(batch), results

    owner = {"Authorization": f"Bearer {shop.owner_token}"}
    listed = (await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/reports/shifts?date={DAY}",
                                            headers=owner)).json())["shifts"]
    z = {row["shift_id"]: row for row in listed}
    assert (z[t1]["drawer_openings"], z[t1]["drawer_reasons"]) == (2, ["Change for a customer", "Check the float"])
    assert (z[t2]["drawer_openings"], z[t2]["drawer_reasons"]) == (0, [])
    assert z[t1]["over_short"] == 0   # a drawer opened for change moves no money

    await sign_in(cloud_client)
    page = await report(cloud_client, shop.shop_id, "shifts", DAY, DAY)
    assert "Drawer opened without a sale" in page.html
    cells = {row["device_code"]: row["drawer_opened"] for row in page.rows if row.get("device_code")}
    assert cells == {"T1": "2: Change for a customer; Check the float", "T2": "0"}
