// The tablet's IndexedDB: the journal of documents, the catalog, device identity, dead letters, and
// what the box reports of each sale's FBR / PRA invoice (`fiscal`, by document id).
// A document's life here: pending -> at_gateway -> in_cloud (or dead, kept in dead_letter).

import { canonicalJson } from "./canonical.js";

const DB_NAME = "posline";
export const JOURNAL_NAME = DB_NAME;
const DB_VERSION = 5;

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
  return openAt(DB_VERSION).catch((err) => {
    // A newer till made this journal (the box was rolled back a version): it is opened as it is, since a
    // version only ever adds stores and indexes. Refusing it left the tablet unable to sell, its sales
    // in a journal the served till could not open.
    if (err && err.name === "VersionError") return openAt(undefined);
    throw err;
  });
}

function openAt(version) {
  return new Promise((resolve, reject) => {
    const req = version === undefined ? indexedDB.open(DB_NAME) : indexedDB.open(DB_NAME, version);
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
        // falls through
        case 3: {
          // Khata (issue 10): the box's customers with balances, cached for search while cut off, and
          // this tablet's own khata documents found by customer (sales, refunds, payments, adjustments).
          db.createObjectStore("customers", { keyPath: "customer_id" });
          req.transaction.objectStore("documents").createIndex("customer_id", "document.customer_id");
        }
        // falls through
        case 4:
          // The documents in one state, in seq order: the sync cycle reads one page of them (byState,
          // idsByState) instead of every document in the state, sorted, every few seconds. After a long
          // cut a tablet holds thousands, and reading them all held its page for hundreds of ms.
          req.transaction.objectStore("documents").createIndex("state_seq", ["state", "seq"]);
      }
    };
    req.onsuccess = () => resolve(new Journal(req.result));
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the till's database is held open by an older tab"));
  });
}

/** The (state, seq) index's range of one state's documents with seq above `afterSeq`. */
function inState(state, afterSeq) {
  return IDBKeyRange.bound([state, afterSeq], [state, Infinity], true, false);
}

/**
 * The last seq given out, in a transaction over documents and meta: the highest in the seq index, or
 * meta "seq" if that is higher (a journal some till wrote otherwise). Both are written with each document.
 */
async function lastSeqIn(tx) {
  const [row, cursor] = await Promise.all([request(tx.objectStore("meta").get("seq")),
    request(tx.objectStore("documents").index("seq").openKeyCursor(null, "prev"))]);
  return Math.max(row ? row.value : 0, cursor ? cursor.key : 0);
}

/** Whether two completions are the same document (its time aside: a double tap reads the clock twice). */
function sameContent(a, b) {
  const body = ({ created_at: _at, seq: _seq, hash: _hash, ...rest }) => canonicalJson(rest);
  return body(a) === body(b);
}

export class Journal {
  constructor(db) {
    this.db = db;
    // No onversionchange close: the tab selling at the counter keeps its journal open when a newer till
    // in another tab asks to upgrade it (that tab waits, then says it could not open; the counter's
    // own reload upgrades it). Closing here left the counter unable to save a sale until reloaded.
  }

  async getMeta(key) {
    const row = await request(this.db.transaction("meta").objectStore("meta").get(key));
    return row ? row.value : undefined;
  }

  /** Several meta values (and the catalog) in one transaction, asked at once: start-up's reads. */
  async startupReads(keys) {
    const tx = this.db.transaction(["meta", "catalog"]);
    const meta = tx.objectStore("meta");
    const [catalog, ...rows] = await Promise.all([request(tx.objectStore("catalog").get("current")),
      ...keys.map((key) => request(meta.get(key)))]);
    return { catalog, meta: Object.fromEntries(keys.map((key, i) => [key, rows[i] ? rows[i].value : undefined])) };
  }

  async setMeta(key, value) {
    const tx = this.db.transaction("meta", "readwrite");
    tx.objectStore("meta").put({ key, value });
    await finished(tx);
  }

  /**
   * Complete a document: give it the next seq and store it, in one durable transaction.
   * Completing the same id twice (a double-tapped button) returns the first, with no new seq.
   *
   * The checkout waits on this, so the usual case is writes only, committed at once: the seq comes
   * from memory (this tab holds the device's lock, app.js holdTabLock; documents are never deleted),
   * and `add` is refused, the transaction undone, when the id or the seq (a unique index) is already
   * in the journal. Then the careful path below reads first and tells which it was.
   * `meanwhile`, when given, is called with the document as it is being stored, seq and all, while the
   * commit is on its way to disk (app.js draws its receipt off screen then); the document returned,
   * once durable, is the one to show (a double tap's careful path returns another object).
   */
  async complete(document, meanwhile = null) {
    if (this.lastSeq === undefined) this.lastSeq = await this.storedSeq();
    const seq = this.lastSeq + 1;
    const completed = { ...document, seq };
    const adding = this.addNext(completed);
    if (meanwhile) meanwhile(completed);
    if (await adding) {
      // Memory is a guess the unique seq index checks: a wrong one costs the careful path, never a seq.
      if (this.lastSeq !== undefined) this.lastSeq = Math.max(this.lastSeq, seq);
      return completed;
    }
    this.lastSeq = undefined;   // another completion came first (a double tap): read again next time
    return this.completeCarefully(document);
  }

  /** The last seq given out, as stored. */
  async storedSeq() {
    const tx = this.db.transaction(["documents", "meta"]);
    return lastSeqIn(tx);
  }

  /** Store `completed` (with the next seq) in one strict transaction; false, nothing written, if its id
   *  or its seq is already in the journal. */
  addNext(completed) {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(["documents", "meta"], "readwrite", { durability: "strict" });
      let refused = false;
      const added = tx.objectStore("documents").add({ id: completed.id, seq: completed.seq, state: "pending",
                                                      document: completed, completed_at: Date.now() });
      // Not handled: the error aborts the transaction, so the seq below is not written either.
      added.onerror = () => { refused = added.error && added.error.name === "ConstraintError"; };
      // The seq index is this till's record of seqs given out (lastSeqIn); meta "seq" is kept too, in
      // the same commit, because an older till (a box rolled back to its last version) reads only it:
      // without it that till would number from a stale seq and refuse every sale after.
      tx.objectStore("meta").put({ key: "seq", value: completed.seq });
      tx.oncomplete = () => resolve(true);
      tx.onabort = () => (refused ? resolve(false) : reject(tx.error || new Error("transaction aborted")));
      // Nothing more to ask: commit now, without waiting for the page to hear each request's answer.
      // `complete` still fires only once the strict commit is on disk.
      if (typeof tx.commit === "function") tx.commit();
    });
  }

  /** complete()'s careful path: read what is stored, then write, in one durable transaction. */
  async completeCarefully(document) {
    const tx = this.db.transaction(["documents", "meta"], "readwrite", { durability: "strict" });
    const documents = tx.objectStore("documents");
    const existing = await request(documents.get(document.id));
    if (existing) {
      await finished(tx);
      // The same document tapped twice is the first one; a different one under a used id is never
      // "done" (its customer would get the old receipt and nothing would be recorded).
      if (sameContent(existing.document, document)) return existing.document;
      throw new Error("this sale's id was already used by another document");
    }
    const seq = (await lastSeqIn(tx)) + 1;
    const completed = { ...document, seq };
    documents.put({ id: completed.id, seq, state: "pending", document: completed, completed_at: Date.now() });
    tx.objectStore("meta").put({ key: "seq", value: seq });   // for an older till, as in addNext
    await finished(tx);
    return completed;
  }

  /** The first `limit` documents in one state, in seq order. */
  async byState(state, limit = 500) {
    const index = this.db.transaction("documents").objectStore("documents").index("state_seq");
    return request(index.getAll(inState(state, -Infinity), limit === Infinity ? undefined : limit));
  }

  /** The ids of the first `limit` documents in one state whose seq is above `afterSeq`, in seq order, and
   *  the seq of the last of them (`afterSeq` if none): ids alone, not the documents. */
  async idsByState(state, afterSeq, limit) {
    const store = this.db.transaction("documents").objectStore("documents");
    const ids = await request(store.index("state_seq").getAllKeys(inState(state, afterSeq),
                                                                  limit === Infinity ? undefined : limit));
    const last = ids.length > 0 ? await request(store.get(ids[ids.length - 1])) : null;
    return { ids, lastSeq: last ? last.seq : afterSeq };
  }

  async countUnsynced() {
    const [pending, atGateway] = await this.countUnsyncedParts();
    return pending + atGateway;
  }

  /** [not yet at the box, at the box]: the two parts of countUnsynced, read in one transaction, so a
   *  document moving from one to the other meanwhile is counted once (unsynced.js says both). */
  async countUnsyncedParts() {
    const index = this.db.transaction("documents").objectStore("documents").index("state");
    return Promise.all([request(index.count("pending")), request(index.count("at_gateway"))]);
  }

  /** The ids of the documents in one state, and the rows of those of them not in `known` (ids: a Set or a Map's keys),
   *  in one transaction: a caller that keeps what it read before reads only what is new. */
  async idsInState(state, known) {
    return this.idsInStates([state], known);
  }

  /** idsInState for several states at once, in one transaction. */
  async idsInStates(states, known) {
    const tx = this.db.transaction("documents");
    const store = tx.objectStore("documents");
    const ids = (await Promise.all(states.map((state) => request(store.index("state").getAllKeys(state))))).flat();
    const rows = await Promise.all(ids.filter((id) => !known.has(id)).map((id) => request(store.get(id))));
    return { ids, rows };
  }

  /** The ids of the documents above `seq` that are not dead (refused), and the rows of those of them not
   *  in `known`, in one transaction (as idsInState). Few in the usual case: what the box's last stock
   *  answer had not yet got from this tablet. */
  async idsAboveSeq(seq, known) {
    const tx = this.db.transaction("documents");
    const store = tx.objectStore("documents");
    const [above, dead] = await Promise.all([
      request(store.index("seq").getAllKeys(IDBKeyRange.lowerBound(seq, true))),
      request(store.index("state").getAllKeys("dead"))]);
    const refused = new Set(dead);
    const ids = above.filter((id) => !refused.has(id));
    const rows = await Promise.all(ids.filter((id) => !known.has(id)).map((id) => request(store.get(id))));
    return { ids, rows };
  }

  /** Move documents to a new state; `reason` sends them to the dead letter store too. */
  async setState(ids, state, reasons = {}) {
    if (ids.length === 0) return;
    const tx = this.db.transaction(["documents", "dead_letter"], "readwrite", { durability: "strict" });
    const documents = tx.objectStore("documents");
    for (const id of ids) {
      const row = await request(documents.get(id));
      if (!row || row.state === state) continue;
      // (Rows from an earlier till may carry at_box_at: nothing reads it; khata balances go by the
      // box's device_seq, khata.js notInCache.)
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

  /** The box's customers (GET /api/v1/customers) in place of the cached ones, with when they were asked. */
  async putCustomers(customers, meta) {
    const tx = this.db.transaction(["customers", "meta"], "readwrite");
    const store = tx.objectStore("customers");
    store.clear();
    for (const customer of customers) store.put(customer);
    tx.objectStore("meta").put({ key: "customers", value: meta });
    await finished(tx);
  }

  async customers() {
    return request(this.db.transaction("customers").objectStore("customers").getAll());
  }

  /** This tablet's documents naming a customer, oldest first. */
  async ofCustomer(customerId) {
    const index = this.db.transaction("documents").objectStore("documents").index("customer_id");
    return (await request(index.getAll(customerId))).sort((a, b) => a.seq - b.seq);
  }

  /** Every document of this tablet that names a customer (khata and customer documents). */
  async customerDocuments() {
    const index = this.db.transaction("documents").objectStore("documents").index("customer_id");
    return (await request(index.getAll())).sort((a, b) => a.seq - b.seq);
  }

  async putCatalog(etag, catalog) {
    const tx = this.db.transaction("catalog", "readwrite");
    tx.objectStore("catalog").put({ key: "current", etag, catalog });
    await finished(tx);
  }

}
