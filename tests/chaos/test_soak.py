"""The chaos soak: tablets sell while the LAN and the WAN misbehave and the box and the cloud are
SIGKILLed at random moments; at the end every sale is in the cloud exactly once, to the paisa.

Real `posline-cloud` and `posline-gateway` processes on 127.0.0.1; simulated tablets that follow
the till's rules (till.py) through a fault proxy on the LAN; the gateway reaches the cloud through
a fault proxy on the WAN; faults and kills come from faults.py. After the sales, every link
passes again and the tablets drain. Then the invariants (DESIGN.md section 5):
- the cloud holds exactly the documents the tablets completed, each once, each as completed;
- the day's totals, tax, tenders and devices match the tablets' sales to the paisa;
- stock moved by exactly the quantities sold, SKU by SKU;
- every tablet has 0 unsynced and nothing dead; the box lost nothing it acked and parked nothing;
- the cloud sees no gap in any tablet's receipt numbers.

`make test` runs a short soak (the defaults below); `make soak` a long one:
SOAK_DOCS (documents), SOAK_KILLS (SIGKILLs, box and cloud alternately), SOAK_TABLETS,
SOAK_SEED, SOAK_SELL_S (how long the tablets sell). Each run prints its table and writes it to
tests/_artifacts/chaos/soak.md.
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

from cloud_api.contract import business_date, receipt_number

from .faults import Chaos, ChaosRig
from .till import Pace, Tablet

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "chaos"


@dataclass(frozen=True)
class Soak:
    docs: int
    kills: int
    tablets: int
    seed: int
    sell_s: float

    @classmethod
    def from_env(cls) -> "Soak":
        docs = int(os.environ.get("SOAK_DOCS", "300"))
        return cls(docs=docs, kills=int(os.environ.get("SOAK_KILLS", "4")),
                   tablets=int(os.environ.get("SOAK_TABLETS", "3")), seed=int(os.environ.get("SOAK_SEED", "6")),
                   sell_s=float(os.environ.get("SOAK_SELL_S", max(25.0, docs / 16))))

    @property
    def drain_s(self) -> float:
        """Generous: a healthy drain takes seconds."""
        return 60 + self.docs / 50


def poll(check: Callable[[], bool], timeout_s: float) -> bool:
    """Whether `check` came true within the deadline (looked at every 0.2 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_chaos_soak(chaos_rig: ChaosRig, tmp_path: Path, capsys: Any) -> None:
    soak = Soak.from_env()
    started = time.monotonic()
    rig = chaos_rig.shop
    pace = Pace(think_s=soak.sell_s * soak.tablets / soak.docs)
    tablets = [Tablet(f"tablet-{i + 1}", tmp_path / "tablets" / str(i + 1), chaos_rig.lan_url, rig.gateway.verify(),
                      chaos_rig.tricks, soak.seed * 1000 + i, pace) for i in range(soak.tablets)]
    for tablet in tablets:
        tablet.pair(rig.pair_code())
    assert poll(lambda: all(t.pull_catalog() or t.catalog() for t in tablets), 30), "no catalog reached the tablets"
    stock_before = {row["sku"]: row["on_hand"] for row in rig.owner_get("stock")}

    quotas = [soak.docs // soak.tablets + (i < soak.docs % soak.tablets) for i in range(soak.tablets)]
    sold = Counter({t.name: 0 for t in tablets})   # every key there from the start: summed while sellers count
    stop_selling, stop_syncing = threading.Event(), threading.Event()
    sellers = [threading.Thread(target=t.sell, args=(q, stop_selling, sold), name=f"{t.name}-cashier", daemon=True)
               for t, q in zip(tablets, quotas)]
    syncers = [threading.Thread(target=t.sync_forever, args=(stop_syncing,), name=f"{t.name}-sync", daemon=True)
               for t in tablets]
    chaos = Chaos(chaos_rig, random.Random(soak.seed), soak.kills)
    drained = False
    try:
        try:
            for thread in sellers + syncers:
                thread.start()
            chaos.run(progress=lambda: sum(sold.values()) / soak.docs,
                      selling=lambda: any(s.is_alive() for s in sellers), stop=stop_selling,
                      deadline=time.monotonic() + soak.sell_s * 3 + soak.kills * 10 + 60)
            for seller in sellers:
                seller.join(60)
            chaos.calm()
            for tablet in tablets:
                tablet.now()
            drained = poll(lambda: all(t.journal.count_unsynced() == 0 for t in tablets), soak.drain_s)
        finally:
            chaos.calm()
            stop_selling.set()
            stop_syncing.set()
            for tablet in tablets:
                tablet.wake.set()
            for thread in sellers + syncers:
                thread.join(30)
        report = Report.gather(chaos_rig, chaos, tablets, stock_before, soak, time.monotonic() - started, drained)
    finally:
        for tablet in tablets:
            tablet.close()
    table = report.table()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "soak.md").write_text(table + "\n")
    with capsys.disabled():
        print("\n" + table)
    report.check()


@dataclass
class Report:
    """What the run did and what the cloud, the box and the tablets hold at the end."""

    soak: Soak
    wall_s: float
    drained: bool
    faults: dict[str, str]
    kills: Counter[str]
    down_s: float
    overlapping: int
    completed: int
    in_cloud: int
    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    wrong_documents: list[str]
    wrong_figures: list[str]
    stock_off: list[str]
    unsynced: dict[str, int]
    dead: dict[str, list[tuple[str, str]]]
    anomalies: list[str]
    box: dict[str, Any]
    gaps: list[str]
    seen: Counter[str]

    @classmethod
    def gather(cls, chaos_rig: ChaosRig, chaos: Chaos, tablets: list[Tablet], stock_before: dict[str, int],
               soak: Soak, wall_s: float, drained: bool) -> "Report":
        rig, lan, wan, tricks = chaos_rig.shop, chaos_rig.lan, chaos_rig.shop.proxy, chaos_rig.tricks
        e = chaos.episodes
        faults = {
            "cuts (episodes; connections dropped or refused)": (f"{e['lan_cut']} ({lan.cut_connections})",
                                                     f"{e['wan_cut']} ({wan.cut_connections})"),
            "delays (episodes)": (str(e["lan_delay"]), str(e["wan_delay"])),
            "lost replies (server committed, client never heard)": (str(lan.dropped_replies),
                                                                    str(wan.dropped_replies)),
            "duplicated requests": (str(tricks.done["duplicate"]), str(wan.duplicated_requests)),
            "reordered requests (delivered after a later one)": (str(tricks.done["reorder"]),
                                                                 str(wan.reordered_requests)),
        }
        completed = {d["id"]: d for t in tablets for d in t.journal.documents()}
        cloud_docs = rig.cloud_documents("sale")
        ids = Counter(d["id"] for d in cloud_docs)
        receipts = Counter((d["device_id"], d["seq"]) for d in cloud_docs)
        cloud_by_id = {d["id"]: d for d in cloud_docs}
        wrong_documents = []
        for doc_id, document in completed.items():
            held = cloud_by_id.get(doc_id)
            if held is None:
                continue
            # Every field as the tablet completed it; the listing adds the cloud's own notes beside them.
            differ = sorted(k for k, v in document.items() if held.get(k) != v)
            if differ:
                wrong_documents.append(f"{receipt_number(document['device_code'], document['seq'])} ({', '.join(differ)})")
        seen: Counter[str] = Counter()
        for tablet in tablets:
            seen.update(tablet.seen)
        return cls(
            soak=soak, wall_s=wall_s, drained=drained, faults=faults,
            kills=Counter({k: e[k] for k in ("kill_box", "kill_cloud")}), down_s=chaos.down_s,
            overlapping=e["overlapping"],
            completed=len(completed), in_cloud=len(ids),
            lost=[receipt_number(d["device_code"], d["seq"]) for i, d in completed.items() if i not in ids],
            duplicated=[i for i, n in ids.items() if n > 1] + [f"{k} under {n} ids" for k, n in receipts.items()
                                                                if n > 1],
            unexpected=[i for i in ids if i not in completed],
            wrong_documents=wrong_documents,
            wrong_figures=_wrong_figures(rig, list(completed.values())),
            stock_off=_stock_off(rig, list(completed.values()), stock_before),
            unsynced={t.name: t.journal.count_unsynced() for t in tablets},
            dead={t.name: t.journal.dead_letters() for t in tablets if t.journal.dead_letters()},
            anomalies=[a for t in tablets for a in t.anomalies],
            box=_box(rig.state_dir / "gateway.db"),
            gaps=_gaps(rig, tablets),
            seen=seen)

    def table(self) -> str:
        minutes, seconds = divmod(round(self.wall_s), 60)
        rows = [
            "| Fault injected | LAN (tablets → box) | WAN (box → cloud) |",
            "|---|---:|---:|",
            *(f"| {name} | {lan} | {wan} |" for name, (lan, wan) in self.faults.items()),
            (f"| SIGKILL of the server at a random moment, then restart | box {self.kills['kill_box']} "
             f"| cloud {self.kills['kill_cloud']} |"),
            "",
            "| Outcome | |",
            "|---|---:|",
            f"| Tablets (seed) | {self.soak.tablets} ({self.soak.seed}) |",
            f"| Documents completed on the tablets | {self.completed} |",
            f"| In the cloud | {self.in_cloud} |",
            f"| Lost | {len(self.lost)} |",
            f"| Duplicated | {len(self.duplicated)} |",
            f"| Not completed on any tablet, yet in the cloud | {len(self.unexpected)} |",
            f"| Wrong totals (documents, day figures) | {len(self.wrong_documents)}, {len(self.wrong_figures)} |",
            f"| Stock off (SKUs) | {len(self.stock_off)} |",
            f"| Tablets' unsynced at the end | {sum(self.unsynced.values())} |",
            f"| Faults on the LAN and the WAN at once | {self.overlapping} |",
            f"| Time the box or the cloud was down | {self.down_s:.0f} s |",
            f"| Wall time | {minutes} min {seconds:02d} s |",
        ]
        return "\n".join(rows)

    def check(self) -> None:
        where = f"\n(state of the box: {self.box}; tablets saw: {dict(self.seen)}; logs in the test's tmp_path)"
        assert self.kills["kill_box"] + self.kills["kill_cloud"] >= self.soak.kills, self.kills
        for kind, counts in self.faults.items():
            assert all(not c.startswith("0") for c in counts), f"no {kind} was injected: {counts}"
        assert self.completed == self.soak.docs, f"{self.completed} completed, {self.soak.docs} asked for"
        assert not self.anomalies, f"answers the till's rules cannot explain: {self.anomalies[:10]}{where}"
        assert not self.dead, f"documents the tablets had to give up on: {self.dead}{where}"
        assert self.drained and sum(self.unsynced.values()) == 0, (
            f"tablets still unsynced after {self.soak.drain_s:.0f}s with every link up: {self.unsynced}{where}")
        assert not self.lost, f"{len(self.lost)} documents never reached the cloud: {self.lost[:20]}{where}"
        assert not self.duplicated, f"documents in the cloud more than once: {self.duplicated[:20]}{where}"
        assert not self.unexpected, f"documents in the cloud no tablet completed: {self.unexpected[:20]}"
        assert not self.wrong_documents, f"cloud copies that differ from the tablet's: {self.wrong_documents[:20]}"
        assert not self.wrong_figures, f"day figures off: {self.wrong_figures}"
        assert not self.stock_off, f"stock off: {self.stock_off}"
        assert not self.seen["acks: unknown, sent again"], (
            f"the box forgot documents it had acknowledged: {self.seen['acks: unknown, sent again']}{where}")
        assert self.box["journal"] == self.completed and self.box["cloud_state"] == {"in_cloud": self.completed}, (
            f"the box's journal: {self.box}")
        assert self.box["dead_letter"] == 0 and self.box["conflicts"] == 0, f"the box's journal: {self.box}"
        assert not self.gaps, f"receipt numbers the cloud misses: {self.gaps}"


def _days(documents: list[dict[str, Any]]) -> list[date]:
    days = {business_date(d["created_at"]) for d in documents}
    first, last = min(days) - timedelta(days=1), max(days) + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _wrong_figures(rig: Any, documents: list[dict[str, Any]]) -> list[str]:
    """The owner's day summaries, summed over every day the sales could fall on, against the tablets."""
    expected: Counter[str] = Counter()
    for d in documents:
        expected["sales_count"] += 1
        expected["gross"] += d["total"]
        expected["tax"] += d["tax"]
        expected[f"device {d['device_code']}"] += d["total"]
        for payment in d["payments"]:
            expected[f"tender {payment['tender']}"] += payment["amount"]
        expected["tender cash"] -= d["change"]
    got: Counter[str] = Counter()
    for day in _days(documents):
        summary = rig.owner_get("reports/summary", date=day.isoformat())
        got.update({k: summary[k] for k in ("sales_count", "gross", "tax")})
        got.update({f"device {k}": v for k, v in summary["by_device"].items()})
        got.update({f"tender {k}": v for k, v in summary["by_tender"].items()})
    return [f"{k}: cloud {got[k]}, tablets {expected[k]}" for k in sorted(set(expected) | set(got))
            if got[k] != expected[k]]


def _stock_off(rig: Any, documents: list[dict[str, Any]], before: dict[str, int]) -> list[str]:
    """SKUs whose stock did not move by exactly the quantities sold."""
    sold: Counter[str] = Counter()
    for d in documents:
        for line in d["lines"]:
            sold[line["sku"]] += line["qty"]
    after = {row["sku"]: row["on_hand"] for row in rig.owner_get("stock")}
    return [f"{sku}: moved {after.get(sku, 0) - before.get(sku, 0)}, sold {sold[sku]}"
            for sku in sorted(set(sold) | set(after) | set(before))
            if after.get(sku, 0) - before.get(sku, 0) != -sold[sku]]


def _box(db_path: Path) -> dict[str, Any]:
    """The box's journal as it lies on disk."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        return {"journal": db.execute("SELECT count(*) FROM journal").fetchone()[0],
                "cloud_state": dict(db.execute("SELECT cloud_state, count(*) FROM journal GROUP BY cloud_state")),
                "dead_letter": db.execute("SELECT count(*) FROM dead_letter").fetchone()[0],
                "conflicts": db.execute("SELECT count(*) FROM conflicts").fetchone()[0]}


def _gaps(rig: Any, tablets: list[Tablet]) -> list[str]:
    """Each tablet's receipt numbers as the cloud's health sees them: contiguous up to the last one."""
    devices = {d["device_id"]: d for d in rig.owner_get("health")["devices"]}
    gaps = []
    for tablet in tablets:
        last = max((d["seq"] for d in tablet.journal.documents()), default=0)
        held = devices.get(tablet.identity["device_id"], {"contiguous_seq": 0, "max_seq": 0, "gaps": []})
        if held["contiguous_seq"] != last or held["max_seq"] != last or held["gaps"]:
            gaps.append(f"{tablet.name}: last seq {last}, cloud {held}")
    return gaps

