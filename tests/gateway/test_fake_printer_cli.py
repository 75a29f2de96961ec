"""`python -m tests.fake_printer`, the printer the README offers for trying the box's printing without one."""
from __future__ import annotations

import asyncio
import re
import socket
import struct
import subprocess
import sys
from pathlib import Path

from tests.fake_printer import PAPER_OK, STATUS_QUERY

ROOT = Path(__file__).resolve().parents[2]
RECEIPT = b"\x1bp\x00\x19\xfa\x1b@" + b"Madina General Store\nTotal      Rs 1,100\n" + b"\x1bd\x06\x1dV\x00"
PICTURE = b"\x1dv0\x00" + struct.pack("<HH", 2, 3) + b"\x1bp" + bytes(4)   # 16 x 3 dots; ESC p inside the bitmap
ENGLISH_WITH_QR = b"\x1b@Receipt T1-000001\n" + PICTURE + b"\x1dV\x00"


def _print(port: int, job: bytes) -> bytes:
    """As the box prints: ask the status, send the job, ask again; the printer's answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as printer:
        printer.sendall(STATUS_QUERY)
        answers = printer.recv(1)
        printer.sendall(job + STATUS_QUERY)
        answers += printer.recv(1)
    return answers


def _line(process: subprocess.Popen) -> str:
    """Its next line, or a failure within 20 s (never a hang)."""
    return asyncio.run(asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)).strip()


def test_it_prints_each_job_in_a_line_and_keeps_it(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_printer", "--port", "0", "--save", str(tmp_path)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"on 127\.0\.0\.1:(\d+)", _line(process)).group(1))
        assert _print(port, RECEIPT) == bytes([PAPER_OK, PAPER_OK])
        assert _line(process) == (
            f"job 1: {len(RECEIPT)} bytes, drawer kicked, text: Madina General Store | Total      Rs 1,100")
        _print(port, PICTURE)
        assert _line(process) == f"job 2: {len(PICTURE)} bytes, a picture (an Urdu slip)"
        _print(port, ENGLISH_WITH_QR)
        assert _line(process) == f"job 3: {len(ENGLISH_WITH_QR)} bytes, with 1 picture, text: Receipt T1-000001"
        _print(port, PICTURE[:6])   # cut short mid-header: said, and the printer goes on
        assert _line(process).startswith("job 4: 6 bytes, unreadable")
        _print(port, RECEIPT)
        assert _line(process).startswith("job 5: ")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "job-1.bin").read_bytes() == RECEIPT
    assert (tmp_path / "job-2.png").exists() and not (tmp_path / "job-1.png").exists()
