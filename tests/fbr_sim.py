"""A local simulator of FBR's and PRA's PostData endpoints (issue 9): a real aiohttp server on 127.0.0.1.

No test ever reaches a real FBR / PRA host; the box is pointed here (settings.fiscal_url).

What it does, as the real services do (as far as their integration guides and answers go):
- Bearer auth: a missing or unknown token answers 401 with the API gateway's `fault` JSON.
- Validation: missing or wrongly typed fields, a DateTime not "yyyy-MM-dd HH:mm:ss", header totals
  that are not the sums of the items, TotalBillAmount that is not the items' TotalAmount plus at most
  the Re 1 POS fee, an item whose SaleValue + TaxCharged + FurtherTax is not its TotalAmount, a credit
  note (InvoiceType 3) without RefUSIN, an unregistered POSID: HTTP 200 with Code "102",
  "Invalid data received" and InvoiceNumber "Not Available", the problems listed in Errors.
- A valid invoice gets Code "100" and a number `<POSID><yyMMddHHmmss><n>`, with `*test*` appended in
  test mode (the sandbox's numbers).
- PRA (its paths) wants `BuyerPNTN` where FBR wants `BuyerNTN`.

What a test can inject:
- `time_out_next(n, hold_s)`: the next n PostData requests are processed (a valid invoice IS recorded)
  but the reply is held for hold_s seconds, past the client's timeout.
- `fail_next(n, status)`: the next n requests answer `status` (e.g. 503) and record nothing.
- `duplicates = "same"` (default): a USIN already fiscalized for that POSID answers the number issued
  then, creating nothing; `"reject"`: answers Code "102" "Duplicate USIN" without a number; `"generic"`:
  answers the generic Code "102" "Invalid data received" (no word of a duplicate) without a number.
- `await down()` / `await up()`: stop listening (connection refused) / listen again on the same port.

Paths (the sandbox / production paths of the real URLs; the path picks the authority):
FBR `/FBR/v1/api/Live/PostData` (and `/imsp/v1/api/Live/PostData`), PRA `/ims/sandbox/api/Live/PostData`
(and `/ims/production/api/Live/PostData`).

In-process:
    async with FbrSimulator(tokens={"tok"}, pos_ids={123456}) as sim:
        url = sim.url("fbr")            # or sim.url("pra")
        ...; sim.invoices[(123456, "T1-000001")]["number"]
or the pytest fixture `fbr_sim` (import it into the test module:
`from tests.fbr_sim import fbr_sim as fbr_sim_fixture  # noqa: F401`),
which has token SIM_TOKEN and POSIDs SIM_POS_IDS.

As a process (browser tests): `python -m tests.fbr_sim --port N [--control-port M]` prints one JSON line
{"fbr": url, "pra": url, "control": url} when ready. The control API (on the control port, which stays
up while the authority is "down", and on the main port while it is up):
    GET  /_sim/state                   down, pending timeouts / failures, duplicates mode, counts
    GET  /_sim/invoices                [{pos_id, usin, number, authority, payload, issued_at}]
    GET  /_sim/requests                [{authority, path, authorization, payload, status, answer, held}]
    POST /_sim/down   POST /_sim/up
    POST /_sim/timeouts   {"count": n, "hold_s": 30}
    POST /_sim/failures   {"count": n, "status": 503}
    POST /_sim/duplicates {"mode": "same" | "reject" | "generic"}
    POST /_sim/tokens     {"tokens": [...]}        POST /_sim/pos-ids {"pos_ids": [...]}
    POST /_sim/reset      forget invoices and requests, clear injections, up
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import signal
from datetime import datetime
from decimal import Decimal
from typing import Any, AsyncIterator, Iterable
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

HOST = "127.0.0.1"   # never anything else: no test traffic leaves the machine
FBR_PATHS = ("/FBR/v1/api/Live/PostData", "/imsp/v1/api/Live/PostData")
PRA_PATHS = ("/ims/sandbox/api/Live/PostData", "/ims/production/api/Live/PostData")
SIM_TOKEN = "sim-token-1234567890"
SIM_POS_IDS = frozenset({123456, 123457, 123458})
SUCCESS = "Fiscal Invoice Number generated successfully."
INVALID = "Invalid data received"
NOT_AVAILABLE = "Not Available"
SERVICE_FEE_RUPEES = Decimal("1.00")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_PCT = re.compile(r"[0-9]{8}")
_ZONE = ZoneInfo("Asia/Karachi")

# name -> the type check and what Errors says; header fields first (the buyer's NTN field is per authority).
_TEXT, _INT, _NUMBER, _OPTIONAL_TEXT = "text", "integer", "number", "text or null"
_HEADER = {"InvoiceNumber": _TEXT, "POSID": _INT, "USIN": _TEXT, "DateTime": _TEXT, "BuyerCNIC": _TEXT,
           "BuyerName": _TEXT, "BuyerPhoneNumber": _TEXT, "TotalBillAmount": _NUMBER, "TotalQuantity": _NUMBER,
           "TotalSaleValue": _NUMBER, "TotalTaxCharged": _NUMBER, "Discount": _NUMBER, "FurtherTax": _NUMBER,
           "PaymentMode": _INT, "InvoiceType": _INT, "RefUSIN": _OPTIONAL_TEXT}
_ITEM = {"ItemCode": _TEXT, "ItemName": _TEXT, "PCTCode": _TEXT, "Quantity": _NUMBER, "TaxRate": _NUMBER,
         "SaleValue": _NUMBER, "TaxCharged": _NUMBER, "TotalAmount": _NUMBER, "Discount": _NUMBER,
         "FurtherTax": _NUMBER, "InvoiceType": _INT, "RefUSIN": _OPTIONAL_TEXT}
_MONEY = ("SaleValue", "TaxCharged", "TotalAmount", "Discount", "FurtherTax")
_SUMS = {"TotalSaleValue": "SaleValue", "TotalTaxCharged": "TaxCharged", "TotalQuantity": "Quantity",
         "Discount": "Discount", "FurtherTax": "FurtherTax"}


def _typed(value: Any, kind: str) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _OPTIONAL_TEXT:
        return value is None or isinstance(value, str)
    if isinstance(value, bool):      # JSON true is not a number, whatever Python thinks
        return False
    if kind == _INT:
        return isinstance(value, int)
    # NaN / Infinity (which Python's JSON reader accepts) are no amounts.
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _decimal(value: int | float) -> Decimal:
    # The number as written on the wire (repr is the shortest text of the double), not the double's
    # binary expansion: 0.1 is 0.1 here, as it is to a .NET decimal on FBR's side.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def validate(invoice: Any, authority: str, pos_ids: Iterable[int]) -> list[str]:
    """Every problem with a PostData invoice, in words; [] when valid."""
    if not isinstance(invoice, dict):
        return ["The request body is not a JSON object"]
    errors: list[str] = []
    header = dict(_HEADER, **({"BuyerPNTN": _TEXT} if authority == "pra" else {"BuyerNTN": _TEXT}))
    for name, kind in header.items():
        if name not in invoice:
            errors.append(f"{name} is required")
        elif not _typed(invoice[name], kind):
            errors.append(f"{name} must be {kind}")
    items = invoice.get("Items")
    if not isinstance(items, list) or not items:
        errors.append("Items must be a non-empty list")
        items = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(f"Items[{i}] must be an object")
            continue
        for name, kind in _ITEM.items():
            if name not in item:
                errors.append(f"Items[{i}].{name} is required")
            elif not _typed(item[name], kind):
                errors.append(f"Items[{i}].{name} must be {kind}")
    if errors:
        return errors   # the arithmetic below needs every field present and typed

    if not _DATETIME.fullmatch(invoice["DateTime"]):
        errors.append("DateTime must be in the format yyyy-MM-dd HH:mm:ss")
    else:
        try:
            datetime.strptime(invoice["DateTime"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            errors.append("DateTime is not a valid date and time")
    if not invoice["USIN"].strip():
        errors.append("USIN is required")
    if invoice["POSID"] not in set(pos_ids):
        errors.append(f"POSID {invoice['POSID']} is not registered")
    if invoice["PaymentMode"] not in range(1, 7):
        errors.append("PaymentMode must be 1 to 6")
    if invoice["InvoiceType"] not in (1, 2, 3):
        errors.append("InvoiceType must be 1 (new), 2 (debit) or 3 (credit)")
    if invoice["InvoiceType"] == 3 and not invoice["RefUSIN"]:
        errors.append("RefUSIN is required for a credit note (InvoiceType 3)")

    for i, item in enumerate(items):
        if not item["ItemCode"].strip() or not item["ItemName"].strip():
            errors.append(f"Items[{i}]: ItemCode and ItemName are required")
        if not _PCT.fullmatch(item["PCTCode"]):
            errors.append(f"Items[{i}].PCTCode must be 8 digits")
        if item["InvoiceType"] != invoice["InvoiceType"] or item["RefUSIN"] != invoice["RefUSIN"]:
            errors.append(f"Items[{i}]: InvoiceType and RefUSIN must match the invoice's")
        if _decimal(item["Quantity"]) <= 0:
            errors.append(f"Items[{i}].Quantity must be more than 0")
        for name in _MONEY:
            value = _decimal(item[name])
            if value < 0 or value.as_tuple().exponent < -2:
                errors.append(f"Items[{i}].{name} must be a non-negative amount with at most 2 decimals")
        if _decimal(item["SaleValue"]) + _decimal(item["TaxCharged"]) + _decimal(item["FurtherTax"]) != \
                _decimal(item["TotalAmount"]):
            errors.append(f"Items[{i}]: SaleValue + TaxCharged + FurtherTax is not TotalAmount")
    for total, field in _SUMS.items():
        if _decimal(invoice[total]) != sum((_decimal(item[field]) for item in items), Decimal(0)):
            errors.append(f"{total} is not the sum of the items' {field}")
    fee = _decimal(invoice["TotalBillAmount"]) - sum((_decimal(item["TotalAmount"]) for item in items), Decimal(0))
    if not Decimal(0) <= fee <= SERVICE_FEE_RUPEES:
        errors.append("TotalBillAmount is not the sum of the items' TotalAmount (plus at most the Re 1 POS fee)")
    return errors


def _fault(code: int, message: str, path: str) -> dict[str, Any]:
    """The API gateway's (WSO2) answer to a refused credential, as FBR's gateway sends it."""
    return {"fault": {"code": code, "message": message, "description":
                      f"Access failure for API: {path}, version: v1 status: ({code}) - {message}. "
                      "Make sure you have provided the correct security credentials"}}


class FbrSimulator:
    """FBR's and PRA's PostData on 127.0.0.1 (see the module's docstring). Use `async with`."""

    def __init__(self, *, tokens: Iterable[str] = (SIM_TOKEN,), pos_ids: Iterable[int] = SIM_POS_IDS,
                 port: int = 0, control_port: int | None = None, test_mode: bool = True,
                 duplicates: str = "same"):
        self.tokens: set[str] = set(tokens)
        self.pos_ids: set[int] = set(pos_ids)
        self.test_mode = test_mode
        self.duplicates = duplicates
        # What it issued, by (POSID, USIN), and every PostData request it answered, in order.
        self.invoices: dict[tuple[int, str], dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.timeouts = 0           # the next n PostData requests are held
        self.hold_s = 30.0
        self.failures = 0           # the next n PostData requests answer failure_status
        self.failure_status = 503
        self.is_down = False
        self._port = port
        self._control_port = control_port
        self._serial = 0
        self._closing = asyncio.Event()
        self._held: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._control_runner: web.AppRunner | None = None

    # --- life ---------------------------------------------------------------------------------
    async def start(self) -> "FbrSimulator":
        app = web.Application(client_max_size=4 * 1024 * 1024)
        for path in FBR_PATHS + PRA_PATHS:
            app.router.add_post(path, self._post_data)
        self._add_control(app)
        # A held reply must not hold up the end of a test: cleanup waits at most a moment.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        await self._listen()
        if self._control_port is not None:
            control = web.Application()
            self._add_control(control)
            self._control_runner = web.AppRunner(control, handle_signals=False)
            await self._control_runner.setup()
            site = web.TCPSite(self._control_runner, HOST, self._control_port)
            await site.start()
            self._control_port = site._server.sockets[0].getsockname()[1]   # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        self._closing.set()         # releases every held reply
        if self._control_runner is not None:
            await self._control_runner.cleanup()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FbrSimulator":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, HOST, self._port)
        await self._site.start()
        self._port = self._site._server.sockets[0].getsockname()[1]   # type: ignore[union-attr]
        self.is_down = False

    async def down(self) -> None:
        """Stop listening: a client gets "connection refused", as when the WAN or FBR is down."""
        if self.is_down or self._site is None:
            return
        self.is_down = True
        await self._site.stop()
        # Idle keep-alive connections would still be served: close them (held replies finish).
        assert self._runner is not None and self._runner.server is not None
        for connection in self._runner.server.connections:
            connection.close()

    async def up(self) -> None:
        """Listen again, on the same port."""
        if self.is_down:
            await self._listen()

    # --- addresses ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._port}"

    def url(self, mode: str = "fbr") -> str:
        """The PostData URL of `mode` ("fbr" or "pra")."""
        return self.base_url + {"fbr": FBR_PATHS[0], "pra": PRA_PATHS[0]}[mode]

    @property
    def control_url(self) -> str:
        port = self._control_port if self._control_port is not None else self._port
        return f"http://{HOST}:{port}/_sim"

    # --- injections ---------------------------------------------------------------------------
    def time_out_next(self, count: int = 1, hold_s: float = 30.0) -> None:
        self.timeouts, self.hold_s = count, hold_s

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        self.failures, self.failure_status = count, status

    def reset(self) -> None:
        self.invoices.clear()
        self.requests.clear()
        self.timeouts = self.failures = 0
        self.duplicates = "same"

    def numbers(self) -> list[str]:
        """Every invoice number issued, in order of issue."""
        return [invoice["number"] for invoice in self.invoices.values()]

    # --- PostData -----------------------------------------------------------------------------
    async def _post_data(self, request: web.Request) -> web.StreamResponse:
        if self.is_down:   # a request on a connection opened before down(): drop it unanswered
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable()
        authority = "pra" if request.path in PRA_PATHS else "fbr"
        raw = await request.read()
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        record: dict[str, Any] = {"authority": authority, "path": request.path,
                                  "authorization": request.headers.get("Authorization"),
                                  "payload": payload, "held": False}
        self.requests.append(record)
        status, answer = self._answer(request, authority, payload)
        record.update(status=status, answer=answer)
        if self.timeouts > 0:
            self.timeouts -= 1
            record["held"] = True
            # Processed and recorded above; the reply comes too late for the client, or never.
            try:
                await asyncio.wait_for(self._closing.wait(), self.hold_s)
            except TimeoutError:
                pass
        return web.json_response(answer, status=status)

    def _answer(self, request: web.Request, authority: str, payload: Any) -> tuple[int, dict[str, Any]]:
        if self.failures > 0:
            self.failures -= 1
            return self.failure_status, {"message": "Service Unavailable"}
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return 401, _fault(900902, "Missing Credentials", request.path)
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            return 401, _fault(900901, "Invalid Credentials", request.path)
        errors = validate(payload, authority, self.pos_ids)
        if errors:
            return 200, {"InvoiceNumber": NOT_AVAILABLE, "Code": "102", "Response": INVALID, "Errors": errors}
        key = (payload["POSID"], payload["USIN"])
        if key in self.invoices:
            if self.duplicates == "same":
                # Nothing new is made: the number issued the first time, again.
                return 200, {"InvoiceNumber": self.invoices[key]["number"], "Code": "100", "Response": SUCCESS,
                             "Errors": None}
            if self.duplicates == "generic":
                return 200, {"InvoiceNumber": NOT_AVAILABLE, "Code": "102", "Response": INVALID,
                             "Errors": [f"USIN {key[1]} is not valid"]}
            return 200, {"InvoiceNumber": NOT_AVAILABLE, "Code": "102", "Response": "Duplicate USIN",
                         "Errors": [f"USIN {key[1]} already exists for POSID {key[0]}"]}
        self._serial += 1
        now = datetime.now(_ZONE)
        number = f"{payload['POSID']}{now:%y%m%d%H%M%S}{self._serial}" + ("*test*" if self.test_mode else "")
        self.invoices[key] = {"pos_id": key[0], "usin": key[1], "number": number, "authority": authority,
                              "payload": payload, "issued_at": now.isoformat(timespec="seconds")}
        return 200, {"InvoiceNumber": number, "Code": "100", "Response": SUCCESS, "Errors": None}

    # --- control API --------------------------------------------------------------------------
    def _add_control(self, app: web.Application) -> None:
        app.router.add_get("/_sim/state", self._state)
        app.router.add_get("/_sim/invoices", self._invoices)
        app.router.add_get("/_sim/requests", self._requests)
        app.router.add_post("/_sim/{action}", self._control)

    def _state_body(self) -> dict[str, Any]:
        return {"down": self.is_down, "timeouts": self.timeouts, "hold_s": self.hold_s, "failures": self.failures,
                "failure_status": self.failure_status, "duplicates": self.duplicates,
                "invoices": len(self.invoices), "requests": len(self.requests),
                "fbr": self.url("fbr"), "pra": self.url("pra")}

    async def _invoices(self, _: web.Request) -> web.Response:
        return web.json_response(list(self.invoices.values()))

    async def _requests(self, _: web.Request) -> web.Response:
        return web.json_response(self.requests)

    async def _state(self, _: web.Request) -> web.Response:
        return web.json_response(self._state_body())

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        if action == "down":
            # Answer first, then stop listening (the control request may have come on this very site).
            asyncio.get_running_loop().create_task(self.down())
        elif action == "up":
            await self.up()
        elif action == "timeouts":
            self.time_out_next(int(body.get("count", 1)), float(body.get("hold_s", 30.0)))
        elif action == "failures":
            self.fail_next(int(body.get("count", 1)), int(body.get("status", 503)))
        elif action == "duplicates":
            if body.get("mode") not in ("same", "reject", "generic"):
                raise web.HTTPBadRequest(text="mode must be same, reject or generic")
            self.duplicates = body["mode"]
        elif action == "tokens":
            self.tokens = set(body["tokens"])
        elif action == "pos-ids":
            self.pos_ids = {int(p) for p in body["pos_ids"]}
        elif action == "reset":
            self.reset()
            await self.up()
        else:
            raise web.HTTPNotFound(text=f"no control action {action!r}")
        return web.json_response(self._state_body())


# Named explicitly, so a test module may import it under another name (fbr_sim as fbr_sim_fixture)
# and still ask for `fbr_sim` without its parameters shadowing the import (ruff's F811).
@pytest.fixture(name="fbr_sim")
async def fbr_sim() -> AsyncIterator[FbrSimulator]:
    """A running simulator: token SIM_TOKEN, POSIDs SIM_POS_IDS, duplicates "same", test mode."""
    async with FbrSimulator() as sim:
        yield sim


async def _serve(args: argparse.Namespace) -> None:
    sim = FbrSimulator(tokens=args.token or [SIM_TOKEN], pos_ids=args.pos_id or SIM_POS_IDS, port=args.port,
                       control_port=(args.control_port if args.control_port is not None
                                     else args.port + 1 if args.port else 0),
                       test_mode=not args.production_numbers, duplicates=args.duplicates)
    await sim.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"fbr": sim.url("fbr"), "pra": sim.url("pra"), "control": sim.control_url}), flush=True)
    await stop.wait()
    await sim.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fbr_sim", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True, help="PostData port on 127.0.0.1")
    parser.add_argument("--control-port", type=int, help="control API port (default: --port + 1)")
    parser.add_argument("--token", action="append", help=f"a valid bearer token (default {SIM_TOKEN})")
    parser.add_argument("--pos-id", action="append", type=int, help="a registered POSID (default 123456..8)")
    parser.add_argument("--duplicates", choices=("same", "reject", "generic"), default="same")
    parser.add_argument("--production-numbers", action="store_true", help="numbers without *test*")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
