"""A till's batch wakes only what acts on what it stored (till_api.journal_batch, issue 12).

Every stored batch wakes the uplink; sales and refunds wake FBR / PRA's queue unless reporting is off;
only a drawer_open wakes the printers. Waking the printers and the fiscal queue for every batch of sales
cost each a pass of one to three reads per batch, hundreds a second at 10 tablets pushing.
"""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from cloud_api.contract import document_hash
from gateway.app import create_app
from gateway.fiscal_queue import FISCAL_QUEUE, FiscalQueue
from gateway.keys import STORE, UPLINK
from gateway.settings import GatewaySettings
from gateway.print_queue import PRINT_QUEUE
from tests.conftest import make_sale
from tests.gateway.documents import make_refund
from tests.gateway.conftest import paired
from tests.gateway.fiscal_helpers import eventually


def _recording(monkeypatch: Any, obj: Any, name: str, calls: list[str], label: str) -> None:
    monkeypatch.setattr(obj, name, lambda *args: calls.append(label))


async def test_a_batch_wakes_the_uplink_and_only_the_queues_its_documents_concern(provisioned, aiohttp_client,
                                                                                  monkeypatch):
    # The scheduled jobs (a catalog pull wakes the fiscal queue too) out of the way.
    provisioned = provisioned.model_copy(update=dict(catalog_interval_s=3600.0, heartbeat_interval_s=3600.0))
    gateway = await aiohttp_client(create_app(provisioned))
    app = gateway.server.app

    async def settled() -> bool:
        # The start-up catalog pull done (it wakes the fiscal queue itself), and the queue's pass after it.
        pulled = await (await app[STORE].read().execute("SELECT 1 FROM catalog")).fetchone()
        return pulled is not None and app[FISCAL_QUEUE].state == "off"   # no fiscal settings: reporting is off

    await eventually(settled)
    till = await paired(gateway, provisioned)
    calls: list[str] = []
    _recording(monkeypatch, app[UPLINK], "wake", calls, "uplink")
    _recording(monkeypatch, app[PRINT_QUEUE], "wake", calls, "printers")
    _recording(monkeypatch, app[FISCAL_QUEUE], "wake", calls, "fiscal")

    async def push(*documents: dict[str, Any]) -> list[str]:
        calls.clear()
        response = await gateway.post("/api/v1/journal:batch", headers=till["headers"],
                                      json={"documents": list(documents)})
        assert response.status == 200
        return [r["status"] for r in (await response.json())["results"]]

    sale = make_sale(device_id=till["device_id"], device_code=till["device_code"], seq=1)
    assert await push(sale) == ["stored"]
    assert calls == ["uplink"]                      # reporting is off: no fiscal job was made, nothing to print
    assert await push(sale) == ["duplicate"]
    assert calls == []                              # nothing stored, nothing to do

    drawer = {"id": str(uuid.uuid4()), "kind": "drawer_open", "device_id": till["device_id"],
              "device_code": till["device_code"], "seq": 2, "created_at": sale["created_at"], "cashier_id": "c1",
              "reason": "Change for a customer"}
    drawer["hash"] = document_hash(drawer)
    assert await push(drawer) == ["stored"]
    assert calls == ["uplink", "printers"]          # its drawer is kicked

    app[FISCAL_QUEUE].state = "idle"                # reporting on (as a pass finds it once the catalog says so)
    second = make_sale(device_id=till["device_id"], device_code=till["device_code"], seq=3)
    assert await push(second) == ["stored"]
    assert calls == ["uplink", "fiscal"]            # its fiscal job goes now
    refund = make_refund(second, {0: 1}, device_id=till["device_id"], device_code=till["device_code"], seq=4)
    assert await push(refund) == ["stored"]
    assert calls == ["uplink", "fiscal"]            # a refund is reported too


@pytest.mark.parametrize(("state", "woken"), [
    ("idle", True), ("sending", True),   # asleep, or in a pass that has already looked: look (again)
    ("off", False),                      # no job was made
    ("stopped", False),                  # the owner's Retry wakes it
    ("backoff", False),                  # the authority is not answering: the jobs wait for the backoff's end
])
def test_stored_sales_wake_the_fiscal_queue_only_when_it_would_post_them(state: str, woken: bool, tmp_path):
    queue = FiscalQueue(None, GatewaySettings(state_dir=tmp_path))   # never started: only its wake is looked at
    queue.state = state
    queue.wake_for_documents({"sale"})
    assert queue._wake.is_set() is woken
