"""What `make run` prints: the owner's "Today's sales" command asks for the shop's business day."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from cloud_api.service.clock import shop_today
from gateway import demo
from gateway.certificates import ensure_ca

# 20:00 UTC on 30 November is 01:00 on 1 December in Karachi: the machine's date is not the shop's.
EVENING_UTC = datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)


def test_the_shops_day_is_read_on_its_own_clock() -> None:
    assert shop_today("Asia/Karachi", EVENING_UTC) == date(2026, 12, 1)
    assert shop_today("UTC", EVENING_UTC) == date(2026, 11, 30)
    assert shop_today("Asia/Karachi", datetime(2026, 11, 30, 18, 59, tzinfo=timezone.utc)) == date(2026, 11, 30)


def test_make_run_prints_todays_sales_for_the_shops_business_day(tmp_path: Path) -> None:
    ensure_ca(tmp_path)
    shop = {"shop_id": "shop-1", "owner_token": "owner-token", "cashier_pin": "135790", "cashier_name": "Ayesha"}
    cloud = demo.Service("cloud", [], "http://127.0.0.1:8700", tmp_path / "cloud.log")
    banner = demo._banner(shop, cloud, tmp_path, "123456", now=EVENING_UTC)
    # The demo shop sells in Pakistan (DEMO_ZONE): at 20:00 UTC its sales are filed under 1 December.
    assert demo.DEMO_ZONE == "Asia/Karachi"
    assert "/v1/shops/shop-1/reports/summary?date=2026-12-01'" in banner
    assert "Pairing code:  123456" in banner
    # The till as a tablet opens it, by its name (a loopback address is a secure context to any
    # browser), and another pairing code from the command line.
    assert f"--host-resolver-rules='MAP posline.local 127.0.0.1' https://posline.local:{demo.GATEWAY_PORT}/" in banner
    assert f"-m gateway.cli pair-code --state-dir {tmp_path}" in banner
