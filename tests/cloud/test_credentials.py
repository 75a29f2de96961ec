"""Cashier PINs in the cloud: the policy on PUT, and the hash cost every tablet's copy carries (issue 6, item 5)."""
from __future__ import annotations

from typing import Any

from cloud_api import credentials
from cloud_api.credentials import PIN_ITERATIONS, PIN_MIN_DIGITS, pin_matches
from tests.cloud.test_ingest import new_shop

# One core, Python's hashlib (OpenSSL), measured on the test machine: 1.2M rounds in 0.26-0.27 s.
MEASURED_ROUNDS_PER_S = 4_500_000
DAY_S = 24 * 3600


def test_a_stolen_tablet_needs_more_than_a_day_of_one_core_per_pin():
    whole_space_s = 10 ** PIN_MIN_DIGITS * PIN_ITERATIONS / MEASURED_ROUNDS_PER_S
    assert PIN_ITERATIONS >= 1_200_000
    assert whole_space_s / 2 > DAY_S   # even the expected time, not just the worst case (37 h, 74 h)


async def test_the_owner_api_refuses_pins_outside_the_policy(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    url = f"/v1/shops/{shop['shop_id']}/cashiers/c1"
    for pin in ("1234", "12345", "1234567890123", "12345a", "１２３４５６", "123456\n", " 123456", ""):
        response = await cloud_client.put(url, headers=shop["owner"], json={"name": "Ayesha", "pin": pin})
        assert response.status == 400, pin
        assert (await response.json())["error"]["message"] == "pin: a cashier PIN must be 6 to 12 digits", pin
    refused = await cloud_client.put(url, headers=shop["owner"], json={"name": "Ayesha", "pin": 135790})
    assert refused.status == 400   # a number is not a PIN (leading zeros would be lost)
    catalog = await (await cloud_client.get("/v1/catalog", headers=shop["gateway"])).json()
    assert catalog["cashiers"] == []   # nothing refused was stored


async def test_new_pins_are_hashed_at_the_full_cost(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    for cashier_id, pin in (("c1", "135790"), ("c2", "000000000042")):
        response = await cloud_client.put(f"/v1/shops/{shop['shop_id']}/cashiers/{cashier_id}", headers=shop["owner"],
                                          json={"name": cashier_id, "pin": pin})
        assert response.status == 200 and await response.json() == {"cashier_id": cashier_id, "name": cashier_id,
                                                                "max_discount_bp": 0, "can_refund": True}
    catalog = await (await cloud_client.get("/v1/catalog", headers=shop["gateway"])).json()
    by_id = {c["cashier_id"]: c for c in catalog["cashiers"]}
    assert {c["pin_iterations"] for c in by_id.values()} == {credentials.PIN_ITERATIONS}
    assert credentials.PIN_ITERATIONS >= 1_200_000
    one = by_id["c2"]
    assert pin_matches("000000000042", one["pin_salt"], one["pin_iterations"], one["pin_hash"])
    assert not pin_matches("42", one["pin_salt"], one["pin_iterations"], one["pin_hash"])
