"""A receipt printer for tests: a real asyncio TCP listener on 127.0.0.1 that keeps every byte it gets.

Like an ESC/POS printer on port 9100 it answers the real-time status request DLE EOT n at once
(one byte: paper present, or paper end when `paper_out`, or asked after a job's bytes when
`runs_out_mid_job`), or not at all when `answers` is False (a
clone that never answers). `off()` stops listening and drops its connections, as a printer switched
off; `on()` listens again on the same port.

Also the decoder of what it received: GS v 0 raster images back to Pillow bitmaps.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import struct
from contextlib import suppress
from pathlib import Path

from PIL import Image

STATUS_QUERY = b"\x10\x04\x04"
PAPER_OK, PAPER_END = 0x12, 0x72     # DLE EOT 4 answers: fixed bits 1 and 4; bits 5-6 set when the roll is out
_QUERY = re.compile(rb"\x10\x04([\x01-\x04])")


class FakePrinter:
    def __init__(self, port: int = 0):
        self.host, self.port = "127.0.0.1", port
        self.paper_out = False
        self.runs_out_mid_job = False        # the roll ends during the next job (then it is changed)
        self.answers = True
        self.connections: list[bytes] = []   # everything each finished connection sent, in order
        self._server: asyncio.base_events.Server | None = None
        self._live: set[asyncio.StreamWriter] = set()
        self.received = asyncio.Event()      # set whenever a connection that sent more than a query ends
        self.heard = bytearray()             # every byte as it arrives, connections still open too

    async def on(self) -> "FakePrinter":
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def off(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._live):
                writer.transport.abort()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._live.add(writer)
        data = bytearray()
        try:
            while chunk := await reader.read(65536):
                scanned = max(0, len(data) - 2)
                data += chunk
                self.heard += chunk
                for match in _QUERY.finditer(data, scanned):   # each one ends in this chunk: a new question
                    if self.answers:
                        out = self.paper_out or (self.runs_out_mid_job and bool(self.jobs_in(bytes(data))))
                        status = PAPER_END if out and match[1] == b"\x04" else PAPER_OK
                        writer.write(bytes([status]))
                        await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._live.discard(writer)
            self.connections.append(bytes(data))
            if self.jobs_in(bytes(data)):
                self.runs_out_mid_job = False
                self.received.set()
            with suppress(Exception):
                writer.close()

    @staticmethod
    def jobs_in(data: bytes) -> bytes:
        """A connection's bytes less the status questions the box asks before and after a job."""
        while data.startswith(STATUS_QUERY):
            data = data[len(STATUS_QUERY):]
        while data.endswith(STATUS_QUERY):
            data = data[:-len(STATUS_QUERY)]
        return data

    @property
    def jobs(self) -> list[bytes]:
        """What each connection printed (status questions left out), connections that printed nothing skipped."""
        return [job for job in map(self.jobs_in, self.connections) if job]

    async def wait_for_jobs(self, count: int, timeout_s: float = 10.0) -> list[bytes]:
        async def enough() -> None:
            while len(self.jobs) < count:
                self.received.clear()
                await self.received.wait()
        await asyncio.wait_for(enough(), timeout_s)
        return self.jobs


def raster_images(data: bytes) -> list[tuple[int, int, bytes]]:
    """Every GS v 0 image in a byte stream: (width in bytes, height, bitmap bytes; a set bit is black)."""
    found = []
    at = 0
    while (start := data.find(b"\x1dv0", at)) >= 0:
        width_bytes, height = struct.unpack("<HH", data[start + 4:start + 8])
        end = start + 8 + width_bytes * height
        found.append((width_bytes, height, data[start + 8:end]))
        at = end
    return found


def raster_bitmap(data: bytes) -> Image.Image:
    """The raster stripes of a job stacked back into one 1-bit image (black ink = 0, as Pillow's mode "1")."""
    stripes = raster_images(data)
    assert stripes, "no GS v 0 raster in the job"
    widths = {w for w, _, _ in stripes}
    assert len(widths) == 1, f"stripes of different widths: {widths}"
    width = widths.pop() * 8
    image = Image.new("1", (width, sum(h for _, h, _ in stripes)), 1)
    top = 0
    invert = bytes(255 - b for b in range(256))
    for w, h, bits in stripes:
        image.paste(Image.frombytes("1", (w * 8, h), bits.translate(invert)), (0, top))
        top += h
    return image


DRAWER_KICK = b"\x1bp"   # ESC p m t1 t2: pulse the drawer's pin; the box sends it ahead of anything else


def without_pictures(job: bytes) -> bytes:
    """A job's bytes with its GS v 0 raster blocks taken out (header and bitmap)."""
    out, at = bytearray(), 0
    while (start := job.find(b"\x1dv0", at)) >= 0:
        width_bytes, height = struct.unpack("<HH", job[start + 4:start + 8].ljust(4, b"\0"))
        out += job[at:start]
        at = start + 8 + width_bytes * height
    return bytes(out + job[at:])


def describe(job: bytes) -> str:
    """One line for a job, as a person reading the simulator's terminal wants it."""
    parts = [f"{len(job):,} bytes"]
    if job.startswith(DRAWER_KICK):
        parts.append("drawer kicked")
    # The commands the box sends, out of the way: the drawer kick (ESC p m t1 t2), ESC @, and the rest
    # (alignment, bold, size, feed, cut) a letter and one parameter after ESC or GS.
    text = re.sub(rb"\x1bp[\s\S]{3}|\x1b@|[\x1b\x1d][\s\S]{2}", b"", without_pictures(job))
    text = re.sub(rb"[^\x20-\x7e\n]", b"", text).decode("ascii").strip()
    pictures = len(raster_images(job))
    if pictures:
        # An Urdu slip is all picture; an English one may carry one (FBR / PRA's QR code).
        parts.append("a picture (an Urdu slip)" if not text else f"with {pictures} picture{'s' * (pictures > 1)}")
    if text:
        parts.append("text: " + " | ".join(line.strip() for line in text.splitlines() if line.strip())[:300])
    return ", ".join(parts)


def _keep(save: Path, number: int, job: bytes) -> None:
    save.mkdir(parents=True, exist_ok=True)
    (save / f"job-{number}.bin").write_bytes(job)
    if raster_images(job):
        raster_bitmap(job).save(save / f"job-{number}.png")


async def _run(port: int, save: Path | None, paper_out: bool) -> None:
    printer = await FakePrinter(port).on()
    printer.paper_out = paper_out
    print(f"a receipt printer on 127.0.0.1:{printer.port}{' (out of paper)' if paper_out else ''}; "
          "add it on the box's /admin/printers as a LAN printer. Ctrl-C stops it.", flush=True)
    shown = 0
    while True:
        await printer.received.wait()
        printer.received.clear()
        for job in printer.jobs[shown:]:
            shown += 1
            try:
                if save is not None:   # kept before it is said, so a line means the files are there
                    _keep(save, shown, job)
                said = describe(job)
            except Exception as err:  # noqa: BLE001 -- a job cut short (the box gave up mid-picture) is said, not fatal
                said = f"{len(job):,} bytes, unreadable ({err!r})"
            print(f"job {shown}: {said}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_printer",
                                     description="An ESC/POS receipt printer on 127.0.0.1, to try printing without one.")
    parser.add_argument("--port", type=int, default=9100, help="TCP port (default 9100, a network printer's)")
    parser.add_argument("--save", type=Path, help="keep each job here: job-N.bin, and job-N.png for a picture")
    parser.add_argument("--paper-out", action="store_true", help="answer that the roll is out")
    args = parser.parse_args(argv)
    with suppress(KeyboardInterrupt):
        asyncio.run(_run(args.port, args.save, args.paper_out))


if __name__ == "__main__":
    main()
