"""`posline-cloud serve --workers N`: a real parent process, its workers on one port, restarts and stopping."""
from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud_api.service import workers
from cloud_api.service.errors import ServiceError
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _children(parent: int) -> set[int]:
    """Live child processes of `parent`, from /proc (field 4 of stat is the parent's pid)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(what: str, condition: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _exactly(n: int, pids: set[int]) -> set[int] | None:
    return pids if len(pids) == n else None


def _answering_worker(url: str) -> int | None:
    """The pid of whichever worker answers a fresh connection (the kernel picks by the connection)."""
    try:
        with httpx.Client(timeout=2) as client:   # a new client: a new connection, maybe another worker
            response = client.get(f"{url}/healthz")
    except httpx.HTTPError:
        return None
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True
    return body["worker"]


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    parent = subprocess.Popen(
        [sys.executable, "-m", "cloud_api.cli", "serve", "--workers", "2", "--port", str(port),
         "--db", f"sqlite:///{tmp_path / 'cloud.db'}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(tmp_path / "cloud.log").open("wb"))
    try:
        yield parent, f"http://127.0.0.1:{port}"
    finally:
        workers = _children(parent.pid)
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in workers:   # never leave a worker behind, whatever the test did
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_two_workers_answer_restart_and_stop_together(two_workers: tuple[subprocess.Popen[bytes], str]):
    parent, url = two_workers
    workers = _wait_for("two workers", lambda: _exactly(2, _children(parent.pid)))

    # Both answer on the one port: fresh connections reach each of them.
    seen: set[int] = set()
    _wait_for("an answer from each worker", lambda: seen.add(_answering_worker(url) or 0) or seen >= workers)

    # A worker killed outright is started again, and the port keeps answering meanwhile.
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    replacement = _wait_for("a new worker", lambda: (_children(parent.pid) - workers) or None)
    assert victim not in _children(parent.pid) and len(replacement) == 1
    new_pid = next(iter(replacement))
    _wait_for("the new worker to answer", lambda: _answering_worker(url) == new_pid, timeout_s=60)

    # SIGTERM to the parent stops every worker, then the parent, within a few seconds.
    running = _children(parent.pid)
    started = time.monotonic()
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=15) == 0
    _wait_for("no worker left", lambda: not any(_alive(pid) for pid in running), timeout_s=5)
    assert time.monotonic() - started < 10
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/healthz", timeout=2)


def test_a_worker_dies_with_its_parent(two_workers: tuple[subprocess.Popen[bytes], str]):
    parent, url = two_workers
    workers = _wait_for("two workers", lambda: _exactly(2, _children(parent.pid)))
    _wait_for("an answer", lambda: _answering_worker(url))
    parent.kill()   # no chance to stop its workers: the kernel must (PR_SET_PDEATHSIG)
    parent.wait()
    _wait_for("no orphaned worker", lambda: not any(_alive(pid) for pid in workers), timeout_s=15)


def _serve_two_workers(port: int, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloud_api.cli", "serve", "--workers", "2", "--port", str(port),
         "--db", f"sqlite:///{db}"], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_second_instance_on_the_port_fails_to_start(two_workers: tuple[subprocess.Popen[bytes], str],
                                                      tmp_path: Path):
    # As one process serving does: no silent share of the port (an old release beside a new one).
    parent, url = two_workers
    workers = _wait_for("two workers", lambda: _exactly(2, _children(parent.pid)))
    _wait_for("an answer", lambda: _answering_worker(url))
    second = _serve_two_workers(int(url.rsplit(":", 1)[1]), tmp_path / "other.db")
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [second.stderr.strip()]   # one line
    assert second.stderr.startswith("posline-cloud: ") and "address already in use" in second.stderr
    assert "serving on" not in second.stdout
    assert not (tmp_path / "other.db").exists()   # refused before it touched any database
    # The first keeps serving, with the same workers.
    assert parent.poll() is None and _children(parent.pid) == workers
    assert {_answering_worker(url) for _ in range(5)} <= workers


def test_a_port_another_program_holds_fails_to_start(tmp_path: Path):
    port = free_port()
    with socket.socket() as taken:   # another program holds the port (without SO_REUSEPORT)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = _serve_two_workers(port, tmp_path / "cloud.db")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "address already in use" in done.stderr


def test_workers_that_cannot_start_end_the_parent():
    # A worker that exits before it listens, START_ATTEMPTS times in a row: the parent gives up.
    with workers.bind_port("127.0.0.1", 0) as listener:
        listener.listen()
        with pytest.raises(ServiceError, match="exited 5 times before serving"):
            workers.run_workers([sys.executable, "-c", "raise SystemExit(1)"], 2, "test", listener)


def test_a_child_whose_parent_died_during_the_fork_exits():
    # _die_with_parent checks the parent is still the one that started it (else no signal would come).
    argv = [sys.executable, "-c", "print('ran')"]
    orphan = subprocess.run(argv, preexec_fn=functools.partial(workers._die_with_parent, 1),
                            capture_output=True, text=True, timeout=30)
    assert orphan.returncode == 1 and orphan.stdout == ""
    child = subprocess.run(argv, preexec_fn=functools.partial(workers._die_with_parent, os.getpid()),
                           capture_output=True, text=True, timeout=30)
    assert child.returncode == 0 and child.stdout == "ran\n"
