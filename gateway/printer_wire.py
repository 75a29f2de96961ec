"""Talking to a receipt printer: send a job's bytes, ask its paper sensor. Never blocks the event loop.

LAN printers take raw ESC/POS on TCP port 9100 (asyncio streams, each step under a timeout, so a
printer switched off mid-job costs seconds, not a stuck task). USB printers on the box are usblp
device nodes, written without blocking (O_NONBLOCK and the loop's writer callbacks), for the same
reason: a thread blocked in write() on a dead printer could never be cancelled.

Status is the real-time DLE EOT 4 (paper roll sensor): the printer answers one byte at once, even
in the middle of a job; bits 5 and 6 set mean the paper has run out. A printer that does not
answer in time is "reachable, status unknown" (many clones stay silent), never an error. A USB
printer's status is not read (usblp reports it through ioctl only): "unknown".
"""
from __future__ import annotations

import asyncio
import errno
import os
from dataclasses import dataclass
from typing import Literal

from .printers import Printer

STATUS_QUERY = b"\x10\x04\x04"     # DLE EOT 4: paper roll sensor status
PAPER_END = 0x60                   # bits 5-6: paper end detected
CHUNK = 16 * 1024

Problem = Literal["offline", "paper_out"]


class PrinterUnavailable(Exception):
    """The job could not be printed now; it stays queued. `problem` is for the till's words; `written`:
    some of the job's bytes may have reached the printer (its drawer kick among them)."""

    def __init__(self, problem: Problem, message: str, written: bool = False):
        super().__init__(message)
        self.problem, self.written = problem, written


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 3.0
    status_s: float = 0.5
    write_s: float = 20.0


@dataclass(frozen=True)
class Status:
    reachable: bool
    paper: Literal["ok", "out", "unknown"]
    error: str = ""

    @property
    def words(self) -> str:
        if not self.reachable:
            return f"not reachable ({self.error})" if self.error else "not reachable"
        return {"ok": "ready", "out": "out of paper", "unknown": "reachable, status unknown"}[self.paper]


def paper_from(answer: int | None) -> Literal["ok", "out", "unknown"]:
    if answer is None:
        return "unknown"
    return "out" if answer & PAPER_END == PAPER_END else "ok"


async def send(printer: Printer, data: bytes, timeouts: Timeouts, kick: bytes = b"") -> Status:
    """Print `data` whole, or raise PrinterUnavailable (nothing, or part of it, may have printed).

    `kick` (the drawer pulse) goes first, once the printer is reached, whatever its paper: a drawer
    needs no paper. Raised after it went, the error says `written`; a kick alone (no `data`) with the
    paper out is done, not an error."""
    if printer.connection == "usb":
        await _write_usb(str(printer.usb_path), kick + data, timeouts.write_s)
        return Status(True, "unknown")
    reader, writer = await _connect(printer, timeouts)
    try:
        before = await _ask_paper(reader, writer, timeouts.status_s)
        if kick:
            try:
                writer.write(kick)
                await asyncio.wait_for(writer.drain(), timeouts.write_s)
            except (OSError, asyncio.TimeoutError) as err:
                raise PrinterUnavailable("offline", f"the printer stopped taking the kick ({_why(err)})", True) from err
        if paper_from(before) == "out":
            if not data:
                return Status(True, "out")
            raise PrinterUnavailable("paper_out", "the printer is out of paper", bool(kick))
        try:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), timeouts.write_s + len(data) / 50_000)
        except (OSError, asyncio.TimeoutError) as err:
            raise PrinterUnavailable("offline", f"the printer stopped taking the job ({_why(err)})", True) from err
        if before is None:
            return Status(True, "unknown")
        # Asked again after the job: a roll that ran out on this slip means it is printed again later.
        try:
            after = await _ask_paper(reader, writer, max(timeouts.status_s, 2.0))
        except PrinterUnavailable as err:
            err.written = True
            raise
        if paper_from(after) == "out" and data:
            raise PrinterUnavailable("paper_out", "the paper ran out during the job", True)
        return Status(True, paper_from(after))
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, asyncio.TimeoutError):
            pass


async def probe(printer: Printer, timeouts: Timeouts) -> Status:
    """Reachable? Paper? For the owner's page; never raises."""
    if printer.connection == "usb":
        try:
            fd = os.open(str(printer.usb_path), os.O_WRONLY | os.O_NONBLOCK)
        except OSError as err:
            return Status(False, "unknown", _why(err))
        os.close(fd)
        return Status(True, "unknown")
    try:
        reader, writer = await _connect(printer, timeouts)
    except PrinterUnavailable as err:
        return Status(False, "unknown", str(err))
    try:
        return Status(True, paper_from(await _ask_paper(reader, writer, timeouts.status_s)))
    except PrinterUnavailable as err:
        return Status(False, "unknown", str(err))
    finally:
        writer.close()


async def _connect(printer: Printer, timeouts: Timeouts) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(asyncio.open_connection(printer.host, printer.port), timeouts.connect_s)
    except (OSError, asyncio.TimeoutError) as err:
        raise PrinterUnavailable("offline", f"cannot reach the printer at {printer.where} ({_why(err)})") from err


async def _ask_paper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout_s: float) -> int | None:
    """The paper sensor's byte, or None if the printer says nothing in time.

    Whatever else arrives is read too and the last byte counts: an answer that came too late to an
    earlier question must not be taken for this one's.
    """
    try:
        writer.write(STATUS_QUERY)
        await asyncio.wait_for(writer.drain(), timeout_s + 1.0)
        got = await asyncio.wait_for(reader.read(64), timeout_s)
    except asyncio.TimeoutError:
        return None
    except OSError as err:
        raise PrinterUnavailable("offline", f"the printer dropped the connection ({_why(err)})") from err
    if not got:
        raise PrinterUnavailable("offline", "the printer closed the connection")
    try:
        while more := await asyncio.wait_for(reader.read(64), 0.05):
            got += more
    except (asyncio.TimeoutError, OSError):
        pass
    return got[-1]


async def _write_usb(path: str, data: bytes, timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as err:
        raise PrinterUnavailable("offline", f"cannot open the USB printer {path} ({_why(err)})") from err
    try:
        view = memoryview(data)
        deadline = loop.time() + timeout_s + len(data) / 50_000
        while view:
            written = len(view) < len(data)
            try:
                view = view[os.write(fd, view[:CHUNK]):]
                continue
            except BlockingIOError:
                pass
            except OSError as err:
                raise PrinterUnavailable("offline", f"the USB printer stopped taking the job ({_why(err)})",
                                         written) from err
            ready = loop.create_future()
            loop.add_writer(fd, lambda: ready.done() or ready.set_result(None))
            try:
                await asyncio.wait_for(ready, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise PrinterUnavailable("offline", "the USB printer stopped taking the job (timed out)",
                                         written) from None
            finally:
                loop.remove_writer(fd)
    finally:
        os.close(fd)


def _why(err: BaseException) -> str:
    if isinstance(err, asyncio.TimeoutError):
        return "no answer"
    if isinstance(err, OSError) and err.errno is not None:
        return os.strerror(err.errno) if err.errno in errno.errorcode else str(err)
    return str(err) or type(err).__name__
