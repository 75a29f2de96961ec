"""The uplink: forwards the journal to the cloud in receive order, exactly once in effect.

A batch is marked `in_cloud` only after the cloud answered for it, and the
cloud only answers after it committed. If the reply is lost (cut WAN, kill -9
between the cloud's commit and ours) the batch is simply sent again and the
cloud answers `duplicate`: at-least-once delivery plus idempotent ingest.

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
from contextlib import suppress
from typing import Any, Awaitable, Callable

from cloud_api.service.clock import utc_now
from cloud_api.contract import MAX_BATCH_BYTES

from .backoff import backoff_delay
from .box import set_values
from .cloud_client import CloudClient
from .errors import CloudRefused, CloudUnreachable, UplinkError
from .journal import dead_letter
from .settings import GatewaySettings
from .stock import record_ingest_seq
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

    def delivered(self, ids: list[str]) -> None:
        """A batch was stored: the suspects narrow, and the culprits get one more try alone."""
        self.head, self.streak = None, 0
        sent = set(ids)
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
        self.failures = 0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="uplink")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let a batch in flight finish recording its acks (within grace_s), then stop.

        Cutting it short is still safe (the batch is resent and answered `duplicate`);
        the grace only saves that resend.
        """
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
                self._push = asyncio.ensure_future(self.push_once())
                sent = await asyncio.shield(self._push)   # stop() waits for it instead of cutting it
            except Exception as err:   # noqa: BLE001 - the uplink must outlive any one failure
                self.failures += 1
                delay = backoff_delay(self.failures, self._settings.uplink_backoff_base_s,
                                      self._settings.uplink_backoff_cap_s)
                if isinstance(err, UplinkError):
                    log.warning("uplink: %s; retry %d in %.1fs", err, self.failures, delay)
                else:   # a bug or a disk problem: loud in the log, but sales keep their way out
                    log.exception("uplink: unexpected failure; retry %d in %.1fs", self.failures, delay)
                # A WAN that comes back (seen by the catalog pull or heartbeat) ends the wait early.
                wake_on = self._cloud.wan.back_online if self._cloud.wan.state != "online" else None
                await _sleep(delay, wake_on)
                continue
            self.failures = 0
            if sent == 0:
                await self._drained()
                await _sleep(self._settings.uplink_idle_s, self._wake)

    async def push_once(self) -> int:
        """Send the oldest pending batch and record the cloud's answers; return how many were sent."""
        batch, documents = await self._next_batch()
        if not batch:
            return 0
        ids = [row["id"] for row in batch]
        try:
            answer = await self._cloud.post_batch(documents, {row["id"]: row["received_at"] for row in batch})
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
        async with self._store.transaction() as db:
            for row, document, result in zip(batch, documents, answer.results):
                if result.status in ("stored", "duplicate"):
                    await db.execute("UPDATE journal SET cloud_state = 'in_cloud', cloud_at = ? WHERE id = ?",
                                     (now, row["id"]))
                    await record_ingest_seq(db, row["id"], result.ingest_seq)
                    continue
                if result.status == "conflict":
                    await record_ingest_seq(db, row["id"], None)   # the cloud's stock counts its own version
                reason = result.reason or ("the cloud holds another version of this document"
                                           if result.status == "conflict" else "refused by the cloud")
                await db.execute("UPDATE journal SET cloud_state = 'rejected', cloud_at = ?, cloud_reason = ? "
                                 "WHERE id = ?", (now, f"{result.status}: {reason}", row["id"]))
                await dead_letter(db, row["id"], document, f"{result.status}: {reason}", "cloud",
                                  document.get("device_id"))
            await set_values(db, last_sync_at=now)   # the owner's page: "last successful sync"
        log.info("uplink: %d documents delivered", len(batch))
        self._delivered = True
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

    async def _next_batch(self) -> tuple[list[Any], list[dict[str, Any]]]:
        """The next rows to send (the oldest pending, or the half under suspicion) and their documents."""
        rows = await self._store.read().execute_fetchall(
            "SELECT id, body, received_at FROM journal WHERE cloud_state = 'pending' ORDER BY rx_seq LIMIT ?",
            (self._settings.uplink_batch_size + len(self._hunt.culprits),))
        chosen = set(self._hunt.choose([row["id"] for row in rows]))
        batch, documents, size, unreadable = [], [], 0, {}
        for row in rows:
            if row["id"] not in chosen:
                continue
            if batch and (size + len(row["body"]) > _BATCH_BUDGET or len(batch) >= self._settings.uplink_batch_size):
                break
            try:
                documents.append(json.loads(row["body"]))
            except ValueError:   # a damaged row must not stop the queue behind it
                unreadable[row["id"]] = "the box cannot read its own copy of this document"
                continue
            batch.append(row)
            size += len(row["body"])
        if unreadable:
            await self._park(unreadable)
        return batch, documents

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

    async def retry_parked(self) -> int:
        """Make parked documents pending again; return how many."""
        async with self._store.transaction() as db:
            cursor = await db.execute("UPDATE journal SET cloud_state = 'pending', cloud_at = NULL, "
                                      "cloud_reason = NULL WHERE cloud_state = 'parked'")
        return cursor.rowcount


async def _sleep(seconds: float, wake_on: asyncio.Event | None) -> None:
    """Sleep, or less if the event fires."""
    if wake_on is None:
        await asyncio.sleep(seconds)
        return
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(wake_on.wait(), timeout=seconds)
