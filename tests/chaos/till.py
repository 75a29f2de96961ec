"""A protocol-level till: what web_till/journal.js and web_till/sync.js do, without a browser.

Each simulated tablet has its own durable queue, a SQLite file standing in for IndexedDB,
and follows the till's rules:
- a sale is completed by storing it with the next gap-free `seq` in one durable transaction,
  before it is ever sent; completing the same cart twice (a double-tapped Pay) returns the first;
- push: pending documents in `seq` order, at most 200 a batch; `stored` or `duplicate` moves a
  document to at_gateway, anything else to dead (kept with its reason); a batch answered with
  another number of results than it carried stays pending;
- learn acks: at most 1,000 at_gateway ids to /api/v1/journal:acks; `in_cloud` -> in_cloud,
  `rejected` -> dead, `unknown` (the box does not hold it) -> pending, to be sent again;
- pull the catalog with its ETag;
- a failure backs off with jitter; a sale asks for a sync at once. The waits are shorter than
  the till's (BUSY_MS, IDLE_MS), so a soak compresses a day into minutes.

A TCP proxy cannot replay TLS, so each tablet's own network (`LanTricks`) duplicates and
reorders its requests, as a flaky Wi-Fi and a browser's retries do: a duplicated request
arrives twice, the copy on a connection of its own at the same moment; a reordered request is
lost to its sender (who retries) and arrives after the next request has been answered.
"""
from __future__ import annotations

import json
import random
import sqlite3
import ssl
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from cloud_api.contract import document_hash, line_tax
from tests.conftest import document_id

SHOP_ZONE = ZoneInfo("Asia/Karachi")
PUSH_BATCH = 200          # sync.js: journal.byState("pending", 200)
ACKS_BATCH = 1000         # sync.js ACKS_PAGE: learnAcks asks about the lowest page of those held (and, past
                          # a page, one more of the rest in turn, which this simulated till leaves out)
MAX_PUSH_ROUNDS = 1000    # bounds one push; the till loops until nothing is pending


class Unreachable(Exception):
    """No answer from the box (api.js's Unreachable)."""


class ApiError(Exception):
    """An answer that says no (api.js's ApiError)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


@dataclass(frozen=True)
class Pace:
    """How fast a tablet sells and syncs (seconds)."""

    think_s: float = 0.3        # mean time between two sales
    busy_s: float = 0.2         # sync.js BUSY_MS: documents still on their way
    idle_s: float = 0.5         # sync.js IDLE_MS
    backoff_cap_s: float = 1.0  # sync.js MAX_BACKOFF_MS
    timeout_s: float = 8.0      # api.js TIMEOUT_MS


class LanTricks:
    """Duplicated and reordered requests on the shop's Wi-Fi, armed by the chaos controller."""

    KINDS = ("duplicate", "reorder")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed = {kind: 0 for kind in self.KINDS}
        self.done: Counter[str] = Counter()

    def arm(self, kind: str, count: int) -> None:
        with self._lock:
            self._armed[kind] = count

    def disarm(self) -> None:
        with self._lock:
            self._armed = {kind: 0 for kind in self.KINDS}

    def armed(self, kind: str) -> int:
        with self._lock:
            return self._armed[kind]

    def take(self, kind: str) -> bool:
        """Spend one armed trick of this kind, if there is one."""
        with self._lock:
            if self._armed[kind] <= 0:
                return False
            self._armed[kind] -= 1
            self.done[kind] += 1
            return True


class TillJournal:
    """The tablet's durable queue (journal.js over IndexedDB), one SQLite file, one writer at a time."""

    def __init__(self, path: Path):
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")   # durability "strict"
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS documents (
                id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, state TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS documents_state ON documents (state, seq);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS dead_letter (
                pk INTEGER PRIMARY KEY, document_id TEXT NOT NULL, reason TEXT NOT NULL);""")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def complete(self, document: dict[str, Any]) -> dict[str, Any]:
        """Give the document the next seq and store it, in one durable transaction; again: the first."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT body FROM documents WHERE id = ?", (document["id"],)).fetchone()
                if row:
                    self._db.execute("COMMIT")
                    return json.loads(row[0])
                last = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
                seq = (json.loads(last[0]) if last else 0) + 1
                completed = {**document, "seq": seq}
                completed["hash"] = document_hash(completed)   # withHash() at push gives the same
                self._db.execute("INSERT INTO documents (id, seq, state, body) VALUES (?, ?, 'pending', ?)",
                                 (completed["id"], seq, json.dumps(completed, ensure_ascii=False)))
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)", (json.dumps(seq),))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return completed

    def by_state(self, state: str, limit: int) -> list[dict[str, Any]]:
        """Documents in this state, lowest seq first."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM documents WHERE state = ? ORDER BY seq LIMIT ?",
                                    (state, limit)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def set_state(self, ids: list[str], state: str, reasons: dict[str, str] | None = None) -> None:
        """Move documents to a new state; a reason sends them to the dead letter store too."""
        if not ids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for doc_id in ids:
                    moved = self._db.execute("UPDATE documents SET state = ? WHERE id = ? AND state != ?",
                                             (state, doc_id, state))
                    if moved.rowcount and reasons and reasons.get(doc_id):
                        self._db.execute("INSERT INTO dead_letter (document_id, reason) VALUES (?, ?)",
                                         (doc_id, reasons[doc_id]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def count_unsynced(self) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT count(*) FROM documents WHERE state IN ('pending', 'at_gateway')").fetchone()[0]

    def states(self) -> Counter[str]:
        with self._lock:
            return Counter(dict(self._db.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall()))

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(row[0]) for row in self._db.execute("SELECT body FROM documents ORDER BY seq")]

    def dead_letters(self) -> list[tuple[str, str]]:
        with self._lock:
            return self._db.execute("SELECT document_id, reason FROM dead_letter ORDER BY pk").fetchall()


class Tablet:
    """One counter tablet: a cashier who completes sales and a sync loop, each in its own thread."""

    def __init__(self, name: str, state_dir: Path, base_url: str, verify: ssl.SSLContext, tricks: LanTricks,
                 seed: int, pace: Pace):
        state_dir.mkdir(parents=True, exist_ok=True)
        self.name, self.tricks, self.pace = name, tricks, pace
        self.journal = TillJournal(state_dir / "till.db")
        self.rng = random.Random(seed)            # what the cashier sells
        self.jitter = random.Random(seed + 1)     # the sync loop's backoff
        self._http = httpx.Client(base_url=base_url, verify=verify, timeout=pace.timeout_s)
        self._side = httpx.Client(base_url=base_url, verify=verify, timeout=pace.timeout_s)   # copies
        self._copies = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-wifi")
        self._held: list[tuple[str, str, dict[str, str], bytes]] = []
        self.failures = 0
        self.wake = threading.Event()
        self.seen: Counter[str] = Counter()       # what the sync loop met: errors by kind, double taps
        self.anomalies: list[str] = []            # answers the till's rules cannot explain

    # --- the network, as api.js sees it ----------------------------------------------

    def call(self, path: str, *, method: str = "GET", body: Any = None, etag: str | None = None,
             tricks: bool = False) -> dict[str, Any]:
        """One request to the box's LAN API; Unreachable or ApiError when it fails."""
        headers = {}
        identity = self.journal.get_meta("identity")
        if identity:
            headers["Authorization"] = f"Bearer {identity['token']}"
        if etag:
            headers["If-None-Match"] = etag
        content = b""
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False).encode()
        copy = (method, f"/api/v1/{path}", headers, content)
        if tricks and self.tricks.take("reorder"):
            self._held.append(copy)
            raise Unreachable("the request is held back on the Wi-Fi; it will arrive late")
        if tricks and self.tricks.take("duplicate"):
            self._copies.submit(self._send_copy, copy)
        started = time.time()
        try:
            response = self._http.request(method, f"/api/v1/{path}", headers=headers, content=content or None)
        except httpx.HTTPError as err:
            raise Unreachable(f"gateway unreachable: {type(err).__name__}") from err
        received = time.time()
        if self._held:   # a later request has been answered: the held ones arrive now
            for held in self._held:
                self._copies.submit(self._send_copy, held)
            self._held = []
        if response.status_code == 304:
            return {"status": 304, "etag": response.headers.get("ETag")}
        try:
            answer = response.json()
        except ValueError as err:
            raise Unreachable(f"gateway answered {response.status_code} without JSON") from err
        if not response.is_success:
            error = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
            raise ApiError(response.status_code, error.get("code", "error"), error.get("message", ""))
        return {"status": response.status_code, "json": answer, "etag": response.headers.get("ETag"),
                "rtt": (started, received)}

    def _send_copy(self, copy: tuple[str, str, dict[str, str], bytes]) -> None:
        method, path, headers, content = copy
        try:
            self._side.request(method, path, headers=headers, content=content or None)
        except httpx.HTTPError:
            pass   # a copy lost on the way is one more fault, not a failure of the tablet

    # --- pairing and the catalog -------------------------------------------------------

    def pair(self, code: str) -> dict[str, Any]:
        answer = self.call("pair", method="POST", body={"code": code, "name": f"Counter {self.name}"})["json"]
        self.journal.set_meta("identity", answer)
        return answer

    @property
    def identity(self) -> dict[str, Any]:
        return self.journal.get_meta("identity")

    def pull_catalog(self) -> None:
        stored = self.journal.get_meta("catalog")
        try:
            answer = self.call("catalog", etag=stored and stored["etag"])
        except ApiError as err:
            if err.code == "not_provisioned":   # not yet from the cloud
                return
            raise
        if answer["status"] == 304:
            return
        self.journal.set_meta("catalog", {"etag": answer["etag"], "catalog": answer["json"]})

    def catalog(self) -> dict[str, Any] | None:
        stored = self.journal.get_meta("catalog")
        return stored and stored["catalog"]

    # --- the cashier -------------------------------------------------------------------

    def new_sale(self) -> dict[str, Any]:
        """A cart paid in full, as document.js saleDocument() makes it (no seq, no hash yet)."""
        products = self.rng.sample(self.catalog()["products"], k=self.rng.randint(1, 4))
        lines = []
        for product in products:
            qty = self.rng.choice((1, 1, 1, 2, 3, 12))
            amount = qty * product["price"]
            lines.append({"sku": product["sku"], "name": product["name"], "qty": qty, "unit_price": product["price"],
                          "gst_bp": product["gst_bp"], "amount": amount, "tax": line_tax(amount, product["gst_bp"])})
        total, tax = sum(line["amount"] for line in lines), sum(line["tax"] for line in lines)
        tender = self.rng.choice(("cash", "cash", "cash", "card", "wallet"))
        if tender == "cash":   # a round note or two; the rest is change
            received = -(-total // 10000) * 10000 + self.rng.choice((0, 0, 50000, 100000))
            payments, change = [{"tender": "cash", "amount": received}], received - total
        else:
            payments, change = [{"tender": tender, "amount": total}], 0
        identity = self.identity
        return {"id": document_id(), "kind": "sale", "device_id": identity["device_id"],
                "device_code": identity["device_code"],
                "created_at": datetime.now(SHOP_ZONE).isoformat(timespec="seconds"), "cashier_id": "c1",
                "clock_offset_ms": self.journal.get_meta("clock_offset_ms"),
                "lines": lines, "payments": payments, "total": total, "tax": tax, "change": change}

    def sell(self, count: int, stop: threading.Event, sold: Counter[str]) -> None:
        """Complete `count` sales, one every `think_s` on average; each asks for a sync at once."""
        for _ in range(count):
            if stop.is_set():
                return
            sale = self.new_sale()
            self.journal.complete(sale)
            if self.rng.random() < 0.02:   # Pay tapped twice: the journal gives back the first
                again = self.journal.complete(sale)
                if again["id"] != sale["id"]:
                    self.anomalies.append(f"completing {sale['id']} twice made another document")
                self.seen["double taps"] += 1
            sold[self.name] += 1
            self.now()
            stop.wait(self.rng.expovariate(1 / self.pace.think_s))

    # --- the sync loop (sync.js) -------------------------------------------------------

    def now(self) -> None:
        self.failures = 0
        self.wake.set()

    def sync_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.cycle()
            self.wake.wait(self.next_delay())
            self.wake.clear()

    def cycle(self) -> None:
        try:
            self.push()
            self.learn_acks()
            self.pull_catalog()
            self.failures = 0
        except Unreachable:
            self.failures += 1
            self.seen["unreachable"] += 1
        except ApiError as err:
            self.failures += 1
            self.seen[f"box answered {err.status} {err.code}"] += 1
        except ResultsMismatch as err:
            self.failures += 1
            self.anomalies.append(str(err))

    def next_delay(self) -> float:
        if self.failures > 0:
            ceiling = min(self.pace.backoff_cap_s, 0.1 * 2 ** (self.failures - 1))
            return ceiling / 2 + self.jitter.random() * ceiling / 2
        return self.pace.busy_s if self.journal.count_unsynced() > 0 else self.pace.idle_s

    def push(self) -> None:
        for _ in range(MAX_PUSH_ROUNDS):
            pending = self.journal.by_state("pending", PUSH_BATCH)
            if not pending:
                return
            answer = self.call("journal:batch", method="POST", body={"documents": pending}, tricks=True)
            results = answer["json"]["results"]
            if len(results) != len(pending):
                # Never guess which result is whose: keep them all pending and try again later.
                raise ResultsMismatch(f"{self.name}: {len(results)} results for {len(pending)} documents")
            sent, received = answer["rtt"]
            offset = datetime.fromisoformat(answer["json"]["server_time"]).timestamp() - (sent + received) / 2
            self.journal.set_meta("clock_offset_ms", round(offset * 1000))
            delivered, dead, reasons = [], [], {}
            for document, result in zip(pending, results):
                if result.get("id") != document["id"]:
                    self.anomalies.append(f"{self.name}: result for {result.get('id')} in the place of "
                                          f"{document['id']}")
                if result["status"] in ("stored", "duplicate"):
                    delivered.append(document["id"])
                else:
                    dead.append(document["id"])
                    reasons[document["id"]] = f"{result['status']}: {result.get('reason') or ''}"
            self.journal.set_state(delivered, "at_gateway")
            self.journal.set_state(dead, "dead", reasons)

    def learn_acks(self) -> None:
        held = self.journal.by_state("at_gateway", ACKS_BATCH)
        if not held:
            return
        answer = self.call("journal:acks", method="POST", body={"ids": [d["id"] for d in held]}, tricks=True)["json"]
        self.journal.set_state(answer["in_cloud"], "in_cloud")
        rejected = {r["id"]: r["reason"] or "rejected" for r in answer["rejected"]}
        self.journal.set_state(list(rejected), "dead", rejected)
        # The box does not hold these (a replaced box, or one that lost them): send them again.
        if answer["unknown"]:
            self.seen["acks: unknown, sent again"] += len(answer["unknown"])
        self.journal.set_state(answer["unknown"], "pending")

    def close(self) -> None:
        self._copies.shutdown(wait=True)
        self._http.close()
        self._side.close()
        self.journal.close()


class ResultsMismatch(Exception):
    """The box answered a batch with another number of results than it carried."""
