"""The print queue's worker: one task per printer, sending its jobs in order; and the drawer watch.

Started and stopped like the uplink and the fiscal queue (gateway/app.py), with its own short
transactions. Each printer has its own task, so a printer that is off never delays another; within
a printer, jobs go strictly in the order they were asked for.

Per job: the bytes rendered at the request are sent whole (gateway/printer_wire.py). A printer that
is off, or out of paper, keeps its jobs queued: tried again after a backoff (print_backoff_base_s
doubling to print_backoff_cap_s, jitter), or at once when a new job for it arrives. A job is marked
printed only when all its bytes were written and (if the printer answers DLE EOT) its paper did
not run out. A job nobody could print within print_job_expiry_s fails ("expired"): a receipt an
hour late is for a customer long gone. A Z-report never expires (the shift's count still matters).

The drawer never waits for paper or for other jobs: when a job carrying a kick (ESC p) is due, its
kick goes at once, ahead of the jobs queued before it and whatever the paper sensor says (the
receipt's bytes then wait for paper without it). A kick goes only within print_drawer_fresh_s of the
request, and once: marked sent (print_jobs.KICK_SENT) before it goes, so a job sent again after the
paper ran out never kicks twice; a printer that is off cannot kick: a 'drawer' job then fails at once
("offline", the till says to use the key) rather than open the drawer later. A drawer_open
document ("Open drawer" on a till) arriving in the journal becomes a 'drawer' job on that tablet's
printer, if the cashier pressed it less than print_drawer_fresh_s ago. A drawer never springs open minutes later, unattended.

The queue never blocks the journal, the uplink or a sale: tills ask for prints after a sale is
stored, nothing here holds the writer while it talks to a printer, and a failure here is logged
and retried, never raised into a request.
"""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress

import aiosqlite
from aiohttp import web

from . import print_jobs, printers
from .backoff import backoff_delay
from .box import get_value, set_values
from .escpos_receipt import KICK
from .printer_wire import PrinterUnavailable, Status, Timeouts, probe, send
from .settings import GatewaySettings
from .store import Store
from .urdu_raster import Fonts

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


class PrintQueue:
    def __init__(self, store: Store, settings: GatewaySettings):
        self._store, self._settings = store, settings
        self.fonts = Fonts.in_dir(settings.print_font_dir, settings.print_urdu_font, settings.print_latin_font)
        self.timeouts = Timeouts(settings.print_connect_timeout_s, settings.print_status_timeout_s,
                                 settings.print_write_timeout_s)
        self._main: asyncio.Task | None = None
        self._workers: dict[int, asyncio.Task] = {}
        self._wakes: dict[int, asyncio.Event] = {}
        self._locks: dict[int, asyncio.Lock] = {}   # one connection to a printer at a time (9100 takes one)
        self._look = asyncio.Event()
        self.status: dict[int, Status] = {}         # what each printer said last (for the owner's page, the till)
        self.sent = 0                               # jobs printed since start (for tests and the curious)

    # --- life ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self._main = asyncio.create_task(self._run(), name="print-queue")

    async def stop(self) -> None:
        """Stop at once: a job cut short is sent again whole (a slip printed twice beats one never printed)."""
        tasks = [t for t in (self._main, *self._workers.values()) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task

    def wake(self, printer_id: int | None = None) -> None:
        """A job for this printer arrived (or printers changed: None)."""
        if printer_id is not None and printer_id in self._wakes:
            self._wakes[printer_id].set()
        self._look.set()

    def wake_for_documents(self, kinds: set[str]) -> None:
        """Documents of these kinds were stored: look if a drawer_open is among them (its drawer is
        kicked, _drawers); no other kind of journal document is this queue's work."""
        if "drawer_open" in kinds:
            self.wake()

    def lock(self, printer_id: int) -> asyncio.Lock:
        return self._locks.setdefault(printer_id, asyncio.Lock())

    async def probe(self, printer: printers.Printer) -> Status:
        """The printer's status now; while it is busy printing, what it last said."""
        lock = self.lock(printer.printer_id)
        if lock.locked():
            return self.status.get(printer.printer_id, Status(True, "unknown"))
        async with lock:
            found = await probe(printer, self.timeouts)
        self.status[printer.printer_id] = found
        return found

    # --- the loop over printers and drawer_open documents --------------------------------------------------

    async def _run(self) -> None:
        seen = int(await get_value(self._store.read(), "print_drawer_rx_seq") or 0)
        pruned_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._reconcile()
                seen = await self._drawers(seen)
                if loop.time() - pruned_at > PRUNE_EVERY_S:
                    async with self._store.transaction() as db:
                        await print_jobs.prune(db, self._settings.print_jobs_keep_days)
                    pruned_at = loop.time()
            except asyncio.CancelledError:
                raise
            except Exception:   # noqa: BLE001 - printing must never take the box down; look again soon
                log.exception("print queue: looking for work failed")
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._look.wait(), self._settings.print_idle_s)
            self._look.clear()

    async def _reconcile(self) -> None:
        """One worker per printer the owner has: new ones start, removed ones stop."""
        current = {p.printer_id for p in await printers.list_printers(self._store.read())}
        for printer_id in current - set(self._workers):
            self._wakes[printer_id] = asyncio.Event()
            self._workers[printer_id] = asyncio.create_task(self._serve(printer_id), name=f"printer-{printer_id}")
        for printer_id in set(self._workers) - current:
            self._workers.pop(printer_id).cancel()
            self._wakes.pop(printer_id, None)
            self.status.pop(printer_id, None)
        for printer_id, task in list(self._workers.items()):
            if task.done():   # it failed unexpectedly (logged): start it again
                self._workers[printer_id] = asyncio.create_task(self._serve(printer_id), name=f"printer-{printer_id}")

    async def _drawers(self, seen: int) -> int:
        """Kick the drawer for each fresh drawer_open document received after `seen` (a journal rx_seq)."""
        db = self._store.read()
        newest = (await (await db.execute("SELECT coalesce(max(rx_seq), 0) FROM journal")).fetchone())[0]
        if newest <= seen:
            return seen
        rows = await db.execute_fetchall(
            "SELECT id, device_id, body, received_at FROM journal WHERE rx_seq > ? AND rx_seq <= ? "
            "AND kind = 'drawer_open' ORDER BY rx_seq", (seen, newest))
        if not rows:
            # Remembered in memory only: a write per sale batch would cost the SD card an fsync each. After
            # a restart the few rows since the stored mark are looked at again; a drawer_open among them
            # is kicked at most once (one job per document) and only while fresh.
            return newest
        woken = set()
        async with self._store.transaction() as wdb:
            for row in rows:
                woken.add((await self.drawer_job(wdb, row))[1])
            await set_values(wdb, print_drawer_rx_seq=str(newest))
        for printer_id in woken - {None}:
            self.wake(printer_id)
        return newest

    async def drawer_job(self, wdb: aiosqlite.Connection, row: aiosqlite.Row) -> tuple[int | None, int | None]:
        """(job_id, printer_id to wake once committed) of a drawer_open journal row's 'drawer' job, made now
        if fresh; job_id None: never kicked (late, or the tablet has no printer)."""
        held = await print_jobs.original_job(wdb, row["id"], "drawer")
        if held is not None:
            return held, None
        late_s = print_jobs.late_s(json.loads(row["body"]), row["received_at"])
        printer = await printers.printer_for(wdb, row["device_id"])
        if printer is None or late_s > self._settings.print_drawer_fresh_s:
            log.info("drawer_open %s not kicked: %s", row["id"],
                     "the tablet has no printer" if printer is None else f"it arrived {late_s:.0f}s late")
            return None, None
        job_id, made = await print_jobs.enqueue(wdb, printer_id=printer.printer_id, device_id=row["device_id"],
                                                document_id=row["id"], what="drawer", copy="original", kick=True,
                                                payload=b"")
        return job_id, printer.printer_id if made else None

    # --- one printer ----------------------------------------------------------------------------------------

    async def _serve(self, printer_id: int) -> None:
        failures = 0
        wake = self._wakes[printer_id]
        while True:
            db = self._store.read()
            printer = await printers.get_printer(db, printer_id)
            job = await print_jobs.next_job(db, printer_id) if printer else None
            if printer is None or job is None:
                failures = 0
                await self._wait(wake, self._settings.print_idle_s * 30)
                continue
            try:
                await self._kick_ahead(printer, job["job_id"])
                await self._print(printer, job)
            except asyncio.CancelledError:
                raise
            except PrinterUnavailable as err:
                failures += 1
                self.status[printer_id] = Status(err.problem != "offline", "out" if err.problem == "paper_out"
                                                 else "unknown", str(err))
                async with self._store.transaction() as wdb:
                    await self._put_back(wdb, job, err, job["kick"])
                log.info("printer %s: job %s waits: %s", printer.name, job["job_id"], err)
                await self._wait(wake, backoff_delay(failures, self._settings.print_backoff_base_s,
                                                     self._settings.print_backoff_cap_s))
                continue
            except Exception:   # noqa: BLE001 - a bug or a full disk: this printer waits, the box goes on
                log.exception("printer %s: job %s", printer.name, job["job_id"])
                await self._wait(wake, self._settings.print_backoff_cap_s)
                continue
            failures = 0

    async def _print(self, printer: printers.Printer, job: dict) -> None:
        settings = self._settings
        age = print_jobs.age_s(job["created_at"])
        fresh = age <= settings.print_drawer_fresh_s
        # A Z-report never expires: the shift's count matters to the owner whenever it prints.
        late = age > settings.print_job_expiry_s and job["what"] != "z_report"
        if late or (job["what"] == "drawer" and not fresh):
            why = ("the drawer is not opened this late" if job["what"] == "drawer"
                   else f"not printed within {settings.print_job_expiry_s / 60:.0f} minutes")
            async with self._store.transaction() as db:
                await print_jobs.mark(db, job["job_id"], "failed", "expired", why)
            return
        # The kick goes at most once: marked sent before the bytes go (put back only if none went).
        kick = job["kick"] == 1 and fresh
        async with self.lock(printer.printer_id):
            async with self._store.transaction() as db:
                await print_jobs.mark(db, job["job_id"], "printing", kick=print_jobs.KICK_SENT if kick else None)
            self.status[printer.printer_id] = await send(printer, job["payload"] or b"", self.timeouts,
                                                         KICK if kick else b"")
        async with self._store.transaction() as db:
            await print_jobs.mark(db, job["job_id"], "printed")
        self.sent += 1

    async def _kick_ahead(self, printer: printers.Printer, head_id: int) -> None:
        """Kick now for the fresh kicks queued behind `head_id` (a drawer job is then done; a receipt keeps
        its place, its kick sent). PrinterUnavailable when the printer cannot be reached (kicks put back)."""
        fresh_s = self._settings.print_drawer_fresh_s
        for row in await print_jobs.kicks_behind(self._store.read(), printer.printer_id, head_id):
            drawer = row["what"] == "drawer"
            if print_jobs.age_s(row["created_at"]) > fresh_s:
                if drawer:
                    async with self._store.transaction() as db:
                        await print_jobs.mark(db, row["job_id"], "failed", "expired",
                                              "the drawer is not opened this late")
                continue
            async with self.lock(printer.printer_id):
                async with self._store.transaction() as db:   # marked sent before it goes, as in _print
                    if drawer:
                        await print_jobs.mark(db, row["job_id"], "printing", kick=print_jobs.KICK_SENT)
                    else:
                        await db.execute("UPDATE print_jobs SET kick = ? WHERE job_id = ?",
                                         (print_jobs.KICK_SENT, row["job_id"]))
                try:
                    self.status[printer.printer_id] = await send(printer, b"", self.timeouts, KICK)
                except PrinterUnavailable as err:
                    async with self._store.transaction() as db:
                        await self._put_back(db, row, err, 1)
                    raise
            if drawer:
                async with self._store.transaction() as db:
                    await print_jobs.mark(db, row["job_id"], "printed")

    @staticmethod
    async def _put_back(db: aiosqlite.Connection, job: aiosqlite.Row, err: PrinterUnavailable, kick: int) -> None:
        """A job not printed waits again, its kick put back if none went; but a drawer job whose kick could
        not go fails at once ("offline"): the till says to use the key, the drawer must not open later."""
        if job["what"] == "drawer" and not err.written:
            await print_jobs.mark(db, job["job_id"], "failed", err.problem, str(err))
        else:
            await print_jobs.mark(db, job["job_id"], "queued", err.problem, str(err), kick=None if err.written else kick)

    @staticmethod
    async def _wait(event: asyncio.Event, timeout_s: float) -> None:
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        event.clear()


PRINT_QUEUE = web.AppKey("print_queue", PrintQueue)
