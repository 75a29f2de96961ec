"""A tablet's journal as an older till made it, for the tests of the till's upgrades (web_till/journal.js)."""
from __future__ import annotations

# What each version added to the one before (journal.js onupgradeneeded, case version - 1).
_STEPS = {
    1: """const documents = db.createObjectStore("documents", { keyPath: "id" });
      documents.createIndex("state", "state");
      documents.createIndex("seq", "seq", { unique: true });
      db.createObjectStore("catalog", { keyPath: "key" });
      db.createObjectStore("meta", { keyPath: "key" });
      db.createObjectStore("dead_letter", { keyPath: "pk", autoIncrement: true });""",
    2: """const older = open.transaction.objectStore("documents");
      older.createIndex("kind", "document.kind");
      older.createIndex("original_id", "document.original_id");""",
    3: """db.createObjectStore("fiscal", { keyPath: "id" });""",
    4: """db.createObjectStore("customers", { keyPath: "customer_id" });
      open.transaction.objectStore("documents").createIndex("customer_id", "document.customer_id");""",
    5: """open.transaction.objectStore("documents").createIndex("state_seq", ["state", "seq"]);""",
    # Not a version any till has made yet: a newer till's, for the test of a box rolled back.
    6: """db.createObjectStore("from_a_newer_till", { keyPath: "id" });""",
}


def old_sale(seq: int, number: int | None = None) -> dict:
    """A sale as an older till kept it (no lines: the upgrade tests look at where it is kept, not at it);
    its id ends in `number` (seq by default)."""
    return {"id": f"0b6f0000-0000-4000-8000-{number if number is not None else seq:012d}", "kind": "sale",
            "device_code": "T1", "seq": seq, "created_at": "2026-11-20T10:00:00+05:00", "lines": [],
            "payments": [], "total": 0, "tax": 0, "change": 0}


def journal_row(sale: dict, state: str) -> dict:
    """The journal's row of a document: what make_journal puts in."""
    return {"id": sale["id"], "seq": sale["seq"], "state": state, "document": sale, "completed_at": 1}


def make_journal(version: int) -> str:
    """JavaScript `(row) => Promise`: the journal database as version `version` of the till made it,
    holding the one document row `row` (and its seq as the tablet's last)."""
    steps = "\n      ".join(_STEPS[v] for v in range(1, version + 1))
    return f"""(row) => new Promise((resolve, reject) => {{
    const open = indexedDB.open("posline", {version});
    open.onupgradeneeded = () => {{
      const db = open.result;
      {steps}
    }};
    open.onsuccess = () => {{
      const tx = open.result.transaction(["documents", "meta"], "readwrite");
      tx.objectStore("documents").put(row);
      tx.objectStore("meta").put({{ key: "seq", value: row.seq }});
      tx.oncomplete = () => {{ open.result.close(); resolve(true); }};
      tx.onerror = () => reject(tx.error);
    }};
    open.onerror = () => reject(open.error);
}})"""


# JavaScript `() => Promise`: the journal as the till left it: its version, stores, the documents'
# indexes, and the sales found by the "kind" index.
READ_JOURNAL = """() => new Promise((resolve, reject) => {
    const open = indexedDB.open("posline");
    open.onsuccess = () => {
      const db = open.result;
      const store = db.transaction("documents").objectStore("documents");
      const byKind = store.index("kind").getAll("sale");
      byKind.onsuccess = () => {
        resolve({ version: db.version, stores: [...db.objectStoreNames].sort(), indexes: [...store.indexNames].sort(),
                  sales: byKind.result });
        db.close();
      };
      byKind.onerror = () => reject(byKind.error);
    };
    open.onerror = () => reject(open.error);
})"""
