"""Business day from true time: a tablet whose clock is days or a year off files its sales on the
right day, and health names the tablet whose clock is wrong. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import text

from cloud_api.contract import business_date, clock_skew_ms, describe_skew, true_time
from cloud_api.database import create_engine
from tests.cloud.test_ingest import new_shop, post_batch
from tests.conftest import cloud_at_revision, make_sale

KARACHI = timezone(timedelta(hours=5))
DAY_MS = 86_400_000
# The box's clock: 18:30 in Karachi on 28 November, when it received each sale.
RECEIVED = datetime(2026, 11, 28, 13, 30, tzinfo=timezone.utc)


def skewed_sale(device: str, code: str, seq: int, skew_ms: int, offset_known: bool = True) -> tuple[dict, str]:
    """A sale made at the box's 18:29 on a tablet whose clock is `skew_ms` off (positive: behind)."""
    device_clock = (RECEIVED - timedelta(minutes=1) - timedelta(milliseconds=skew_ms)).astimezone(KARACHI)
    sale = make_sale(device_id=device, device_code=code, seq=seq, created_at=device_clock.isoformat(),
                     clock_offset_ms=skew_ms if offset_known else None)
    return sale, RECEIVED.isoformat().replace("+00:00", "Z")


def test_true_time_corrects_by_the_offset_and_never_passes_the_box():
    assert true_time("2026-11-25T18:29:00+05:00", 3 * DAY_MS) == datetime(2026, 11, 28, 18, 29, tzinfo=KARACHI)
    a_year_ahead = "2027-11-28T18:29:00+05:00"
    assert true_time(a_year_ahead, None, "2026-11-28T13:30:00Z") == RECEIVED   # bounded by received_at
    assert business_date(a_year_ahead, received_at="2026-11-28T13:30:00Z").isoformat() == "2026-11-28"
    assert business_date("2026-11-28T23:59:00+05:00").isoformat() == "2026-11-28"   # no skew: as before
    assert clock_skew_ms(a_year_ahead, None, "2026-11-28T13:30:00Z") < -364 * DAY_MS
    assert clock_skew_ms("2026-11-25T18:29:00+05:00", None, "2026-11-28T13:30:00Z") is None   # held offline?
    assert describe_skew(3 * DAY_MS) == "3 days behind" and describe_skew(-3_600_000) == "1 hour ahead"


async def test_skewed_tablets_file_every_sale_on_the_right_day_and_are_flagged(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    cases = [  # device, code, skew, offset measured by the till?
        ("dev-behind", "T1", 3 * DAY_MS, True),
        ("dev-ahead", "T2", -3 * DAY_MS, True),
        ("dev-year", "T3", -366 * DAY_MS, False),   # a year fast, never synced its clock: received_at bounds it
        ("dev-good", "T4", 2_000, True),
    ]
    for device, code, skew, known in cases:
        sale, received = skewed_sale(device, code, 1, skew, known)
        response = await cloud_client.post("/v1/journal:batch", headers=shop["gateway"], json={
            "documents": [sale], "received_at": {sale["id"]: received}})
        assert (await response.json())["results"][0]["status"] == "stored", await response.text()

    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        days = dict((await conn.execute(text("SELECT device_code, business_date FROM documents"))).all())
    await engine.dispose()
    assert days == {"T1": "2026-11-28", "T2": "2026-11-28", "T3": "2026-11-28", "T4": "2026-11-28"}

    summary = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/summary",
                                            params={"date": "2026-11-28"}, headers=shop["owner"])).json()
    assert summary["sales_count"] == 4

    health = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/health", headers=shop["owner"])).json()
    warnings = {d["device_code"]: d["clock_warning"] for d in health["devices"]}
    assert warnings["T1"] == "T1's clock is 3 days behind"
    assert warnings["T2"] == "T2's clock is 3 days ahead"
    assert warnings["T3"] == "T3's clock is 1 year ahead"
    assert warnings["T4"] is None   # two seconds is not worth a word


async def test_a_tablet_whose_clock_battery_died_files_on_the_true_day(cloud_client, cloud_db_url):
    """Its clock says 1970; the offset the till measured at pairing puts its sale on the right day."""
    shop = await new_shop(cloud_client, cloud_db_url)
    device_clock = datetime(1970, 1, 1, 5, 0, 12, tzinfo=KARACHI)
    offset_ms = int((RECEIVED - timedelta(minutes=1) - device_clock) / timedelta(milliseconds=1))
    sale = make_sale(device_id="dev-1970", device_code="T5", seq=1, created_at=device_clock.isoformat(),
                     clock_offset_ms=offset_ms)
    response = await cloud_client.post("/v1/journal:batch", headers=shop["gateway"], json={
        "documents": [sale], "received_at": {sale["id"]: RECEIVED.isoformat().replace("+00:00", "Z")}})
    assert (await response.json())["results"][0]["status"] == "stored"
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        day = (await conn.execute(text("SELECT business_date FROM documents"))).scalar_one()
    await engine.dispose()
    assert day == "2026-11-28"
    health = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/health", headers=shop["owner"])).json()
    assert health["devices"][0]["clock_warning"] == "T5's clock is 56 years behind"
    # The same sale without a measured offset is refused with a reason, not filed in 1970.
    unmeasured = make_sale(device_id="dev-1970", device_code="T5", seq=2, created_at=device_clock.isoformat())
    answer = await (await post_batch(cloud_client, shop, [unmeasured])).json()
    assert answer["results"][0]["status"] == "invalid" and "2000..2100" in answer["results"][0]["reason"]


async def test_a_clock_put_right_clears_the_flag(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    for seq, skew in ((1, 3 * DAY_MS), (2, 1_000)):
        sale, received = skewed_sale("dev-1", "T1", seq, skew)
        await post_batch(cloud_client, shop, [sale])
    health: Any = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/health", headers=shop["owner"])).json()
    assert health["devices"][0]["clock_warning"] is None and health["devices"][0]["clock_skew_ms"] == 1_000


async def test_migration_0002_upgrades_a_cloud_made_by_the_previous_version(cloud_db_url):
    """A cloud database at 0001 with a device in it gains clock_skew_ms and keeps its rows (both backends)."""
    from cloud_api.database import migrate
    engine = await cloud_at_revision(cloud_db_url, "0001")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO devices (shop_id, device_id, device_code, first_seen_at, "
                                "last_heard_at, contiguous_seq, max_seq) VALUES ('s', 'd', 'T1', 'x', 'x', 4, 4)"))
    await migrate(engine)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT device_code, max_seq, clock_skew_ms FROM devices"))).one()
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    await engine.dispose()
    assert tuple(row) == ("T1", 4, None) and version >= "0002"   # 0002, and any revision after it
