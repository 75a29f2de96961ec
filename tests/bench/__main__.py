"""`make bench`: throughput of the journal pipeline's hot paths, each beside its baseline.

Benchmarks, not tests: nothing here passes or fails. Figures are documents per
second (higher is better), measured on this machine; the baseline is what the
first version measured on the project's 2-core machine (baseline.json).
Bounded: a fixed number of documents, a few seconds in all.
"""
from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from cloud_api.contract import JournalBatch, parse_document
from cloud_api.database import create_engine, migrate
from cloud_api.ingest import ingest_batch
from cloud_api.shops import GatewayIdentity, create_shop
from gateway.journal import receive_batch
from gateway.pairing import Device
from gateway.store import Store
from tests.conftest import make_sale

BATCHES, BATCH = 10, 500
BASELINE = Path(__file__).with_name("baseline.json")


def sales(device: str, n: int) -> list[dict]:
    return [make_sale(device_id=device, seq=i + 1) for i in range(n)]


def bench_parse() -> float:
    docs = sales("d", 2000)
    start = time.perf_counter()
    for doc in docs:
        parse_document(doc)
    return len(docs) / (time.perf_counter() - start)


async def bench_cloud_ingest(tmp: Path) -> float:
    engine = create_engine(f"sqlite:///{tmp / 'cloud.db'}")
    await migrate(engine)
    async with engine.begin() as conn:
        shop = await create_shop(conn, "bench")
    gateway = GatewayIdentity("g", shop.shop_id)
    docs = sales("d", BATCHES * BATCH)
    start = time.perf_counter()
    for i in range(BATCHES):
        async with engine.begin() as conn:
            await ingest_batch(conn, gateway, JournalBatch(documents=docs[i * BATCH:(i + 1) * BATCH]))
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return len(docs) / elapsed


async def bench_gateway_receive(tmp: Path) -> float:
    store = await Store.open(tmp / "gw")
    device = Device("d", "T1", "bench")
    docs = sales("d", BATCHES * BATCH)
    start = time.perf_counter()
    for i in range(BATCHES):
        async with store.transaction() as db:
            await receive_batch(db, device, docs[i * BATCH:(i + 1) * BATCH])
    elapsed = time.perf_counter() - start
    await store.close()
    return len(docs) / elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        figures = {
            "contract.parse_document docs/s": bench_parse(),
            "cloud ingest (SQLite) docs/s": asyncio.run(bench_cloud_ingest(Path(tmp))),
            "gateway receive docs/s": asyncio.run(bench_gateway_receive(Path(tmp))),
        }
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    print(f"{'figure':<36} {'now':>10} {'baseline':>10} {'ratio':>7}")
    for name, value in figures.items():
        base = baseline.get(name)
        ratio = f"{value / base:6.2f}x" if base else "   new"
        print(f"{name:<36} {value:>10.0f} {base or 0:>10.0f} {ratio:>7}")


if __name__ == "__main__":
    main()
