"""The FBR / PRA simulator behaves as the plan says: each behaviour asserted (tests/fbr_sim.py)."""
from __future__ import annotations

import asyncio
import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.fiscal_invoice import post_data
from gateway.fiscal_outcome import classify
from tests.conftest import make_sale
from tests.fbr_sim import SIM_TOKEN, FbrSimulator, validate
from tests.fbr_sim import fbr_sim as fbr_sim_fixture  # noqa: F401 (the fixture `fbr_sim`)

AUTH = {"Authorization": f"Bearer {SIM_TOKEN}"}
POS = 123456


def invoice(mode: str = "fbr", **sale: Any) -> dict[str, Any]:
    return post_data(make_sale(**sale), pos_id=POS, mode=mode, products={}, tz="Asia/Karachi")


async def post(url: str, body: Any, headers: dict[str, str] | None = AUTH, timeout: float = 5) -> httpx.Response:
    async with httpx.AsyncClient(timeout=timeout) as client:
        if isinstance(body, (str, bytes)):
            return await client.post(url, content=body, headers=headers or {})
        return await client.post(url, json=body, headers=headers or {})


async def test_a_valid_invoice_gets_a_test_number_and_is_recorded(fbr_sim: FbrSimulator) -> None:
    body = invoice(seq=7)
    answer = await post(fbr_sim.url("fbr"), body)
    assert answer.status_code == 200
    data = answer.json()
    assert data["Code"] == "100" and data["Errors"] is None
    # <POSID><yyMMddHHmmss><n>*test*
    assert re.fullmatch(r"123456[0-9]{12}1\*test\*", data["InvoiceNumber"]), data
    assert fbr_sim.invoices[(POS, "T1-000007")]["number"] == data["InvoiceNumber"]
    assert fbr_sim.invoices[(POS, "T1-000007")]["payload"] == body
    assert fbr_sim.requests[-1]["authorization"] == AUTH["Authorization"]
    assert fbr_sim.requests[-1]["status"] == 200
    assert classify(answer.status_code, data, timed_out=False).kind == "fiscalized"


async def test_it_listens_on_loopback_only(fbr_sim: FbrSimulator) -> None:
    sockets = fbr_sim._site._server.sockets   # type: ignore[union-attr]
    assert sockets and {sock.getsockname()[0] for sock in sockets} == {"127.0.0.1"}
    assert fbr_sim.base_url == f"http://127.0.0.1:{fbr_sim.port}"


async def test_numbers_count_up_and_production_numbers_have_no_test_mark() -> None:
    async with FbrSimulator(test_mode=False) as sim:
        first = (await post(sim.url(), invoice(seq=1))).json()["InvoiceNumber"]
        second = (await post(sim.url(), invoice(seq=2))).json()["InvoiceNumber"]
    assert "*test*" not in first and first.endswith("1") and second.endswith("2")
    assert first != second and sim.numbers() == [first, second]


async def test_a_wrong_or_missing_token_answers_fbrs_fault_with_401(fbr_sim: FbrSimulator) -> None:
    wrong = await post(fbr_sim.url(), invoice(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    fault = wrong.json()["fault"]
    assert fault["code"] == 900901 and fault["message"] == "Invalid Credentials"
    assert "/FBR/v1/api/Live/PostData" in fault["description"]
    missing = await post(fbr_sim.url(), invoice(), headers=None)
    assert missing.status_code == 401 and missing.json()["fault"]["code"] == 900902
    assert fbr_sim.invoices == {}
    assert classify(401, wrong.json(), timed_out=False).kind == "unauthorised"
    # The token can be changed mid-test (the owner fixes it).
    fbr_sim.tokens = {"new"}
    assert (await post(fbr_sim.url(), invoice(), headers={"Authorization": "Bearer new"})).json()["Code"] == "100"


def broken(change: Any) -> dict[str, Any]:
    body = copy.deepcopy(invoice(discount=500))
    change(body)
    return body


@pytest.mark.parametrize("change, says", [
    (lambda b: b.pop("USIN"), "USIN is required"),
    (lambda b: b.update(POSID="123456"), "POSID must be integer"),
    (lambda b: b.update(TotalBillAmount="1095.00"), "TotalBillAmount must be number"),
    (lambda b: b.update(PaymentMode=True), "PaymentMode must be integer"),
    (lambda b: b["Items"][0].pop("PCTCode"), "Items[0].PCTCode is required"),
    (lambda b: b.update(Items=[]), "Items must be a non-empty list"),
    (lambda b: b.update(DateTime="2026-11-27T18:05:09"), "DateTime must be in the format yyyy-MM-dd HH:mm:ss"),
    (lambda b: b.update(DateTime="2026-02-30 18:05:09"), "DateTime is not a valid date and time"),
    (lambda b: b.update(TotalSaleValue=927.98), "TotalSaleValue is not the sum of the items' SaleValue"),
    (lambda b: b.update(TotalTaxCharged=167.02), "TotalTaxCharged is not the sum"),
    (lambda b: b.update(TotalQuantity=3), "TotalQuantity is not the sum"),
    (lambda b: b.update(Discount=0.0), "Discount is not the sum"),
    (lambda b: b.update(TotalBillAmount=1096.01), "TotalBillAmount is not the sum of the items' TotalAmount"),
    (lambda b: b.update(TotalBillAmount=1094.99), "TotalBillAmount is not the sum of the items' TotalAmount"),
    (lambda b: b["Items"][0].update(TaxCharged=167.04), "SaleValue + TaxCharged"),
    (lambda b: b["Items"][0].update(SaleValue=927.965), "at most 2 decimals"),
    (lambda b: b.update(InvoiceType=3) or b["Items"][0].update(InvoiceType=3), "RefUSIN is required"),
    (lambda b: b.update(POSID=999999), "POSID 999999 is not registered"),
    (lambda b: b["Items"][0].update(PCTCode="0902.300"), "PCTCode must be 8 digits"),
    (lambda b: b["Items"][0].update(InvoiceType=3), "must match the invoice's"),
])
async def test_invalid_invoices_answer_102_not_available(fbr_sim: FbrSimulator, change: Any, says: str) -> None:
    answer = await post(fbr_sim.url(), broken(change))
    assert answer.status_code == 200
    data = answer.json()
    assert data["Code"] == "102" and data["InvoiceNumber"] == "Not Available"
    assert data["Response"] == "Invalid data received"
    assert any(says in error for error in data["Errors"]), data["Errors"]
    assert fbr_sim.invoices == {}
    assert classify(200, data, timed_out=False).kind == "rejected"


async def test_a_body_that_is_not_json_is_invalid_data(fbr_sim: FbrSimulator) -> None:
    answer = await post(fbr_sim.url(), b"{not json")
    assert answer.json()["Code"] == "102" and fbr_sim.requests[-1]["payload"] == "{not json"


async def test_the_re_1_fee_may_be_on_top_of_the_items_and_no_more(fbr_sim: FbrSimulator) -> None:
    body = invoice(seq=1)
    body["TotalBillAmount"] = 1101.0          # Rs 1,100.00 of goods + the Re 1 fee
    assert (await post(fbr_sim.url(), body)).json()["Code"] == "100"
    body = invoice(seq=2)
    body["TotalBillAmount"] = 1101.01
    assert (await post(fbr_sim.url(), body)).json()["Code"] == "102"


async def test_a_credit_note_with_its_refusin_is_accepted(fbr_sim: FbrSimulator) -> None:
    body = invoice(seq=9)
    body["InvoiceType"] = 3
    body["RefUSIN"] = "T1-000001"
    for item in body["Items"]:
        item.update(InvoiceType=3, RefUSIN="T1-000001")
    assert (await post(fbr_sim.url(), body)).json()["Code"] == "100"


async def test_pra_wants_buyer_pntn_where_fbr_wants_buyer_ntn(fbr_sim: FbrSimulator) -> None:
    fbr_body, pra_body = invoice(seq=1), invoice("pra", seq=2)
    assert "BuyerPNTN" in pra_body and "BuyerNTN" not in pra_body
    refused = (await post(fbr_sim.url("pra"), fbr_body)).json()
    assert refused["Code"] == "102" and "BuyerPNTN is required" in refused["Errors"]
    assert (await post(fbr_sim.url("fbr"), pra_body)).json()["Errors"] == ["BuyerNTN is required"]
    assert (await post(fbr_sim.url("pra"), pra_body)).json()["Code"] == "100"
    assert fbr_sim.invoices[(POS, "T1-000002")]["authority"] == "pra"
    assert fbr_sim.url("pra").endswith("/ims/sandbox/api/Live/PostData")


async def test_a_timeout_records_the_invoice_and_the_resend_gets_the_same_number(fbr_sim: FbrSimulator) -> None:
    body = invoice(seq=3)
    fbr_sim.time_out_next(1, hold_s=5)
    with pytest.raises(httpx.ReadTimeout):
        await post(fbr_sim.url(), body, timeout=0.3)
    assert list(fbr_sim.invoices) == [(POS, "T1-000003")]      # it was made, the answer never came
    assert fbr_sim.requests[-1]["held"] is True
    again = (await post(fbr_sim.url(), body)).json()
    assert again["Code"] == "100" and again["InvoiceNumber"] == fbr_sim.invoices[(POS, "T1-000003")]["number"]
    assert len(fbr_sim.invoices) == 1 and len(fbr_sim.requests) == 2 and fbr_sim.timeouts == 0


async def test_duplicates_reject_answers_an_error_without_a_number(fbr_sim: FbrSimulator) -> None:
    fbr_sim.duplicates = "reject"
    body = invoice(seq=4)
    first = (await post(fbr_sim.url(), body)).json()
    second = (await post(fbr_sim.url(), body)).json()
    assert first["Code"] == "100"
    assert second["Code"] == "102" and second["InvoiceNumber"] == "Not Available"
    assert second["Response"] == "Duplicate USIN"
    assert len(fbr_sim.invoices) == 1
    assert classify(200, second, timed_out=False).kind == "ambiguous"


async def test_duplicates_generic_answers_invalid_data_without_a_word_of_a_duplicate(fbr_sim: FbrSimulator) -> None:
    fbr_sim.duplicates = "generic"
    body = invoice(seq=6)
    assert (await post(fbr_sim.url(), body)).json()["Code"] == "100"
    second = (await post(fbr_sim.url(), body)).json()
    assert second["Code"] == "102" and second["Response"] == "Invalid data received"
    assert "duplicate" not in json.dumps(second).lower() and "already" not in json.dumps(second).lower()
    assert len(fbr_sim.invoices) == 1
    # Only the box's memory of an unanswered earlier post makes it "maybe a duplicate".
    assert classify(200, second, timed_out=False).kind == "rejected"
    assert classify(200, second, timed_out=False, duplicate_hint=True).kind == "ambiguous"


async def test_the_same_usin_on_another_posid_is_another_invoice(fbr_sim: FbrSimulator) -> None:
    body = invoice(seq=5)
    await post(fbr_sim.url(), body)
    body["POSID"] = 123457
    await post(fbr_sim.url(), body)
    assert set(fbr_sim.invoices) == {(123456, "T1-000005"), (123457, "T1-000005")}


async def test_down_refuses_connections_and_up_listens_on_the_same_port(fbr_sim: FbrSimulator) -> None:
    url = fbr_sim.url()
    async with httpx.AsyncClient(timeout=2) as client:
        # A kept-alive connection from before must not be answered while down.
        assert (await client.post(url, json=invoice(seq=1), headers=AUTH)).status_code == 200
        await fbr_sim.down()
        with pytest.raises(httpx.TransportError):
            await client.post(url, json=invoice(seq=2), headers=AUTH)
    with pytest.raises(httpx.ConnectError):
        await post(url, invoice(seq=2))
    await fbr_sim.up()
    assert fbr_sim.url() == url
    assert (await post(url, invoice(seq=2))).json()["Code"] == "100"
    assert set(fbr_sim.invoices) == {(POS, "T1-000001"), (POS, "T1-000002")}


async def test_injected_failures_answer_the_status_and_record_nothing(fbr_sim: FbrSimulator) -> None:
    fbr_sim.fail_next(2, status=503)
    assert (await post(fbr_sim.url(), invoice())).status_code == 503
    assert (await post(fbr_sim.url(), invoice())).status_code == 503
    assert fbr_sim.invoices == {}
    assert classify(503, None, timed_out=False).kind == "retry"
    assert (await post(fbr_sim.url(), invoice())).json()["Code"] == "100"


async def test_the_control_api_steers_it_from_another_port() -> None:
    async with FbrSimulator(control_port=0) as sim:
        control = sim.control_url
        assert not control.startswith(sim.base_url)
        async with httpx.AsyncClient(timeout=2) as client:
            state = (await client.post(f"{control}/down")).json()
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.ConnectError):
                await post(sim.url(), invoice(seq=1))
            assert (await client.get(f"{control}/state")).json()["down"] is True
            await client.post(f"{control}/up")
            await client.post(f"{control}/timeouts", json={"count": 1, "hold_s": 3})
            await client.post(f"{control}/duplicates", json={"mode": "reject"})
            state = (await client.get(f"{control}/state")).json()
            assert state["timeouts"] == 1 and state["duplicates"] == "reject" and state["down"] is False
            with pytest.raises(httpx.ReadTimeout):
                await post(sim.url(), invoice(seq=1), timeout=0.3)
            invoices = (await client.get(f"{control}/invoices")).json()
            assert [(i["pos_id"], i["usin"]) for i in invoices] == [(POS, "T1-000001")]
            assert (await client.get(f"{control}/requests")).json()[0]["held"] is True
            await client.post(f"{control}/failures", json={"count": 1, "status": 500})
            assert (await post(sim.url(), invoice(seq=2))).status_code == 500
            await client.post(f"{control}/tokens", json={"tokens": ["other"]})
            assert (await post(sim.url(), invoice(seq=2))).status_code == 401
            await client.post(f"{control}/pos-ids", json={"pos_ids": [1]})
            refused = await post(sim.url(), invoice(seq=2), headers={"Authorization": "Bearer other"})
            assert "POSID 123456 is not registered" in refused.json()["Errors"]
            assert (await client.post(f"{control}/duplicates", json={"mode": "x"})).status_code == 400
            assert (await client.post(f"{control}/nothing")).status_code == 404
            await client.post(f"{control}/reset")
            assert (await client.get(f"{control}/invoices")).json() == []


async def test_it_runs_as_a_process_for_browser_tests() -> None:
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen([sys.executable, "-m", "tests.fbr_sim", "--port", "0", "--token", "cli-token",
                                "--pos-id", "42"], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)   # type: ignore[union-attr]
        urls = json.loads(line)
        assert urls["fbr"].startswith("http://127.0.0.1:") and urls["control"].endswith("/_sim")
        body = invoice(seq=1)
        body["POSID"] = 42
        answer = await post(urls["fbr"], body, headers={"Authorization": "Bearer cli-token"})
        assert answer.json()["Code"] == "100" and answer.json()["InvoiceNumber"].startswith("42")
        async with httpx.AsyncClient(timeout=2) as client:
            await client.post(f"{urls['control']}/down")
            await asyncio.sleep(0.1)
            with pytest.raises(httpx.ConnectError):
                await client.post(urls["fbr"], json=body)
            assert len((await client.get(f"{urls['control']}/invoices")).json()) == 1
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_validate_accepts_what_post_data_makes_and_lists_every_problem() -> None:
    assert validate(invoice(), "fbr", {POS}) == []
    assert validate([], "fbr", {POS}) == ["The request body is not a JSON object"]
    body = invoice()
    body["TotalSaleValue"] = float("nan")
    assert validate(body, "fbr", {POS}) == ["TotalSaleValue must be number"]
