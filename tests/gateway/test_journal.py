"""The gateway's journal over its LAN API, with the real cloud app behind it."""
from __future__ import annotations

import asyncio

from cloud_api import demo_shop
from gateway import journal
from gateway.cli import _status
from gateway.store import Store
from tests.conftest import make_sale
from tests.gateway.conftest import paired


async def wait_for(check, timeout_s: float = 10):
    for _ in range(int(timeout_s * 20)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_batch_answers_per_document_and_forwards_to_the_cloud(gateway, provisioned, cloud):
    till = await paired(gateway, provisioned)
    own = dict(device_id=till["device_id"], device_code=till["device_code"])
    good, other = make_sale(seq=1, **own), make_sale(seq=2, **own)
    twin = make_sale(seq=2, doc_id=good["id"], qty=5, **own)
    foreign = make_sale(seq=3, device_id="someone-else", device_code="T9")
    response = await gateway.post("/api/v1/journal:batch", headers=till["headers"],
                                  json={"documents": [good, other, good, twin, foreign, 42]})
    assert response.status == 200
    statuses = [r["status"] for r in (await response.json())["results"]]
    assert statuses == ["stored", "stored", "duplicate", "conflict", "invalid", "invalid"]

    async def acked():
        answer = await gateway.post("/api/v1/journal:acks", headers=till["headers"],
                                    json={"ids": [good["id"], other["id"], "never-sent"]})
        body = await answer.json()
        return body if len(body["in_cloud"]) == 2 else None

    body = await wait_for(acked)
    assert body["unknown"] == ["never-sent"] and body["at_gateway"] == [] and body["rejected"] == []

    store = await Store.open(provisioned.state_dir)
    db = store.read()
    dead = await db.execute_fetchall("SELECT reason, source FROM dead_letter ORDER BY pk")
    conflicts = await db.execute_fetchall("SELECT document_id FROM conflicts")
    await store.close()
    assert [row["source"] for row in dead] == ["till", "till"]      # kept, not dropped
    assert "another device" in dead[0]["reason"]
    assert [row[0] for row in conflicts] == [good["id"]]


async def test_status_reports_wan_and_backlog(gateway, provisioned):
    async def online():
        body = await (await gateway.get("/api/v1/status")).json()
        return body if body["wan"] == "online" else None

    body = await wait_for(online)
    assert body["backlog"] == 0 and body["shop_name"] == "Madina"


async def test_catalog_reaches_tills_with_etags(gateway, provisioned):
    till = await paired(gateway, provisioned)

    async def catalog():
        response = await gateway.get("/api/v1/catalog", headers=till["headers"])
        return response if response.status == 200 else None

    response = await wait_for(catalog)
    body = await response.json()
    assert len(body["products"]) == len(demo_shop.PRODUCTS) and body["cashiers"][0]["name"] == "Ayesha"
    again = await gateway.get("/api/v1/catalog", headers={**till["headers"], "If-None-Match": response.headers["ETag"]})
    assert again.status == 304


async def test_the_shell_is_served_with_a_versioned_service_worker(gateway):
    index = await gateway.get("/")
    assert index.status == 200 and "app.js" in await index.text()
    worker = await (await gateway.get("/sw.js")).text()
    assert "__SHELL_VERSION__" not in worker and '"/app.js"' in worker
    assert (await gateway.get("/nope.js")).status == 404


async def test_a_tablets_dead_letter_is_bounded_oldest_invalid_first(gateway, provisioned, monkeypatch):
    """One tablet sending junk cannot fill the SD card; valid documents and cloud refusals are never evicted."""
    monkeypatch.setattr(journal, "DEAD_LETTER_ROWS", 5)
    till = await paired(gateway, provisioned)
    own = dict(device_id=till["device_id"], device_code=till["device_code"])
    store = await Store.open(provisioned.state_dir)
    async with store.transaction() as db:   # a refusal by the cloud, filed under the same tablet
        await journal.dead_letter(db, "refused-by-cloud", {"x": 1}, "invalid: cloud", "cloud", till["device_id"])
    valid = make_sale(seq=1, **own)
    for n in range(3):
        junk = [{"junk": n, "i": i} for i in range(3)]
        documents = junk + [valid] if n == 0 else junk
        answer = await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": documents})
        assert answer.status == 200
    rows = await store.read().execute_fetchall(
        "SELECT source, body FROM dead_letter WHERE device_id = ? ORDER BY pk", (till["device_id"],))
    stored = await store.read().execute_fetchall("SELECT id FROM journal")
    await store.close()
    till_rows = [row["body"] for row in rows if row["source"] == "till"]
    assert len(till_rows) == 5 and '"junk": 0' not in till_rows[-1] and '"junk": 2' in till_rows[-1]
    assert [row["source"] for row in rows].count("cloud") == 1
    assert [row[0] for row in stored] == [valid["id"]]
    status = await _status(provisioned.state_dir)
    assert [d["dead_letter_evicted"] for d in status["devices"]] == [4]
