"""What one PostData attempt means for the invoice (issue 9): pure, no I/O.

The rule is honesty: an invoice is fiscalized only when FBR / PRA said so in full (HTTP 2xx,
Code "100" and a real invoice number). Anything that could mean "it may exist on their side
but we do not know its number" is ambiguous, and the box then resends the SAME payload under
the SAME USIN; it never makes a second invoice and never guesses a number.

Kinds, and what the queue does with each:
- fiscalized: store the number; the receipt prints it and its QR code.
- rejected: the authority read the invoice and refused it (Code 102 ...): park this one job
  with its message for the owner, go on with the next.
- unauthorised: the token (or the POS's access) was refused: stop the whole queue, tell the owner.
- retry: nothing reached the authority, or it was down / busy, or what answered was not the
  authority at all (an answer without FBR's JSON: an HTML 404 from a wrong URL, a 405, a captive
  portal; `foreign_status` says so): try again later, same payload. Only an answer carrying FBR's
  `Code` is a refusal. The queue stops after several foreign answers in a row, naming the status.
- ambiguous: the request may have been recorded and we did not hear the outcome. After a timeout
  the same USIN is resent; after a few timeouts the owner is shown it. An answer that was heard
  but is unclear (a duplicate without a number, Code 100 without a number, FBR's JSON without a
  Code on a 2xx) is shown to the owner at once (flagged and set aside; not counted as the
  authority failing, since it answered); Retry sends the same USIN again.

`maybe_made`: after this attempt the invoice may exist on the authority's side although no
clear answer said so (the queue then keeps the job's sent_at: a later refusal of the same USIN
may only mean "already have it").
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["fiscalized", "rejected", "unauthorised", "retry", "ambiguous"]

SUCCESS_CODE = "100"
# What FBR writes instead of a number when it issued none.
NO_NUMBER = "not available"
# The API gateway in front of FBR (WSO2) answers faults with these codes: 900800-900807 are
# throttling (try later); the 9009xx family is authentication / authorisation.
_THROTTLE_FAULTS = range(900800, 900900)
# An answer that says the USIN was already used ("Duplicate USIN", "USIN already exists").
_DUPLICATE = re.compile(r"duplicat|already\s+(exists?|been|reported|submitted|generated|used)", re.IGNORECASE)


# Keys only FBR's / PRA's own PostData answer carries: without any, what answered was not the authority.
_FBR_KEYS = ("Code", "code", "Errors", "InvoiceNumber", "FBRInvoiceNumber")


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    number: str | None = None
    message: str = ""
    maybe_made: bool = False
    # The HTTP status of an answer that was not the authority's (no FBR JSON); None otherwise.
    foreign_status: int | None = None


def classify(status: int | None, body: Any, *, timed_out: bool, duplicate_hint: bool = False,
             authority: str = "FBR") -> Outcome:
    """Classify one attempt.

    `status` is the HTTP status, None when no answer came. `body` is the parsed JSON answer (a
    str / bytes is parsed here; anything unreadable counts as no JSON). `timed_out` is True only
    when the request may have reached the authority (the wait for the answer ran out, or the
    connection broke after sending); a connection that was never made is `timed_out` False with
    `status` None. `duplicate_hint`: this USIN was sent before without a clear outcome (an earlier
    attempt timed out, or the box stopped mid-post: the job's sent_at), so a refusal now may only
    mean "already have it". `authority` names
    FBR or PRA in the messages.
    """
    who = authority
    if status is None:
        if timed_out:
            return Outcome("ambiguous", maybe_made=True, message=(
                f"{who} did not answer in time, so it may or may not have recorded this invoice. "
                "It will be sent again with the same receipt number, never as a new invoice."))
        return Outcome("retry", message=f"Could not reach {who} (no internet, or its server is down). "
                                        "The invoice waits and is sent when the connection is back.")
    data = _parse(body)
    if status == 429 or status == 408:
        return Outcome("retry", message=f"{who}'s server is busy (HTTP {status}). "
                                        "The invoice waits and is sent again shortly.")
    if status >= 500:
        # A 502 / 504 from a proxy may come after the authority recorded the invoice.
        return Outcome("retry", maybe_made=True, message=f"{who}'s server is busy or failing (HTTP {status}). "
                                                         "The invoice waits and is sent again shortly.")
    fault = data.get("fault") if isinstance(data, dict) else None
    if isinstance(fault, dict) and _fault_code(fault) in _THROTTLE_FAULTS:
        return Outcome("retry", message=f"{who} asked us to slow down ({_fault_text(fault)}). "
                                        "The invoice is sent again shortly.")
    if status in (401, 403) or fault is not None:
        detail = _fault_text(fault) if isinstance(fault, dict) else f"HTTP {status}"
        return Outcome("unauthorised", message=(
            f"{who} refused the shop's access token ({detail}). No invoice is reported until the "
            f"token is corrected in the back office's FBR / PRA page (or Retry is pressed there)."))
    ok = 200 <= status < 300
    if not (isinstance(data, dict) and any(key in data for key in _FBR_KEYS)):
        # Not an answer about the invoice at all: an HTML 404 from a wrong URL, a 405, a redirect, a
        # captive portal's page. Nothing is parked for it; a 2xx of that kind may still have come
        # from behind which the invoice was made, so it keeps the doubt.
        return Outcome("retry", maybe_made=ok, foreign_status=status, message=(
            f"The {who} address answered HTTP {status}, not as {who} answers; the invoice waits and is "
            "sent again."))

    code = str(data.get("Code", data.get("code", ""))).strip()
    number = _invoice_number(data)
    said = _said(data)
    if ok and code == SUCCESS_CODE:
        if number:
            return Outcome("fiscalized", number=number, message=f"{who} invoice number {number}")
        return Outcome("ambiguous", maybe_made=True, message=(
            f"{who} accepted the invoice but gave no invoice number. Check it on {who}'s portal; Retry "
            "sends it again with the same receipt number to learn it."))
    if _DUPLICATE.search(said) or duplicate_hint:
        # The USIN may already be on the authority's books (an earlier attempt we heard nothing
        # of). Its number is not guessed: the owner checks it on the authority's portal.
        seen = (f"named number {number} without confirming it" if number
                else "gave no invoice number for it")
        return Outcome("ambiguous", maybe_made=True, message=(
            f"{who} says this receipt number may already be reported but {seen} "
            f"({said or 'no details'}). Check it on {who}'s portal; it is never guessed."))
    if not code:
        # FBR's JSON without a Code: no refusal (only a Code is). A 2xx may have made it: shown to
        # the owner; anything else waits and is sent again, like an answer that was not FBR's.
        if ok:
            return Outcome("ambiguous", maybe_made=True, message=(
                f"{who} answered without a result code ({said or 'no details'}). Check it on {who}'s "
                "portal; Retry sends it again with the same receipt number."))
        return Outcome("retry", foreign_status=status, message=(
            f"{who} answered HTTP {status} without a result code ({said or 'no details'}); the invoice "
            "waits and is sent again."))
    detail = said or f"code {code}"
    return Outcome("rejected", message=f"{who} refused this invoice: {detail}")


def _parse(body: Any) -> Any:
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return body


def _invoice_number(data: dict[str, Any]) -> str | None:
    """The invoice number FBR / PRA gave, if a real one (not empty, not "Not Available")."""
    for key in ("InvoiceNumber", "FBRInvoiceNumber"):
        value = data.get(key)
        if value is None or isinstance(value, (bool, dict, list)):
            continue
        text = str(value).strip()
        if text and text.lower() != NO_NUMBER:
            return text
    return None


def _said(data: dict[str, Any]) -> str:
    """The authority's own words: its Response and its Errors (a string, a list or a dict)."""
    parts = [_flatten(data.get("Response"))]
    errors = _flatten(data.get("Errors"))
    if errors and errors not in parts:
        parts.append(errors)
    return "; ".join(part for part in parts if part)[:900]


def _flatten(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in value.items() if _flatten(v))
    if isinstance(value, list):
        return "; ".join(text for text in (_flatten(v) for v in value) if text)
    return str(value).strip()


def _fault_code(fault: dict[str, Any]) -> int | None:
    try:
        return int(fault.get("code"))
    except (TypeError, ValueError):
        return None


def _fault_text(fault: dict[str, Any]) -> str:
    words = [str(fault[key]).strip() for key in ("message", "description") if fault.get(key)]
    return ": ".join(words) or "access refused"
