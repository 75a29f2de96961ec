"""Schemathesis against a service's own OpenAPI document, on a real server on 127.0.0.1.

The apps run in a background thread with their own event loop (aiohttp's
AppRunner on a free port), so schemathesis' blocking `requests` calls reach a
real socket, as any client would. Each operation is fuzzed with positive and
negative cases, authenticated; every answer must be below 500 and match the
document (`not_a_server_error`, `response_schema_conformance`).
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import Future
from typing import Any, Awaitable, Coroutine, TypeVar

import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

T = TypeVar("T")

# About 25 cases per operation and mode keeps both services' fuzz within ~2 minutes on 2 cores;
# POSLINE_FUZZ_EXAMPLES=500 digs deeper, by hand.
MAX_EXAMPLES = int(os.environ.get("POSLINE_FUZZ_EXAMPLES", "25"))
# No single answer may take longer (Hypothesis' deadline per case; requests' timeout too).
DEADLINE_S = 10
CHECKS = [not_a_server_error, response_schema_conformance]


class BackgroundLoop:
    """An asyncio loop in a daemon thread: servers live there, the test thread stays synchronous."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzzed-servers", daemon=True)
        self._thread.start()
        self._runners: list[web.AppRunner] = []

    def run(self, coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def serve(self, app: web.Application) -> str:
        """Start `app` on a free port of 127.0.0.1; its base URL."""
        async def start() -> str:
            runner = web.AppRunner(app, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._runners.append(runner)
            port = runner.addresses[0][1]
            return f"http://127.0.0.1:{port}"
        return self.run(start())

    def close(self) -> None:
        async def stop() -> None:
            for runner in reversed(self._runners):
                await runner.cleanup()
        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def wait_for(condition: Any, timeout: float = 20) -> None:
    """Poll `condition()` until it is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def fuzz_document(base_url: str, document_path: str, auth: dict[str, str],
                  path_parameters: dict[str, Any] | None = None, max_examples: int = MAX_EXAMPLES) -> list[str]:
    """Fuzz every operation of the document at `document_path`; the failures found, one line each.

    `auth` maps a bearer scheme name of the document to its token; each operation is called with
    the token its scheme names. `path_parameters` pins e.g. shop_id, so owner routes open the shop.
    """
    schema = schemathesis.openapi.from_url(base_url + document_path)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the document lists no operations"
    for operation in operations:
        security = operation.definition.raw.get("security") or []
        scheme = next(iter(security[0]), None) if security else None
        headers = {"Authorization": f"Bearer {auth[scheme]}"} if scheme else {}
        pinned = {name: value for name, value in (path_parameters or {}).items()
                  if f"{{{name}}}" in operation.path}
        statuses: list[int] = []
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            failures.extend(_fuzz_operation(operation, mode, base_url, headers, pinned, max_examples, statuses))
        # A wrong token or shop would make every answer a 401 or 403, and the fuzz vacuous. Refusals of
        # the credentials are kept negative; any other answer (a 2xx, or a verdict such as wrong_pin or
        # a rate limit that only comes after the token was accepted) proves the case got past them.
        if scheme and not any(status > 0 and (status < 400 or status in (401, 403, 409, 429)) for status in statuses):
            failures.append(f"{operation.method.upper()} {operation.path}: no case got past the credentials "
                            f"(answers, negative where the credentials were refused: {sorted(set(statuses))})")
    return list(dict.fromkeys(failures))   # Hypothesis replays a failing case once more: one line each


# The 401 and 403 answers given only after the token was accepted: a cashier's wrong PIN
# (gateway/cashier_pins.py), and the box's khata verdicts (gateway/khata_api.py: past the customer's
# limit without the owner's PIN, a wrong owner's PIN). Any other 401 or 403 counts as a refusal of the
# credentials, so a new way of refusing them can never pass for proof that a case got past them.
_VERDICTS_AFTER_THE_TOKEN = {401: {"wrong_pin"}, 403: {"wrong_pin", "owner_approval_needed"}}


def _refused_credentials(response: Any) -> bool:
    """Whether an answer refuses the bearer token or the shop itself: a 401 or 403 that is not one of
    the verdicts above (an answer without our error body included)."""
    verdicts = _VERDICTS_AFTER_THE_TOKEN.get(response.status_code)
    if verdicts is None:
        return False
    try:
        return response.json()["error"]["code"] not in verdicts
    except (ValueError, KeyError, TypeError):
        return True


def _fuzz_operation(operation: Any, mode: Any, base_url: str, headers: dict[str, str],
                    pinned: dict[str, Any], max_examples: int, statuses: list[int]) -> list[str]:
    failures: list[str] = []
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned or None)

    @settings(max_examples=max_examples, deadline=DEADLINE_S * 1000, database=None, derandomize=False,
              phases=[Phase.explicit, Phase.generate],   # report what fails; shrinking costs minutes
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        # The pinned credential always wins: a fuzzed Authorization header would only test the 401.
        case.headers = {**(case.headers or {}), **headers}
        response = case.call(base_url=base_url, timeout=DEADLINE_S)
        statuses.append(response.status_code if not _refused_credentials(response) else -response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as err:   # a Failure, or a FailureGroup of several
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                            f"{response.status_code} {response.text[:300]!r}\n    {str(err)[:600]}\n"
                            f"    sent: {case.path_parameters} {case.query} {str(case.body)[:200]!r}")
            raise AssertionError(failures[-1]) from None   # stops this operation: one report is enough

    try:
        run()
    except AssertionError:
        pass   # recorded above, the first failure of each operation and mode
    except Unsatisfiable:
        pass   # negative mode, for an operation with nothing to get wrong (no body, no parameters)
    except Exception as err:   # schemathesis' own failure types, or the server not answering
        failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {type(err).__name__}: "
                        f"{str(err)[:800]}")
    return failures
