"""The LAN API of customers and their khata, for paired tills (gateway/khata.py holds the rules).

- GET /api/v1/customers: every customer with balance (ETag; 304 while unchanged), so a till can search
  by name or phone offline from its cache, and device_seq: the asking tablet's highest seq the box holds;
- GET /api/v1/customers/{customer_id}: one customer, the last entries the box saw and device_seq
  (404 unknown_customer);
- POST /api/v1/khata/approvals (approval protocol v2): before every on-account sale a tablet asks. Credit
  without a PIN: the box approves by itself within the limit, counting open holds (khata.HOLD_S), the
  check and the hold in one write transaction, so two tablets asking at once cannot both take the last
  of a limit; past it 403 owner_approval_needed with the figures. With the owner's PIN (credit or an
  adjustment): /admin's owner PIN, with owner_pin.py's limits per client address; check, verify and
  record happen in one write transaction, as /admin's sign-in does, so parallel guesses queue behind each
  other and cannot slip past the limit (the argon2 check runs in a thread, ~0.1 s, bounded by those limits).
  A wrong PIN is 403 wrong_pin; 401 only ever means the tablet itself is not (or no longer) paired.
"""
from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from cloud_api.contract import MAX_PAISA, DocumentId
from cloud_api.service.errors import Conflict, Forbidden, TooManyRequests
from cloud_api.service.web import bearer_token, json_with_etag, read_model

from . import khata, owner_pin
from .dashboard import format_rs
from .errors import UnknownCustomer
from .keys import STORE
from .pairing import device_for_token

routes = web.RouteTableDef()


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: DocumentId
    # Credit: the sale's on-account amount (> 0). An adjustment: its signed amount (not 0).
    amount: Annotated[StrictInt, Field(ge=-MAX_PAISA, le=MAX_PAISA)]
    purpose: Literal["credit", "adjustment"]
    # Absent: the box approves credit by itself within the limit. Present: the owner approves.
    pin: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None

    @model_validator(mode="after")
    def _amount(self) -> "ApprovalRequest":
        if self.purpose == "credit" and self.amount <= 0:
            raise ValueError("credit to approve is an amount above 0")
        if self.amount == 0:
            raise ValueError("an adjustment of nothing needs no approval")
        return self


class Approval(BaseModel):
    approval_id: str
    approved_at: str
    balance: int          # the customer's balance as the box counts it, before this approval
    credit_limit: int     # theirs, or the shop's default_credit_limit for a customer unknown to the box
    held: int             # other open holds (unused credit approvals younger than khata.HOLD_S)
    by: Literal["box", "owner"]


class WrongOwnerPin(Forbidden):
    code = "wrong_pin"


def _needs_owner(message: str, room: dict[str, int]) -> web.Response:
    """403 owner_approval_needed, with the figures the tablet shows the cashier."""
    return web.json_response({"error": {"code": "owner_approval_needed", "message": message}, **room}, status=403)


async def _device_id(request: web.Request) -> str:
    return (await device_for_token(request.app[STORE], bearer_token(request))).device_id


@routes.get("/api/v1/customers")
async def customers(request: web.Request) -> web.Response:
    """Every customer the box knows with their balance (snapshot + entries since), by name."""
    device_id = await _device_id(request)
    return json_with_etag(request, *await khata.customers_for_tills(request.app[STORE].read(), device_id))


@routes.get("/api/v1/customers/{customer_id}")
async def customer(request: web.Request) -> web.Response:
    """One customer with the last entries the box saw, newest first."""
    device_id = await _device_id(request)
    customer_id = request.match_info["customer_id"]
    found = await khata.customer_khata(request.app[STORE].read(), customer_id[:64], device_id)
    if found is None:
        raise UnknownCustomer("This customer is not on the shop box yet. A customer made on a tablet that is "
                              "offline reaches the box when that tablet reconnects.")
    return web.json_response(found)


@routes.post("/api/v1/khata/approvals")
async def approve(request: web.Request) -> web.Response:
    """201 with an approval id (by the box within the limit, or by the owner's PIN); 403
    owner_approval_needed past the limit without a PIN, 403 wrong_pin, 429 while locked out, 409 no PIN set."""
    device_id = await _device_id(request)
    body = await read_model(request, ApprovalRequest)
    address = request.remote or "unknown"
    store = request.app[STORE]
    if body.pin is None:
        async with store.transaction() as db:   # the check and the hold: one write transaction
            room = await khata.credit_room(db, body.customer_id)
            fits = (body.purpose == "credit"
                    and room["balance"] + room["held"] + body.amount <= room["credit_limit"])
            if fits:
                approval = await khata.issue_approval(db, body.customer_id, body.amount, body.purpose, device_id,
                                                      address, by="box")
        if not fits:
            if body.purpose == "adjustment":
                return _needs_owner("An adjustment of a khata needs the owner's PIN.", room)
            return _needs_owner(
                f"This takes the customer to {format_rs(room['balance'] + room['held'] + body.amount)}, past their "
                f"limit of {format_rs(room['credit_limit'])}: the owner's PIN is needed.", room)
        return web.json_response(Approval(**approval, **room, by="box").model_dump(), status=201)
    approval = None
    async with store.transaction() as db:
        has_pin = await owner_pin.has_owner_pin(db)
        locked = await owner_pin.lockout(db, address) if has_pin else None
        if has_pin and locked is None:
            if await owner_pin.verify_pin(db, body.pin.strip()):
                await owner_pin.record_success(db, address)
                room = await khata.credit_room(db, body.customer_id)
                approval = await khata.issue_approval(db, body.customer_id, body.amount, body.purpose, device_id,
                                                      address, by="owner")
            else:
                await owner_pin.record_failure(db, address)   # committed before the answer
    if not has_pin:
        raise Conflict("No owner PIN is set on the shop box. The installer sets one with "
                       "`posline-gateway admin-pin`; then the owner can approve.")
    if locked is not None:
        raise TooManyRequests(locked.message(), locked.wait_s)
    if approval is None:
        raise WrongOwnerPin("That is not the owner's PIN.")
    return web.json_response(Approval(**approval, **room, by="owner").model_dump(), status=201)
