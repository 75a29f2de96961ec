"""What one PostData attempt means (gateway/fiscal_outcome.py): honest outcomes, never a guessed number."""
from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.fiscal_outcome import Outcome, classify

OK = {"InvoiceNumber": "123456261127180509957*test*", "Code": "100",
      "Response": "Fiscal Invoice Number generated successfully.", "Errors": None}
INVALID = {"InvoiceNumber": "Not Available", "Code": "102", "Response": "Invalid data received",
           "Errors": ["TotalSaleValue is not the sum of the items' SaleValue"]}
FAULT = {"fault": {"code": 900901, "message": "Invalid Credentials",
                   "description": "Access failure for API: /FBR/v1/api/Live/PostData, version: v1 status: (900901)"}}


def test_fiscalized_on_2xx_code_100_and_a_number() -> None:
    outcome = classify(200, OK, timed_out=False)
    assert outcome == Outcome("fiscalized", number=OK["InvoiceNumber"],
                              message=f"FBR invoice number {OK['InvoiceNumber']}")


@pytest.mark.parametrize("body", [
    {"FBRInvoiceNumber": "N1", "Code": "100"},           # PRA / older FBR spelling
    {"InvoiceNumber": "N1", "Code": 100},                # a numeric Code
    {"InvoiceNumber": " N1 ", "Code": " 100"},
    json.dumps({"InvoiceNumber": "N1", "Code": "100"}),  # the raw text
    json.dumps({"InvoiceNumber": "N1", "Code": "100"}).encode(),
    {"InvoiceNumber": "Not Available", "FBRInvoiceNumber": "N1", "Code": "100"},
])
def test_the_number_may_come_under_either_name_and_the_code_as_a_number(body: Any) -> None:
    assert classify(201, body, timed_out=False) == Outcome("fiscalized", "N1", "FBR invoice number N1")


@pytest.mark.parametrize("body", [
    {"InvoiceNumber": "Not Available", "Code": "100"},
    {"InvoiceNumber": "NOT AVAILABLE", "Code": "100"},
    {"InvoiceNumber": "", "Code": "100"},
    {"InvoiceNumber": None, "Code": "100"},
    {"Code": "100"},
])
def test_success_without_a_real_number_is_ambiguous_never_fiscalized(body: Any) -> None:
    outcome = classify(200, body, timed_out=False)
    assert outcome.kind == "ambiguous" and outcome.number is None and outcome.maybe_made
    # The queue flags it for the owner at once (it answered); Retry sends the same USIN.
    assert "same receipt number" in outcome.message and "portal" in outcome.message


@pytest.mark.parametrize("status, body", [
    (404, "<html><body>404 Not Found</body></html>"),   # a wrong URL (the other environment's path)
    (405, ""),                                          # a wrong method / path
    (400, {"title": "Bad Request"}),                    # some other server's JSON
    (422, None),
    (200, "<html>Please sign in to the Wi-Fi</html>"),  # a captive portal
    (200, None),
    (302, None),                                        # a redirect
])
def test_an_answer_without_fbrs_json_is_retried_never_parked(status: int, body: Any) -> None:
    outcome = classify(status, body, timed_out=False)
    assert outcome.kind == "retry" and outcome.number is None
    assert outcome.foreign_status == status and f"answered HTTP {status}" in outcome.message
    # A 2xx of that kind may still have come from in front of the authority: the doubt is kept.
    assert outcome.maybe_made == (200 <= status < 300)
    # Even after an unanswered attempt, it is no answer about the invoice.
    assert classify(status, body, timed_out=False, duplicate_hint=True).kind == "retry"


def test_only_an_answer_carrying_fbrs_code_is_a_refusal() -> None:
    assert classify(400, {"Errors": ["USIN is required"]}, timed_out=False).kind == "retry"
    assert classify(400, {"Code": "102", "Errors": ["USIN is required"]}, timed_out=False).kind == "rejected"
    assert classify(200, {"InvoiceNumber": "Not Available", "Code": "102"}, timed_out=False).kind == "rejected"


def test_a_number_without_code_100_is_not_success() -> None:
    outcome = classify(200, {"InvoiceNumber": "N1", "Code": "101", "Response": "Something else"}, timed_out=False)
    assert outcome.kind == "rejected" and outcome.number is None
    # A number without any Code: not a refusal (only a Code is), not success either: for the owner.
    unclear = classify(200, {"InvoiceNumber": "N1"}, timed_out=False)
    assert unclear.kind == "ambiguous" and unclear.number is None
    assert classify(400, OK, timed_out=False).kind == "rejected"    # only 2xx is success


def test_102_is_rejected_with_the_authoritys_words() -> None:
    outcome = classify(200, INVALID, timed_out=False)
    assert outcome.kind == "rejected" and outcome.number is None
    assert outcome.message == ("FBR refused this invoice: Invalid data received; "
                               "TotalSaleValue is not the sum of the items' SaleValue")
    pra = classify(200, dict(INVALID, Errors="bad PCT code"), timed_out=False, authority="PRA")
    assert pra.message == "PRA refused this invoice: Invalid data received; bad PCT code"


def test_other_4xx_with_fbrs_code_are_rejected() -> None:
    outcome = classify(400, {"Code": "102", "Response": "Bad request", "Errors": {"USIN": ["required"]}},
                       timed_out=False)
    assert outcome.kind == "rejected" and "USIN: required" in outcome.message and not outcome.maybe_made


@pytest.mark.parametrize("status, body", [(401, FAULT), (403, None), (401, "not json"), (200, FAULT)])
def test_a_refused_token_is_unauthorised(status: int, body: Any) -> None:
    outcome = classify(status, body, timed_out=False)
    assert outcome.kind == "unauthorised" and outcome.number is None
    assert "token" in outcome.message and "FBR / PRA page" in outcome.message


def test_the_fault_text_is_shown() -> None:
    message = classify(401, FAULT, timed_out=False).message
    assert "Invalid Credentials: Access failure for API" in message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_server_trouble_is_retried(status: int) -> None:
    outcome = classify(status, {"message": "down"}, timed_out=False)
    assert outcome.kind == "retry" and f"HTTP {status}" in outcome.message


def test_a_throttling_fault_is_retried_not_a_stopped_queue() -> None:
    throttled = {"fault": {"code": 900802, "message": "Message throttled out", "description": "quota"}}
    assert classify(200, throttled, timed_out=False).kind == "retry"


def test_never_sent_is_retried() -> None:
    outcome = classify(None, None, timed_out=False)
    assert outcome.kind == "retry" and "Could not reach FBR" in outcome.message and not outcome.maybe_made
    assert outcome.foreign_status is None


def test_a_redirect_is_retried_not_parked() -> None:
    assert classify(302, None, timed_out=False).kind == "retry"


def test_a_timeout_after_sending_is_ambiguous() -> None:
    outcome = classify(None, None, timed_out=True)
    assert outcome.kind == "ambiguous" and outcome.number is None and outcome.maybe_made
    assert "same receipt number" in outcome.message and "never as a new invoice" in outcome.message


@pytest.mark.parametrize("body", [
    {"InvoiceNumber": "Not Available", "Code": "102", "Response": "Duplicate USIN",
     "Errors": ["USIN T1-000001 already exists for POSID 123456"]},
    {"Code": "103", "Response": "USIN already exists"},
    {"Code": "102", "Response": "Invoice already reported"},
])
def test_a_duplicate_answer_without_a_number_is_ambiguous(body: Any) -> None:
    outcome = classify(200, body, timed_out=False)
    assert outcome.kind == "ambiguous" and outcome.number is None
    assert "never guessed" in outcome.message and "portal" in outcome.message


def test_a_duplicate_naming_a_number_without_success_is_still_not_fiscalized() -> None:
    outcome = classify(200, {"InvoiceNumber": "N7", "Code": "102", "Response": "Duplicate USIN"}, timed_out=False)
    assert outcome.kind == "ambiguous" and outcome.number is None and "N7" in outcome.message


def test_after_an_unanswered_attempt_a_refusal_is_ambiguous() -> None:
    # The first attempt may have made the invoice; a refusal now does not prove it does not exist.
    assert classify(200, INVALID, timed_out=False, duplicate_hint=True).kind == "ambiguous"
    # ... but a clear success is still a success, and the token problem still stops the queue.
    assert classify(200, OK, timed_out=False, duplicate_hint=True).kind == "fiscalized"
    assert classify(401, FAULT, timed_out=False, duplicate_hint=True).kind == "unauthorised"


def test_outcomes_are_frozen() -> None:
    outcome = classify(200, OK, timed_out=False)
    with pytest.raises(AttributeError):
        outcome.kind = "rejected"   # type: ignore[misc]
