"""`python -m tests.fake_printer`, the printer the README offers for trying the box's printing without one."""
from __future__ import annotations

import socket
import struct
import subprocess
import sys

from tests.e2e.conftest import free_port
from tests.fake_printer import PAPER_OK, STATUS_QUERY

RECEIPT = b"\x1b@\x1bp\x00\x19\xfa" + b"Madina General Store\nTotal      Rs 1,100\n" + b"\x1dV\x00"
PICTURE = b"\x1dv0\x00" + struct.pack("<HH", 2, 3) + bytes(6)   # GS v 0: 16 x 3 dots, all white


def _print(port: int, job: bytes) -> bytes:
    """As the box prints: ask the status, send the job, ask again; the printer's answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as printer:
        printer.sendall(STATUS_QUERY)
        answers = printer.recv(1)
        printer.sendall(job + STATUS_QUERY)
        answers += printer.recv(1)
    return answers


def test_it_prints_each_job_in_a_line_and_keeps_it(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_printer", "--port", str(port), "--save",
                                str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert f"on 127.0.0.1:{port}" in process.stdout.readline()
        assert _print(port, RECEIPT) == bytes([PAPER_OK, PAPER_OK])
        assert process.stdout.readline().strip() == (
            f"job 1: {len(RECEIPT)} bytes, drawer kicked, text: Madina General Store | Total      Rs 1,100")
        _print(port, PICTURE)
        assert process.stdout.readline().strip() == f"job 2: {len(PICTURE)} bytes, a picture (an Urdu slip)"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "job-1.bin").read_bytes() == RECEIPT
    assert (tmp_path / "job-2.png").exists() and not (tmp_path / "job-1.png").exists()
