"""The uplink: forwards the journal to the cloud in receive order, exactly once in effect.

A batch is marked `in_cloud` only after the cloud answered for it, and the
cloud only answers after it committed. If the reply is lost (cut WAN, kill -9
between the cloud's commit and ours) the batch is simply sent again and the
cloud answers `duplicate`: at-least-once delivery plus idempotent ingest.
"""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress

from cloud_api.service.clock import utc_now
from cloud_api.contract import MAX_BATCH_BYTES

from .backoff import backoff_delay
from .cloud_client import CloudClient
from .errors import UplinkError
from .journal import dead_letter
from .settings import GatewaySettings
from .store import Store

log = logging.getLogger(__name__)

# Room for the JSON around the documents and the received_at map.
_BATCH_BUDGET = MAX_BATCH_BYTES - 64 * 1024


class Uplink:
    """One long-running task; `wake()` when documents arrive."""

    def __init__(self, store: Store, cloud: CloudClient, settings: GatewaySettings):
        self._store, self._cloud, self._settings = store, cloud, settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._push: asyncio.Future | None = None
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
                await _sleep(self._settings.uplink_idle_s, self._wake)

    async def push_once(self) -> int:
        """Send the oldest pending batch and record the cloud's answers; return how many were sent."""
        rows = await self._store.read().execute_fetchall(
            "SELECT id, body, received_at FROM journal WHERE cloud_state = 'pending' ORDER BY rx_seq LIMIT ?",
            (self._settings.uplink_batch_size,))
        batch, size = [], 0
        for row in rows:
            if batch and size + len(row["body"]) > _BATCH_BUDGET:
                break
            batch.append(row)
            size += len(row["body"])
        if not batch:
            return 0
        documents = [json.loads(row["body"]) for row in batch]
        answer = await self._cloud.post_batch(documents, {row["id"]: row["received_at"] for row in batch})
        if len(answer.results) != len(batch):
            raise UplinkError(f"cloud answered {len(answer.results)} results for {len(batch)} documents")
        now = utc_now()
        async with self._store.transaction() as db:
            for row, document, result in zip(batch, documents, answer.results):
                if result.status in ("stored", "duplicate"):
                    await db.execute("UPDATE journal SET cloud_state = 'in_cloud', cloud_at = ? WHERE id = ?",
                                     (now, row["id"]))
                    continue
                reason = result.reason or ("the cloud holds another version of this document"
                                           if result.status == "conflict" else "refused by the cloud")
                await db.execute("UPDATE journal SET cloud_state = 'rejected', cloud_at = ?, cloud_reason = ? "
                                 "WHERE id = ?", (now, f"{result.status}: {reason}", row["id"]))
                await dead_letter(db, row["id"], document, f"{result.status}: {reason}", "cloud",
                                  document.get("device_id"))
        log.info("uplink: %d documents delivered", len(batch))
        return len(batch)


async def _sleep(seconds: float, wake_on: asyncio.Event | None) -> None:
    """Sleep, or less if the event fires."""
    if wake_on is None:
        await asyncio.sleep(seconds)
        return
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(wake_on.wait(), timeout=seconds)
