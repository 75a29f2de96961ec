"""The fiscal queue's worker: posts each sale and refund to FBR / PRA, in order of arrival.

One long-running task, started and stopped like the uplink (gateway/app.py), with its own short
transactions: it reads a job, talks to the authority holding no lock, then records the outcome in
a transaction of its own. A journal batch or an uplink ack never waits for it, and it never waits
for them longer than one write.

Per job (gateway/fiscal_outcome.py says what an answer means):
- the PostData payload (gateway/fiscal_invoice.py) is built once and stored before the first send,
  with the mode / environment / URL it was built for; every later send is those same bytes, so a
  timeout is followed by the same USIN, never a new one. A payload built for another mode or
  environment (the owner switched FBR <-> PRA, sandbox <-> production) is built again, unless a post
  of it may have made the invoice (sent_at): that one stays with its authority, is never sent to the
  other one as a second invoice, and is flagged for the owner to check there;
- before each post the job's sent_at is written in its own transaction (fiscal_jobs.sending), so a
  post cut short by a crash or a restart is known afterwards: a refusal of that USIN is then read as
  "maybe a duplicate" (ambiguous, flagged), never as a refused invoice;
- fiscalized: the number is kept, with its QR code drawn once (in a thread); tills learn both through
  GET /api/v1/fiscal, which draws nothing;
- rejected (FBR's Code 102 ...): the job is parked with the authority's message and the next one goes;
  the owner's Retry builds it again from the current catalog (a corrected POSID, a PCT code);
- retry (unreachable, 5xx, or an answer that is not the authority's): the whole queue backs off
  (fiscal_backoff_base_s .. cap_s, jitter), ended early when the WAN is seen coming back, and the same
  job goes first again. FOREIGN_STOP_AFTER answers in a row that are not the authority's (an HTML 404
  from a wrong address, a 405, a captive portal) stop the queue with the status, until Retry or a
  changed catalog;
- ambiguous: after a timeout the same payload is resent after the backoff; after
  fiscal_ambiguous_after timeouts in a row it is flagged for the owner (status ambiguous) and set
  aside. An unclear answer that was heard (a "duplicate" or Code 100 without a number) is flagged at
  once and the next job goes; its number is never guessed;
- unauthorised (401/403, a fault): the whole queue stops, with the reason, until the catalog brings
  another token or the owner presses Retry (here on /admin, or in the back office).

A tablet without a POSID: its jobs wait (the owner sees "T2 has no FBR POSID ...") and the others go
on; they leave as soon as a catalog names one (pull_catalog wakes the queue).
"""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from typing import Any

import httpx
from aiohttp import web

from .backoff import backoff_delay
from .cloud_client import WanState
from .fiscal_invoice import endpoint, post_data
from .fiscal_jobs import (FISCAL_KINDS, attempted, authority, discard_payload, fiscal_settings, fiscal_token, fiscalized,
                          next_job, not_made, qr_data_uri, same_books, save_payload, sending, set_aside, stop,
                          stopped, target, target_words, token_unreadable)
from .fiscal_outcome import Outcome, classify
from .settings import GatewaySettings
from .store import Store

log = logging.getLogger(__name__)

# Not connected at all: nothing reached the authority, so no invoice can exist (retry). Any other
# transport failure happened after the request may have left (a read timeout, a dropped connection):
# the invoice may exist (ambiguous, resent as is).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol,
             httpx.InvalidURL, httpx.ProxyError)
# Answers in a row that are not the authority's (no FBR JSON) before the queue stops and says so.
FOREIGN_STOP_AFTER = 5


class FiscalQueue:
    """The worker; `wake()` when jobs arrive or the settings change."""

    def __init__(self, store: Store, settings: GatewaySettings, wan: WanState | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        self._store, self._settings, self._wan = store, settings, wan
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._products: tuple[str, dict[str, dict[str, Any]]] | None = None   # (catalog etag, by sku)
        self.failures = 0      # tries in a row that settled nothing (the backoff's exponent)
        self.foreign = 0       # answers in a row that were not the authority's (a wrong address)
        # What the worker is doing, for tests and the curious: idle | sending | backoff | stopped | off.
        self.state = "idle"
        self.passes = 0        # looks at the queue finished (for tests: "it has looked since")

    def wake(self) -> None:
        self._wake.set()

    def wake_for_documents(self, kinds: set[str]) -> None:
        """Documents of these kinds were stored: if sales or refunds are among them (FISCAL_KINDS), wake
        the queue when it is idle (or in a pass: it looks again).
        Not while reporting is off (no job was made for them) or stopped: each way out of those wakes
        the queue itself (the catalog pull, app.py; the owner's Retry, admin.py), and a job made just
        before is found by that pass or at the latest by the next idle look (fiscal_idle_s). Nor during
        a backoff: the authority is not answering, and every batch of sales would end the wait and post
        again at once; the jobs go when the backoff ends."""
        if not kinds.isdisjoint(FISCAL_KINDS) and self.state in ("idle", "sending"):
            self.wake()

    def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=self._settings.fiscal_timeout_s, transport=self._transport)
        self._task = asyncio.create_task(self.run(), name="fiscal")

    async def stop(self) -> None:
        """Stop at once: a post cut short is safe (its payload is stored and resent, same USIN)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.aclose()

    async def run(self) -> None:
        """Work while there is work, sleep until woken, back off while the authority cannot be reached."""
        while True:
            self._wake.clear()   # before looking, so a wake during the work is not lost
            try:
                delay = await self.drain()
            except Exception:   # noqa: BLE001 - the queue must outlive any one failure (a bug, a full disk)
                self.failures += 1
                delay = self._backoff()
                log.exception("fiscal: unexpected failure; looking again in %.1fs", delay)
            self.passes += 1
            if delay is None:
                await _sleep(self._settings.fiscal_idle_s, self._wake)
            else:
                # A WAN seen coming back (the uplink's probe, the catalog pull) ends the wait early;
                # while it is up, only the backoff (or a wake: Retry, a new token) does.
                back = self._wan.back_online if self._wan is not None and self._wan.state != "online" else None
                await _sleep_any(delay, self._wake, back)

    async def drain(self) -> float | None:
        """Post due jobs one by one; the backoff to wait before the next try, or None when idle."""
        while True:
            db = self._store.read()
            fiscal = await fiscal_settings(db)
            if fiscal.mode == "off":
                self.state = "off"
                return None
            if await stopped(db):
                self.state = "stopped"
                return None
            who = authority(fiscal.mode)
            token = await fiscal_token(db, self._settings.state_dir)
            if not token:
                if await token_unreadable(db, self._settings.state_dir):
                    reason = (f"The {who} token this box holds cannot be read (the box was restored without "
                              "its key file). It is fetched again with the next catalog from the cloud; if "
                              "reporting does not resume, enter the token again in the back office's Fiscal "
                              "settings.")
                else:
                    reason = f"No {who} token is set: enter it in the back office's FBR / PRA page."
                async with self._store.transaction() as wdb:
                    await stop(wdb, reason)
                self.state = "stopped"
                return None
            job = await next_job(db, fiscal.pos_ids)
            if job is None:
                self.state = "idle"
                return None
            self.state = "sending"
            url = self._settings.fiscal_url or endpoint(fiscal.mode, fiscal.environment)
            here = target(fiscal.mode, fiscal.environment, url)
            payload = job["payload"]
            if payload is not None and not same_books(job["target"], here):
                await self._switched(job, here)
                continue   # rebuilt for the current mode next time round, or set aside
            if payload is None:
                payload = await self._build(job, fiscal.mode, fiscal.pos_ids[job["device_id"]], here)
                if payload is None:
                    continue   # parked: it cannot be made into an invoice; the next one goes
            # Before the post, in its own transaction: "this USIN may be on the authority's books"
            # survives a crash mid-post (fiscal_jobs.sending). The hint is what was known before it.
            doubt = job["sent_at"] is not None
            async with self._store.transaction() as wdb:
                await sending(wdb, job["document_id"])
            outcome, timed_out = await self._post(url, token, payload, doubt, who)
            delay = await self._record(job, outcome, timed_out, who, doubt)
            if delay is not None or self.state == "stopped":
                return delay

    async def _switched(self, job: Any, here: str) -> None:
        """The job's payload was built for another mode / environment / address than the current one."""
        async with self._store.transaction() as wdb:
            if job["sent_at"] is None:
                # Never posted without a clear answer: no invoice of it exists anywhere; build it anew.
                await discard_payload(wdb, job["document_id"])
                return
            # A post of it may have made the invoice there. It stays with that authority: sending it
            # to the other one (or the other environment) could report the sale twice. The owner
            # checks it where it went.
            there = target_words(job["target"])
            now = target_words(here)
            await set_aside(wdb, job["document_id"], "ambiguous", (
                f"{job['usin']} was sent to {there} before the shop switched to {now}, and no clear answer "
                f"came, so it may already be reported there. It stays with {there} and is not sent to "
                f"{now}: check it on {there}'s portal."))
        log.warning("fiscal: %s stays with %s after the switch to %s", job["usin"], job["target"], here)

    async def _build(self, job: Any, mode: str, pos_id: int, built_for: str) -> str | None:
        """Build the job's PostData from the stored document and keep it; None if it cannot be (parked)."""
        db = self._store.read()
        row = await (await db.execute("SELECT body, received_at FROM journal WHERE id = ?",
                                      (job["document_id"],))).fetchone()
        try:
            if row is None:
                raise ValueError("the box no longer holds this document")
            document = json.loads(row["body"])
            original = None
            if document.get("kind") == "refund" and document.get("original_id"):
                held = await (await db.execute("SELECT body FROM journal WHERE id = ?",
                                               (document["original_id"],))).fetchone()
                original = json.loads(held["body"]) if held else None
            invoice = post_data(document, pos_id=pos_id, mode=mode, products=await self._catalog_products(),
                                tz=self._settings.timezone, original=original, received_at=row["received_at"])
            payload = json.dumps(invoice, ensure_ascii=False, separators=(",", ":"))
        except Exception as err:   # noqa: BLE001 - one document the box cannot map must not stop the rest
            log.exception("fiscal: cannot make %s into an invoice", job["usin"])
            async with self._store.transaction() as wdb:
                await set_aside(wdb, job["document_id"], "parked",
                                f"The box could not make this receipt into an invoice: {err}")
            return None
        async with self._store.transaction() as wdb:
            await save_payload(wdb, job["document_id"], payload, pos_id, built_for)
        return payload

    async def _catalog_products(self) -> dict[str, dict[str, Any]]:
        """The catalog's products by sku (for their PCT codes), parsed once per catalog version."""
        row = await (await self._store.read().execute("SELECT etag, body FROM catalog WHERE id = 1")).fetchone()
        if row is None:
            return {}
        if self._products is None or self._products[0] != row["etag"]:
            products = json.loads(row["body"]).get("products", [])
            self._products = (row["etag"], {product["sku"]: product for product in products})
        return self._products[1]

    async def _post(self, url: str, token: str, payload: str, sent_before: bool,
                    who: str) -> tuple[Outcome, bool]:
        """One POST of the stored payload: (its outcome, whether it timed out after sending)."""
        assert self._http is not None
        try:
            response = await self._http.post(url, content=payload.encode(), headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        except _NOT_SENT as err:
            log.info("fiscal: %s unreachable: %s", who, type(err).__name__)
            return classify(None, None, timed_out=False, duplicate_hint=sent_before, authority=who), False
        except httpx.TransportError as err:
            log.info("fiscal: no answer from %s after sending: %s", who, type(err).__name__)
            return classify(None, None, timed_out=True, duplicate_hint=sent_before, authority=who), True
        return classify(response.status_code, response.content, timed_out=False, duplicate_hint=sent_before,
                        authority=who), False

    async def _record(self, job: Any, outcome: Outcome, timed_out: bool, who: str, doubt: bool) -> float | None:
        """Keep the outcome in its own transaction; the backoff before the next try, or None to go on.

        `doubt`: an earlier post of this USIN may have made the invoice (sent_at was set before this one).
        """
        doc_id = job["document_id"]
        if outcome.kind == "fiscalized":
            assert outcome.number
            qr = await asyncio.to_thread(qr_data_uri, outcome.number)   # drawn once, here, off the loop
            async with self._store.transaction() as db:
                await fiscalized(db, doc_id, outcome.number, qr)
            self.failures = self.foreign = 0
            log.info("fiscal: %s is %s invoice %s", job["usin"], who, outcome.number)
            return None
        if outcome.kind == "rejected":
            async with self._store.transaction() as db:
                await not_made(db, doc_id)   # a refusal is only "rejected" without doubt
                await set_aside(db, doc_id, "parked", outcome.message)
            self.failures = self.foreign = 0   # the authority answered: it is reachable
            log.warning("fiscal: %s parked: %s", job["usin"], outcome.message)
            return None
        if outcome.kind == "unauthorised":
            async with self._store.transaction() as db:
                if not doubt:
                    await not_made(db, doc_id)
                await attempted(db, doc_id, outcome.message)
                await stop(db, outcome.message)
            self.state = "stopped"
            self.foreign = 0
            log.warning("fiscal: queue stopped: %s", outcome.message)
            return None
        if outcome.kind == "ambiguous" and not timed_out:
            # It answered, unclearly (a "duplicate", or success without a number): the owner checks it
            # on the authority's portal; nothing is guessed. Not a failure of the authority: no backoff,
            # the next invoice goes at once.
            async with self._store.transaction() as db:
                await set_aside(db, doc_id, "ambiguous", outcome.message)
            self.failures = self.foreign = 0
            log.warning("fiscal: %s flagged ambiguous: %s", job["usin"], outcome.message)
            return None
        # retry, or a timeout: the same job (the same payload) goes again after the backoff.
        self.failures += 1
        self.foreign = self.foreign + 1 if outcome.foreign_status is not None else 0
        delay = self._backoff()
        async with self._store.transaction() as db:
            if not doubt and not outcome.maybe_made:
                await not_made(db, doc_id)   # nothing reached the authority's books
            timeouts = await attempted(db, doc_id, outcome.message, timed_out=timed_out)
            if self.foreign >= FOREIGN_STOP_AFTER:
                reason = (f"The {who} address answered HTTP {outcome.foreign_status} {self.foreign} times in a "
                          f"row, not as {who} answers: check the environment (sandbox / production) in the "
                          "back office's FBR / PRA page, and the box's fiscal URL if one is set. Reporting "
                          "resumes on Retry or when the settings change.")
                await stop(db, reason)
                self.state, self.foreign = "stopped", 0
                log.warning("fiscal: queue stopped: %s", reason)
                return None
            if outcome.kind == "ambiguous" and timeouts >= self._settings.fiscal_ambiguous_after:
                # Still no answer after several tries: the owner checks it on the authority's portal;
                # the rest of the queue goes on, after the backoff (the authority stopped answering).
                message = (f"{who} did not answer {timeouts} times for this invoice, so it may or may not be "
                           f"reported. Check {job['usin']} on {who}'s portal, then press Retry to send it again "
                           "with the same receipt number.")
                await set_aside(db, doc_id, "ambiguous", message)
                log.warning("fiscal: %s flagged ambiguous: %s", job["usin"], message)
        self.state = "backoff"
        log.info("fiscal: %s: %s; again in %.1fs", job["usin"], outcome.message, delay)
        return delay

    def _backoff(self) -> float:
        return backoff_delay(self.failures, self._settings.fiscal_backoff_base_s, self._settings.fiscal_backoff_cap_s)


FISCAL_QUEUE = web.AppKey("fiscal_queue", FiscalQueue)


async def _sleep(seconds: float, wake_on: asyncio.Event) -> None:
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(wake_on.wait(), timeout=seconds)


async def _sleep_any(seconds: float, *events: asyncio.Event | None) -> None:
    """Sleep, or less if any of the events fires."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events if event is not None]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
