"""The uplink: forwards the journal to the cloud in receive order, exactly once in effect.

A batch is marked `in_cloud` only after the cloud answered for it, and the
cloud only answers after it committed. If the reply is lost (cut WAN, kill -9
between the cloud's commit and ours) the batch is simply sent again and the
cloud answers `duplicate`: at-least-once delivery plus idempotent ingest.

Several batches are in flight at once (uplink_window), each a run of the
receive order past the one before, so a long link stays busy after an outage;
each is answered and acked on its own, and a lost reply only means a resend.
A batch is cut by its gzipped size (uplink_batch_bytes) as well as by count.
While nothing answers, a GET /healthz every uplink_probe_s notices the WAN's
return, so the backlog leaves within seconds rather than after a backoff grown
to its cap; a tablet's push wakes the uplink at once.

One document the cloud cannot take never holds back the rest. A batch that
fails because of what it carries (a 4xx other than credentials or a wrong
address, or 500 for the same batch SAME_BATCH_500_LIMIT times running) is
bisected to find the document at fault, which is then *parked*: journal
cloud_state 'parked' with the cloud's reason, shown by `posline-gateway
status` and in the heartbeat, skipped by later batches. A document is parked
only if it fails alone again right after the cloud stored a batch without it:
when every document fails on its own, the fault is the cloud's and nothing is
parked. Parked documents go back to pending on every process start and every
`parked_retry_s` (an hour by default; gateway/app.py schedules it), so an
upgraded box or cloud takes them without anyone restarting anything; nothing
is dropped. Only a 500 counts towards parking: a 503 (the cloud's database
busy or unreachable, cloud_api/database_faults.py) is weather, retried as is.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from contextlib import suppress
from typing import Any, Awaitable, Callable

import orjson

from cloud_api.service.clock import utc_now
from cloud_api.contract import MAX_BATCH_BYTES, MAX_BATCH_DOCUMENTS

from . import khata
from .backoff import backoff_delay
from .box import set_values
from .cloud_client import BatchPacker, CloudClient
from .errors import CloudRefused, CloudUnreachable, UplinkError
from .journal import dead_letter
from .settings import GatewaySettings
from .stock import record_ingest_seqs
from .store import Store

log = logging.getLogger(__name__)

# Room for the JSON around the documents and the received_at map.
_BATCH_BUDGET = MAX_BATCH_BYTES - 64 * 1024

# Refusals that say nothing about the documents: credentials (401/403), a wrong cloud
# address (404/405), a proxy (407) or load (408/429). Such a batch is retried as it is;
# any other 4xx means "this request is wrong", and the batch is bisected.
_NOT_THE_DOCUMENTS = frozenset({401, 403, 404, 405, 407, 408, 429})
# 500 is the cloud's own code failing on what we sent (502/503/504 are proxies and
# maintenance: retried as they are). This many 500s running for one batch bisect it.
SAME_BATCH_500_LIMIT = 3
# Documents that failed alone wait for proof (a batch stored without them) before they are
# parked. If this many fail alone with nothing stored in between, the cloud is at fault.
MAX_CULPRITS = 5


class _Hunt:
    """The search (bisection) for documents that make their batch fail. In memory only."""

    def __init__(self, pause_s: float):
        self.suspects: list[str] = []        # hold at least one document at fault, in receive order
        self.culprits: dict[str, str] = {}   # failed alone, awaiting proof: id -> the cloud's reason
        self.confirming: dict[str, str] = {}  # failed alone, and the cloud has since stored others: try once more
        self.proven: dict[str, str] = {}      # failed alone again after that: to park
        self.head: str | None = None         # first id of the batch the 500 streak is about
        self.streak = 0
        self.pause_s = pause_s
        self.paused_until = 0.0              # "it's the cloud": only whole batches, with backoff, until then

    def choose(self, pending: list[str]) -> list[str]:
        """Which pending documents to send next, in receive order."""
        live = set(pending)
        self.confirming = {i: r for i, r in self.confirming.items() if i in live}
        if self.confirming:
            return [next(iter(self.confirming))]
        self.suspects = [i for i in self.suspects if i in live]
        if self.suspects:
            return self.suspects[:max(1, len(self.suspects) // 2)]
        return [i for i in pending if i not in self.culprits]

    def failed(self, ids: list[str], err: UplinkError) -> bool:
        """Learn from a failed batch; True if the search moved on (so retry at once)."""
        if isinstance(err, CloudRefused) and err.status not in _NOT_THE_DOCUMENTS:
            reason = str(err)
        elif isinstance(err, CloudUnreachable) and err.status == 500:
            self.streak = self.streak + 1 if self.head == ids[0] else 1
            self.head = ids[0]
            if self.streak < SAME_BATCH_500_LIMIT:
                return False
            reason = f"the cloud failed (500) {SAME_BATCH_500_LIMIT} times running on it"
        else:
            return False   # the network, credentials, load: nothing to do with the documents
        if time.monotonic() < self.paused_until:
            return False
        self.head, self.streak = None, 0
        if len(ids) == 1 and ids[0] in self.confirming:
            self.proven[ids[0]] = self.confirming.pop(ids[0])
            return True
        if len(ids) > 1:
            self.suspects = ids
            return True
        self.suspects = []
        self.culprits[ids[0]] = reason
        if len(self.culprits) >= MAX_CULPRITS:
            self.culprits.clear()
            self.paused_until = time.monotonic() + self.pause_s
            raise UplinkError(f"{MAX_CULPRITS} documents in a row fail on their own: the cloud is at fault, "
                              f"not them; sending whole batches for {self.pause_s:.0f}s")
        return True

    @property
    def active(self) -> bool:
        """A search or a 500 streak is under way: the uplink sends one batch at a time until it ends,
        so each answer is about the batch the search chose, as when only one was ever in flight."""
        return bool(self.suspects or self.confirming or self.culprits or self.streak)

    def delivered(self, ids: list[str]) -> None:
        """A batch was stored: the suspects narrow, and the culprits get one more try alone."""
        sent = set(ids)
        # Only the batch the 500 streak is about ends it: with several batches in flight, another one
        # stored meanwhile says nothing about this one (reset by it, a poison document would never be
        # parked while sales keep arriving).
        if self.head is None or self.head in sent:
            self.head, self.streak = None, 0
        self.suspects = [i for i in self.suspects if i not in sent]
        self.confirming = {i: r for i, r in self.confirming.items() if i not in sent}
        self.confirming.update(self.culprits)
        self.culprits = {}

    def take_proven(self) -> dict[str, str]:
        proven, self.proven = self.proven, {}
        return proven


class Uplink:
    """One long-running task; `wake()` when documents arrive."""

    def __init__(self, store: Store, cloud: CloudClient, settings: GatewaySettings,
                 on_drained: Callable[[], Awaitable[Any]] | None = None):
        self._store, self._cloud, self._settings = store, cloud, settings
        # Called once the backlog empties after deliveries (the stock snapshot is pulled then).
        self._on_drained = on_drained
        self._delivered = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._push: asyncio.Future | None = None
        self._hunt = _Hunt(pause_s=10 * settings.uplink_backoff_cap_s)
        self._packer = BatchPacker(min(settings.uplink_batch_bytes, MAX_BATCH_BYTES))
        self._stopping = False
        self.failures = 0
        # What the uplink is doing, for tests and the curious: idle | sending | backoff | offline.
        self.state = "idle"
        self.probes = 0              # GET /healthz sent while the WAN was down
        self.batches_sent = 0        # batches the cloud answered
        self.most_in_flight = 0      # the most batches in flight at once so far
        # (event, loop time) of the waits for the cloud (see `events`); the latest only, as a probe every
        # few seconds through a week-long outage must not grow the box's memory.
        self._events: deque[tuple[str, float]] = deque(maxlen=256)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="uplink")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let a batch in flight finish recording its acks (within grace_s), then stop.

        Cutting it short is still safe (the batch is resent and answered `duplicate`);
        the grace only saves that resend.
        """
        self._stopping = True   # no new batch leaves; those in flight may finish
        if self._push is not None and not self._push.done():
            await asyncio.wait({self._push}, timeout=grace_s)
        for running in (self._task, self._push):
            if running is not None and not running.done():
                running.cancel()
                with suppress(asyncio.CancelledError, UplinkError):
                    await running

    async def run(self) -> None:
        """Forward forever: drain while there is work, sleep until woken, back off on failure."""
        try:
            retried = await self.retry_parked()   # once per process start: an upgrade may have fixed them
            if retried:
                log.info("uplink: %d parked documents are pending again", retried)
        except Exception:   # noqa: BLE001 - they stay parked until the next start; sales still flow
            log.exception("uplink: could not retry parked documents")
        while True:
            self._wake.clear()   # cleared before looking, so a wake during the push is not lost
            try:
                self._push = asyncio.ensure_future(self.drain())
                sent = await asyncio.shield(self._push)   # stop() waits for it instead of cutting it
            except Exception as err:   # noqa: BLE001 - the uplink must outlive any one failure
                self.failures += 1
                delay = backoff_delay(self.failures, self._settings.uplink_backoff_base_s,
                                      self._settings.uplink_backoff_cap_s)
                if isinstance(err, UplinkError):
                    log.warning("uplink: %s; retry %d in %.1fs", err, self.failures, delay)
                else:   # a bug or a disk problem: loud in the log, but sales keep their way out
                    log.exception("uplink: unexpected failure; retry %d in %.1fs", self.failures, delay)
                await self._after_failure(err, delay)
                continue
            self.failures = 0
            if sent == 0:
                self.state = "idle"
                await self._drained()
                await _sleep(self._settings.uplink_idle_s, self._wake)

    async def _after_failure(self, err: Exception, delay: float) -> None:
        """Wait before the next try: the backoff, cut short as soon as the cloud is seen again.

        When the cloud answered (a 5xx, a refusal, an unreadable answer) it is up but unwell, and
        the backoff stands, so a struggling cloud is not hammered by every shop at once. When
        nothing answered (the WAN is down, or a reply was lost) the box probes GET /healthz every
        uplink_probe_s and tries again the moment the cloud answers: the backlog leaves within a
        probe interval of the link's return, whatever the backoff has grown to; any other call that
        found the cloud (the WAN state's back_online, set by the catalog pull or the heartbeat) ends
        the wait too. A tablet's push does not: it says nothing about the WAN, and ten tablets
        pushing through an outage would turn into a probe per push (the push is sent with the rest).
        """
        wan = self._cloud.wan
        unanswered = isinstance(err, CloudUnreachable) and err.status is None
        if not unanswered:
            self.state = "backoff"
            # A WAN that comes back (seen by the catalog pull or heartbeat) ends the wait early.
            await _sleep(delay, wan.back_online if wan.state != "online" else None)
            return
        self.state = "offline"
        loop = asyncio.get_running_loop()
        retry_at = loop.time() + delay
        probe_s = self._settings.uplink_probe_s
        # The first look comes soon (a lost reply on a live link costs well under a second), later ones
        # every probe_s; the backoff's own end is a try as good as a probe.
        wait = min(delay, probe_s)
        while True:
            await _sleep_any(wait, wan.back_online)
            if wan.state == "online":
                self._events.append(("wan_back", loop.time()))
                break
            if loop.time() >= retry_at:
                self._events.append(("retry", loop.time()))
                break
            self.probes += 1
            self._events.append(("probe", loop.time()))
            if await self._cloud.probe(timeout_s=max(1.0, min(probe_s, self._settings.cloud_timeout_s))):
                self._events.append(("wan_back", loop.time()))
                break
            wait = min(probe_s, max(0.0, retry_at - loop.time()))
        self.state = "sending"

    async def drain(self) -> int:
        """Send every pending batch, up to uplink_window of them in flight at once; how many documents went.

        Batches leave in receive order and each is answered and acked on its own, so they may land
        in any order: ingest is idempotent (a resend is answered `duplicate`) and the cloud's gap
        report is computed from the seqs it holds. Each new batch starts past the last one sent
        (rx_seq), so no document is in two batches in flight. The first failure stops new sends;
        the batches already in flight finish and record their acks, then the failure is raised (a
        batch whose reply was lost is simply sent again later). While a search for a poison
        document is under way (_Hunt.active) one batch at a time goes, as it always did.
        """
        flying: dict[asyncio.Future, list[str]] = {}
        after, sent = 0, 0
        error: BaseException | None = None
        self.state = "sending"
        try:
            while True:
                while error is None and not self._stopping and len(flying) < self._window():
                    if not flying:
                        after = 0   # nothing in flight: start again from the oldest pending document
                    batch, body = await self._next_batch(after)
                    if not batch or self._stopping or (flying and self._hunt.active):
                        # Stopped while this was packed: nothing new leaves. A search began meanwhile:
                        # it goes first, alone (this batch is sent later).
                        break
                    after = batch[-1]["rx_seq"]
                    task = asyncio.ensure_future(self._send(batch, body))
                    flying[task] = [row["id"] for row in batch]
                    self.most_in_flight = max(self.most_in_flight, len(flying))
                if not flying:
                    break
                done, _ = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    del flying[task]
                    try:
                        sent += task.result()
                    except Exception as err:   # noqa: BLE001 - raised once the others are settled
                        error = error or err
        finally:
            for task in flying:   # cancelled (stop): safe, the batch is resent and answered `duplicate`
                task.cancel()
            await asyncio.gather(*flying, return_exceptions=True)
        if error is not None:
            raise error
        return sent

    def _window(self) -> int:
        return 1 if self._hunt.active else self._settings.uplink_window

    async def push_once(self) -> int:
        """Send the oldest pending batch and record the cloud's answers; return how many were sent."""
        batch, body = await self._next_batch()
        if not batch:
            return 0
        return await self._send(batch, body)

    async def _send(self, batch: list[Any], body: bytes) -> int:
        """Send one batch (its rows, and its body as packed) and record the cloud's answer for each
        document; return how many were sent."""
        ids = [row["id"] for row in batch]
        try:
            answer = await self._cloud.post_batch(body)
        except UplinkError as err:
            if not self._hunt.failed(ids, err):
                raise
            log.warning("uplink: a batch of %d failed because of what it carries (%s); narrowing it down",
                        len(ids), err)
            await self._park(self._hunt.take_proven())
            return len(batch)
        if len(answer.results) != len(batch):
            raise UplinkError(f"cloud answered {len(answer.results)} results for {len(batch)} documents")
        now = utc_now()
        # What the cloud holds is recorded together (one statement per table for the batch); what it
        # refused, rare, one document at a time.
        in_cloud = [(row["id"], result.ingest_seq) for row, result in zip(batch, answer.results)
                    if result.status in ("stored", "duplicate")]
        # Rare: only these are read back from the journal's text (_readable vouched for it).
        refused = [(row, json.loads(row["body"]), result) for row, result in zip(batch, answer.results)
                   if result.status not in ("stored", "duplicate")]
        async with self._store.transaction() as db:
            if in_cloud:
                await db.executemany("UPDATE journal SET cloud_state = 'in_cloud', cloud_at = ? WHERE id = ?",
                                     [(now, document_id) for document_id, _ in in_cloud])
            # A conflict: the cloud's stock counts its own version (None: any snapshot counts it).
            await record_ingest_seqs(db, in_cloud + [(row["id"], None) for row, _, result in refused
                                                     if result.status == "conflict"])
            for row, document, result in refused:
                if result.status != "conflict":
                    await khata.record_refused(db, row["id"])   # no khata counts what the cloud refused
                reason = result.reason or ("the cloud holds another version of this document"
                                           if result.status == "conflict" else "refused by the cloud")
                await db.execute("UPDATE journal SET cloud_state = 'rejected', cloud_at = ?, cloud_reason = ? "
                                 "WHERE id = ?", (now, f"{result.status}: {reason}", row["id"]))
                await dead_letter(db, row["id"], document, f"{result.status}: {reason}", "cloud",
                                  document.get("device_id"))
            await set_values(db, last_sync_at=now)   # the owner's page: "last successful sync"
        log.info("uplink: %d documents delivered", len(batch))
        self._delivered = True
        self.batches_sent += 1
        self._hunt.delivered(ids)
        return len(batch)

    async def _drained(self) -> None:
        """Tell `on_drained` the backlog emptied after deliveries; its failure is only logged."""
        if not self._delivered or self._on_drained is None:
            return
        self._delivered = False
        try:
            await self._on_drained()
        except UplinkError as err:
            log.warning("uplink: after draining: %s", err)
        except Exception:   # noqa: BLE001 - a failed follow-up never stops the documents' way out
            log.exception("uplink: after draining")

    async def _next_batch(self, after: int = 0) -> tuple[list[Any], bytes]:
        """The next rows to send (the oldest pending past rx_seq `after`, or the half under suspicion)
        and their batch body.

        A batch ends at uplink_batch_size documents, at the contract's byte budget of its JSON, or when
        its gzipped body would pass uplink_batch_bytes (BatchPacker), whichever comes first; one
        document always goes, whatever its size, so a large one is never stuck. The body is packed on
        a worker thread: compressing a few hundred kilobytes takes milliseconds, and zlib lets the event
        loop serve the tablets meanwhile.
        """
        size_limit = min(self._settings.uplink_batch_size, MAX_BATCH_DOCUMENTS)
        rows = await self._store.read().execute_fetchall(
            "SELECT rx_seq, id, body, received_at FROM journal WHERE cloud_state = 'pending' AND rx_seq > ? "
            "ORDER BY rx_seq LIMIT ?", (after, size_limit + len(self._hunt.culprits)))
        if after:
            # A view past the batches in flight, so not the whole queue: the search must not judge
            # its suspects by it (it would drop them as no longer pending). It only runs from the
            # whole queue, with nothing else in flight (drain).
            chosen = {row["id"] for row in rows if row["id"] not in self._hunt.culprits}
        else:
            chosen = set(self._hunt.choose([row["id"] for row in rows]))
        batch, size, unreadable = [], 0, {}
        for row in rows:
            if row["id"] not in chosen:
                continue
            if batch and (size + len(row["body"]) > _BATCH_BUDGET or len(batch) >= size_limit):
                break
            if not _readable(row["body"]):   # a damaged row must not stop the queue behind it
                unreadable[row["id"]] = "the box cannot read its own copy of this document"
                continue
            batch.append(row)
            size += len(row["body"])
        if unreadable:
            await self._park(unreadable)
        if not batch and not after and self._hunt.culprits:
            # Documents that failed alone wait for proof that the cloud stores others (a batch without
            # them). With several batches in flight the rest of the queue may have gone up already, so
            # nothing pending is left to give it: resend a document the cloud holds, which it answers
            # `duplicate` (idempotent, nothing changes), and that is the proof.
            row = await (await self._store.read().execute(
                "SELECT rx_seq, id, body, received_at FROM journal WHERE cloud_state = 'in_cloud' "
                "ORDER BY rx_seq DESC LIMIT 1")).fetchone()
            if row is not None and _readable(row["body"]):
                batch = [row]
        if not batch:
            return [], b""
        count, body = await asyncio.to_thread(
            self._packer.pack, [row["body"] for row in batch], [(row["id"], row["received_at"]) for row in batch])
        return batch[:count], body

    async def _park(self, reasons: dict[str, str]) -> None:
        """Set documents aside with why, so the rest flow; `retry_parked` brings them back."""
        if not reasons:
            return
        now = utc_now()
        async with self._store.transaction() as db:
            for doc_id, reason in reasons.items():
                await db.execute("UPDATE journal SET cloud_state = 'parked', cloud_at = ?, cloud_reason = ? "
                                 "WHERE id = ? AND cloud_state = 'pending'", (now, reason, doc_id))
        for doc_id, reason in reasons.items():
            log.warning("uplink: parked %s: %s", doc_id, reason)

    @property
    def events(self) -> list[tuple[str, float]]:
        """What the uplink did while the cloud was unreachable, with the loop time: ("probe", t) a look at
        GET /healthz, ("wan_back", t) the cloud seen again, ("retry", t) the backoff ran out first."""
        return list(self._events)

    async def retry_parked(self) -> int:
        """Make parked documents pending again; return how many."""
        async with self._store.transaction() as db:
            cursor = await db.execute("UPDATE journal SET cloud_state = 'pending', cloud_at = NULL, "
                                      "cloud_reason = NULL WHERE cloud_state = 'parked'")
        return cursor.rowcount


def _readable(body: str) -> bool:
    """Whether a journal row's text is JSON at all (orjson: a tenth of json's time). The box stores the
    canonical JSON it checked, so only a damaged row fails; orjson also refuses NaN, a lone surrogate and
    nesting past 1024 levels, none of which canonical JSON holds or the cloud would take."""
    try:
        orjson.loads(body)
    except ValueError:
        return False
    return True


async def _sleep_any(seconds: float, *events: asyncio.Event) -> None:
    """Sleep, or less if any of the events fires."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _sleep(seconds: float, wake_on: asyncio.Event | None) -> None:
    """Sleep, or less if the event fires."""
    if wake_on is None:
        await asyncio.sleep(seconds)
        return
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(wake_on.wait(), timeout=seconds)
