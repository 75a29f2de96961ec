// The tablet's IndexedDB: the journal of documents, the catalog, device identity, dead letters, and
// what the box reports of each sale's FBR / PRA invoice (`fiscal`, by document id).
// A document's life here: pending -> at_gateway -> in_cloud (or dead, kept in dead_letter).

import { canonicalJson } from "./canonical.js";

const DB_NAME = "posline";
const DB_VERSION = 3;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

export function openJournal() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = (event) => {
      const db = req.result;
      // Fall through: a tablet several versions behind runs every step after its own.
      switch (event.oldVersion) {
        case 0: {
          const documents = db.createObjectStore("documents", { keyPath: "id" });
          documents.createIndex("state", "state");
          documents.createIndex("seq", "seq", { unique: true });
          db.createObjectStore("catalog", { keyPath: "key" });
          db.createObjectStore("meta", { keyPath: "key" });
          db.createObjectStore("dead_letter", { keyPath: "pk", autoIncrement: true });
        }
        // falls through
        case 1: {
          // The counter's day reads the journal by kind (sales list, shifts) and finds a sale's returns.
          const documents = req.transaction.objectStore("documents");
          documents.createIndex("kind", "document.kind");
          documents.createIndex("original_id", "document.original_id");
        }
        // falls through
        case 2:
          // FBR / PRA invoices (issue 9): { id (the document's), receipt_number, status, fbr_number, pos_id, qr }.
          db.createObjectStore("fiscal", { keyPath: "id" });
      }
    };
    req.onsuccess = () => resolve(new Journal(req.result));
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the till's database is held open by an older tab"));
  });
}

/** Whether two completions are the same document (its time aside: a double tap reads the clock twice). */
function sameContent(a, b) {
  const body = ({ created_at: _at, seq: _seq, hash: _hash, ...rest }) => canonicalJson(rest);
  return body(a) === body(b);
}

export class Journal {
  constructor(db) {
    this.db = db;
  }

  async getMeta(key) {
    const row = await request(this.db.transaction("meta").objectStore("meta").get(key));
    return row ? row.value : undefined;
  }

  async setMeta(key, value) {
    const tx = this.db.transaction("meta", "readwrite");
    tx.objectStore("meta").put({ key, value });
    await finished(tx);
  }

  /**
   * Complete a document: give it the next seq and store it, in one durable transaction.
   * Completing the same id twice (a double-tapped button) returns the first, with no new seq.
   */
  async complete(document) {
    const tx = this.db.transaction(["documents", "meta"], "readwrite", { durability: "strict" });
    const documents = tx.objectStore("documents");
    const meta = tx.objectStore("meta");
    const existing = await request(documents.get(document.id));
    if (existing) {
      await finished(tx);
      // The same document tapped twice is the first one; a different one under a used id is never
      // "done" (its customer would get the old receipt and nothing would be recorded).
      if (sameContent(existing.document, document)) return existing.document;
      throw new Error("this sale's id was already used by another document");
    }
    const last = await request(meta.get("seq"));
    const seq = (last ? last.value : 0) + 1;
    const completed = { ...document, seq };
    documents.put({ id: completed.id, seq, state: "pending", document: completed, completed_at: Date.now() });
    meta.put({ key: "seq", value: seq });
    await finished(tx);
    return completed;
  }

  async byState(state, limit = 500) {
    const index = this.db.transaction("documents").objectStore("documents").index("state");
    const rows = await request(index.getAll(state));
    return rows.sort((a, b) => a.seq - b.seq).slice(0, limit);
  }

  async countUnsynced() {
    const index = this.db.transaction("documents").objectStore("documents").index("state");
    const [pending, atGateway] = await Promise.all([
      request(index.count("pending")), request(index.count("at_gateway"))]);
    return pending + atGateway;
  }

  /** How many documents are in one state (e.g. "pending": not yet at the shop box). */
  async countState(state) {
    return request(this.db.transaction("documents").objectStore("documents").index("state").count(state));
  }

  /** Move documents to a new state; `reason` sends them to the dead letter store too. */
  async setState(ids, state, reasons = {}) {
    if (ids.length === 0) return;
    const tx = this.db.transaction(["documents", "dead_letter"], "readwrite", { durability: "strict" });
    const documents = tx.objectStore("documents");
    for (const id of ids) {
      const row = await request(documents.get(id));
      if (!row || row.state === state) continue;
      documents.put({ ...row, state, state_at: Date.now() });
      if (reasons[id]) {
        tx.objectStore("dead_letter").put({ document_id: id, document: row.document, reason: reasons[id],
                                            at: new Date().toISOString() });
      }
    }
    await finished(tx);
  }

  /** One document by id, with its state ({id, seq, state, document}), or undefined. */
  async get(id) {
    return request(this.db.transaction("documents").objectStore("documents").get(id));
  }

  /** This tablet's document with this seq (its receipt number), or undefined. */
  async bySeq(seq) {
    return request(this.db.transaction("documents").objectStore("documents").index("seq").get(seq));
  }

  /** Rows of these kinds, oldest first (by seq). */
  async byKinds(kinds) {
    const index = this.db.transaction("documents").objectStore("documents").index("kind");
    const found = await Promise.all(kinds.map((kind) => request(index.getAll(kind))));
    return found.flat().sort((a, b) => a.seq - b.seq);
  }

  /** The refunds this tablet made of one sale. */
  async refundsOf(originalId) {
    const index = this.db.transaction("documents").objectStore("documents").index("original_id");
    return (await request(index.getAll(originalId))).sort((a, b) => a.seq - b.seq);
  }

  async getCatalog() {
    return request(this.db.transaction("catalog").objectStore("catalog").get("current"));
  }

  /** What the box reported of these documents' invoices, and the cursor to ask from next, in one write. */
  async putFiscal(receipts, cursor) {
    const tx = this.db.transaction(["fiscal", "meta"], "readwrite");
    for (const receipt of receipts) tx.objectStore("fiscal").put(receipt);
    tx.objectStore("meta").put({ key: "fiscal_cursor", value: cursor });
    await finished(tx);
  }

  /** The invoices of these document ids: a Map of id -> record (absent: not yet heard of). */
  async fiscalOf(ids) {
    const store = this.db.transaction("fiscal").objectStore("fiscal");
    const rows = await Promise.all(ids.map((id) => request(store.get(id))));
    return new Map(rows.filter(Boolean).map((row) => [row.id, row]));
  }

  async putCatalog(etag, catalog) {
    const tx = this.db.transaction("catalog", "readwrite");
    tx.objectStore("catalog").put({ key: "current", etag, catalog });
    await finished(tx);
  }

}
