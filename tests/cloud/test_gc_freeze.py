"""Both services (cloud and box run through serving.run_service) move their start-up heap out of the
garbage collector's sight once started: a full collection walking 110-137k long-lived objects paused
every request for 75-180 ms (see serving.freeze_startup_heap). And they make full collections rarer:
requests waiting for the writer reached the old generation and set one off every few hundred requests.
And they shorten the GIL's turns, for their database writer's thread (serving.GIL_SWITCH_S)."""
from __future__ import annotations

import asyncio
import gc
import sys

from aiohttp import web

from cloud_api.service.serving import FULL_PASS_EVERY, GIL_SWITCH_S, run_service


async def test_a_started_service_has_frozen_its_start_up_heap():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    assert thresholds[2] != FULL_PASS_EVERY   # CPython's default, as the test starts
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.005)              # CPython's default
    started = asyncio.Event()
    app = web.Application()
    kept: list[list[int]] = []

    async def on_startup(_app: web.Application) -> None:
        # Made during start-up and alive for good, as the app's routes and models are.
        kept.extend([n] for n in range(1000))
        started.set()
    app.on_startup.append(on_startup)
    service = asyncio.create_task(run_service(app, "127.0.0.1", 0, "test-service"))
    try:
        await asyncio.wait_for(started.wait(), 10)
        for _ in range(100):
            if gc.get_freeze_count() > 0:
                break
            await asyncio.sleep(0.05)
        assert gc.get_freeze_count() >= 1000   # at least the app's own start-up objects
        # Full passes rarer, the young generation's threshold as it was.
        assert gc.get_threshold() == (thresholds[0], thresholds[1], FULL_PASS_EVERY)
        assert sys.getswitchinterval() == GIL_SWITCH_S   # the GIL's turns short, for the writer's thread
    finally:
        service.cancel()
        await asyncio.gather(service, return_exceptions=True)
        gc.unfreeze()   # the rest of the test session collects as usual
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch)
