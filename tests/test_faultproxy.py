"""The fault proxy's request faults do what the chaos soak's table says they did."""
from __future__ import annotations

import asyncio
import ssl
import time
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from aiohttp import web

from gateway.certificates import CertificateKeeper, ServerIdentity, tls_dir
from tests.faultproxy import FaultProxy


async def eventually(check: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def recording_app(heard: list[bytes]) -> web.Application:
    """A server that notes each journal batch it commits, then answers."""
    async def batch(request: web.Request) -> web.Response:
        heard.append(await request.read())
        return web.json_response({"ok": True})
    app = web.Application()
    app.router.add_post("/v1/journal:batch", batch)
    return app


@pytest.fixture
async def plain(aiohttp_server: Any) -> Any:
    heard: list[bytes] = []
    server = await aiohttp_server(recording_app(heard))
    proxy = FaultProxy(server.port).start()
    yield proxy, heard
    proxy.stop()


async def test_duplicate_delivers_a_second_copy_and_answers_once(plain: Any) -> None:
    proxy, heard = plain
    proxy.set_mode("duplicate", drop=1)
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        assert (await client.post("/v1/journal:batch", content=b"A")).json() == {"ok": True}
        await eventually(lambda: len(heard) == 2)
        assert (await client.post("/v1/journal:batch", content=b"B")).status_code == 200   # budget spent
    await eventually(lambda: len(heard) == 3)
    assert heard == [b"A", b"A", b"B"] and proxy.duplicated_requests == 1


async def test_reorder_delivers_a_held_request_after_a_later_one(plain: Any) -> None:
    proxy, heard = plain
    proxy.set_mode("reorder", drop=1)
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        with pytest.raises(httpx.HTTPError):   # its sender never hears back
            await client.post("/v1/journal:batch", content=b"old")
        assert heard == []
        assert (await client.post("/v1/journal:batch", content=b"new")).status_code == 200
    await eventually(lambda: len(heard) == 2)
    assert heard == [b"new", b"old"] and proxy.reordered_requests == 1 and proxy.held == 0


async def test_drop_reply_over_tls_loses_an_answer_the_server_committed(aiohttp_server: Any, tmp_path: Path) -> None:
    keeper = CertificateKeeper(tmp_path, ServerIdentity("posline", (ip_address("127.0.0.1"),)))
    heard: list[bytes] = []
    server = await aiohttp_server(recording_app(heard), ssl=keeper.context)
    proxy = FaultProxy(server.port, tls=True).start()
    trust = ssl.create_default_context(cafile=str(tls_dir(tmp_path) / "ca.crt"))
    try:
        async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{proxy.port}", verify=trust) as client:
            assert (await client.post("/v1/journal:batch", content=b"1")).status_code == 200
            proxy.set_mode("drop_reply", drop=1)
            with pytest.raises(httpx.HTTPError):
                await client.post("/v1/journal:batch", content=b"2")
            assert heard == [b"1", b"2"] and proxy.dropped_replies == 1
            assert (await client.post("/v1/journal:batch", content=b"3")).status_code == 200
        with pytest.raises(ValueError):
            proxy.set_mode("duplicate")
    finally:
        proxy.stop()


async def test_delay_is_a_one_way_latency_paid_once_per_direction_not_per_chunk(plain: Any) -> None:
    # A 900 KiB body is 14+ reads of 64 KiB: the old per-chunk sleep made it pay the delay each time
    # (>= 14 s at 1 s). A real link pays the latency once each way (~2 s), whatever the size.
    proxy, heard = plain
    proxy.set_mode("delay", delay_s=1.0)
    body = bytes(range(256)) * 3600
    async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
        started = time.monotonic()
        answer = await client.post("/v1/journal:batch", content=body)
        took = time.monotonic() - started
    assert answer.json() == {"ok": True}
    assert heard == [body]                     # every byte, in order
    assert took >= 2.0                         # the latency is really applied, both ways
    assert took < 8.0, f"{took:.1f} s: the delay was paid per chunk"
