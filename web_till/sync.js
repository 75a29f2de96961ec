// The sync loop: push pending documents in seq order, learn what the cloud holds, pull the
// catalog. "Online" is decided from these real requests, never from navigator.onLine.
import { ApiError, Unreachable, call, clockOffset, sayWhy } from "./api.js";
import { withHash } from "./canonical.js";
import { authority } from "./fiscal.js";
import { pullCustomers } from "./khata.js";
import { keepCart } from "./parked.js";
import { keepPrinter, pullPrinter } from "./printing.js";
import { state, update } from "./store.js";

const BUSY_MS = 1500;      // documents still on their way
const IDLE_MS = 5000;
const MAX_BACKOFF_MS = 10000;
const REMOVED_NOTICE = "This tablet was removed from the shop box. Ask the owner for a new pairing code.";
const DISABLED_NOTICE = "The owner has disabled this cashier. Sign in as another cashier.";

export function startSync(journal) {
  let timer = null;
  let running = false;
  let again = false;
  let failures = 0;
  let waiting = [];    // now()'s callers, answered when the next cycle to start has finished
  let answering = [];

  async function cycle() {
    if (running) { again = true; return; }
    running = true;
    answering = waiting;
    waiting = [];
    try {
      const token = state.identity && state.identity.token;
      let catalogChanged = false;
      // Cut off from the box: one cheap request says whether it is back before the pending documents
      // are read and hashed for a push that cannot leave (it throws Unreachable while still cut off).
      if (token && state.link === "offline") await call("status", { token });
      if (token) {
        await push(journal, token);
        // Documents a replaced box does not hold go back to pending: sent again at once, before the
        // stock is asked for, or the box's device_seq would be above documents it does not count (of
        // those this cycle asked about: learnAcks asks about the lowest page of those held at the
        // box and one page of the rest a cycle, every one of them in turn).
        if (await learnAcks(journal, token)) await push(journal, token);
        catalogChanged = await pullCatalog(journal, token);
        await signOutDisabledCashier();
        await pullStock(journal, token);
        await pullCustomers(journal, token);
        await pullFiscal(journal, token);
      }
      const status = await call("status", { token });   // an unpaired till still learns its link
      failures = 0;
      update({ link: status.json.wan === "online" ? "online" : "cloud_offline" });
      // The box names this tablet's printer in its status (null: none); a box from before that does
      // not, and is asked apart (printerDue).
      if (token && "printer" in status.json) await keepPrinter(journal, status.json.printer);
      else if (token && printerDue(catalogChanged)) await pullPrinter(journal, token);
    } catch (err) {
      failures += 1;
      if (err instanceof ApiError && err.status === 401) {
        // The box refuses this tablet's token (the owner revoked it, or this is a new box): forget
        // the token, keep the device's identity and every document, and ask for a new code.
        await forgetToken(journal);
        update({ link: "offline", notice: REMOVED_NOTICE, identity: null, cashier: null, cart: null,
                 screen: "pairing" });
      } else if (err instanceof Unreachable) {
        update({ link: "offline" });
      } else if (err instanceof ApiError && (err.code === "storage_full" || err.status === 507)) {
        // The box is up but cannot keep more: say that, not "Offline". Sales stay pending here.
        update({ link: "box_full" });
      } else {
        console.error("sync failed", err);
        update({ link: "offline", notice: sayWhy(err) });
      }
    } finally {
      running = false;
      try {
        update({ unsynced: await journal.countUnsynced(), soldHere: await countSoldHere(journal) });
      } finally {
        schedule(again || waiting.length ? 0 : nextDelay());
        again = false;
        for (const resolve of answering) resolve({ link: state.link, unsynced: state.unsynced });
        answering = [];
      }
    }
  }

  function nextDelay() {
    if (failures > 0) {
      const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
      return ceiling / 2 + Math.random() * ceiling / 2;   // jitter: tablets do not retry in lockstep
    }
    return state.unsynced > 0 ? BUSY_MS : IDLE_MS;
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(cycle, ms);
  }

  // The browser's online event is only a hint to try now; the requests decide.
  window.addEventListener("online", () => schedule(0));
  schedule(0);
  return {
    /** Sync at once; settles ({ link, unsynced }) when the next full cycle has finished, never rejects. */
    now() {
      failures = 0;
      const done = new Promise((resolve) => waiting.push(resolve));
      if (!running) schedule(0);
      else again = true;
      return done;
    },
  };
}

// The shelf effect of each document counted here, by id, with the device that made it: documents never
// change, so each is read once, not on every count (after every sale and every sync cycle).
const shelfEffects = new Map();

/**
 * The stock this tablet holds: the box's last answer (meta "stock_held": its stock and device_seq, kept
 * together so a reload counts exactly as before it), or a stock an older till kept (meta "stock") with
 * no device_seq. { stock: per SKU or null, deviceSeq: an integer or null }.
 */
export function heldStock(meta) {
  const held = meta.stock_held;
  if (held && held.stock) {
    return { stock: held.stock, deviceSeq: Number.isInteger(held.device_seq) ? held.device_seq : null,
             madeBefore: Number.isInteger(held.made_before) ? held.made_before : null };
  }
  return { stock: meta.stock || null, deviceSeq: null, madeBefore: null };
}

/** pendingSold for the stock held now (state.stockSeq), made again if another stock answer arrived
 *  meanwhile: the soldHere to show with state.stock. It depends on that answer's device_seq only, so a
 *  new stock with the same device_seq leaves it right. Callers pass it to update() straight after. */
export async function countSoldHere(journal) {
  for (;;) {
    const { stockSeq: seq, stockMadeBefore: madeBefore } = state;
    const sold = await pendingSold(journal, seq, state.identity && state.identity.device_id, madeBefore);
    if (state.stockSeq === seq && state.stockMadeBefore === madeBefore) return sold;
  }
}

/**
 * What this tablet sold (less what it took back) that a stock answer does not count, per SKU: the box's
 * stock less this is what is on the shelf.
 *
 * The box's answer counts every document of this tablet it holds up to its device_seq, and a tablet
 * pushes in seq order: so its own documents above that seq, less the refused, are what it leaves out,
 * whether they are still pending here or reached the box after it answered. Exact after a reload and
 * offline too. device_seq 0 (the box held none of them): every document made after the stock was asked
 * for (`madeBefore`, the last seq given out then), and of those made before, the ones not yet in the
 * cloud (a replaced box's stock comes from the cloud's, which counts those that are). No device_seq
 * (`deviceSeq` null: an older box, or a stock kept by an older till): only the pending documents.
 */
export async function pendingSold(journal, deviceSeq, deviceId, madeBefore = null) {
  const counting = Number.isInteger(deviceSeq) && deviceId;
  // This count's own copy of what is known: a count running beside it (another stock's, another range)
  // may drop entries from the shared map while this one awaits the journal.
  const known = new Map(shelfEffects);
  let ids;
  let rows;
  if (!counting) ({ ids, rows } = await journal.idsInState("pending", known));
  else if (deviceSeq > 0) ({ ids, rows } = await journal.idsAboveSeq(deviceSeq, known));
  else {
    // Without made_before (not kept with this stock), only the documents not yet in the cloud.
    const [made, held] = await Promise.all([
      Number.isInteger(madeBefore) ? journal.idsAboveSeq(madeBefore, known) : { ids: [], rows: [] },
      journal.idsInStates(["pending", "at_gateway"], known)]);
    ids = [...new Set([...made.ids, ...held.ids])];
    rows = [...made.rows, ...held.rows];
  }
  for (const row of rows) {
    if (!row) continue;
    // Sold here: off the shelf; returned here: back on it (negative).
    const sign = { sale: 1, refund: -1 }[row.document.kind];
    const effect = [];
    if (sign) for (const line of row.document.lines) effect.push([line.sku, sign * line.qty]);
    known.set(row.id, { device: row.document.device_id, effect });
  }
  const counted = new Set(ids);
  // The shared map keeps what this count read, and only that: it never grows past one count's documents.
  shelfEffects.clear();
  for (const id of counted) if (known.has(id)) shelfEffects.set(id, known.get(id));
  const sold = {};
  for (const id of counted) {
    const held = known.get(id);
    // Above the seq, only this device's own documents: one kept from an identity before a new pairing
    // was never this device's to count.
    if (!held || (counting && held.device !== deviceId)) continue;
    for (const [sku, qty] of held.effect) sold[sku] = (sold[sku] || 0) + qty;
  }
  return sold;
}

/** Set the token aside; keep device_id, device_code and the old token (as previous_identity) so pairing
 *  again keeps the numbering: the box gives an identity back only to whoever proves it with that token. */
async function forgetToken(journal) {
  const { device_id: deviceId, device_code: deviceCode, name, token } = state.identity || {};
  if (deviceId) await journal.setMeta("previous_identity", { device_id: deviceId, device_code: deviceCode, name, token });
  await journal.setMeta("identity", null);
  sessionStorage.removeItem("posline-cashier");
}

// The hashed documents of the push under way, by id: a batch the box did not take (cut off, refused
// whole) is sent again as it was, not hashed again. Only the batch being sent is kept: an answer from
// the box drops its documents, and each push drops any other (a document that left the pending state
// some other way, a batch that shrank), so the map never holds more than one batch.
const hashed = new Map();

async function push(journal, token) {
  for (;;) {
    const pending = await journal.byState("pending", 200);
    const sending = new Set(pending.map((row) => row.id));
    for (const id of hashed.keys()) if (!sending.has(id)) hashed.delete(id);
    if (pending.length === 0) return;
    const documents = await Promise.all(pending.map(async (row) => {
      if (!hashed.has(row.id)) hashed.set(row.id, await withHash(row.document));
      return hashed.get(row.id);
    }));
    const answer = await call("journal:batch", { method: "POST", token, body: { documents } });
    if (answer.json.results.length !== pending.length) {
      // Never guess which result is whose: keep them all pending and try again later.
      throw new Error(`gateway answered ${answer.json.results.length} results for ${pending.length} documents`);
    }
    update({ clockOffsetMs: clockOffset(answer.json.server_time, answer.rtt) });
    await journal.setMeta("clock_offset_ms", state.clockOffsetMs);
    const delivered = [];
    const dead = [];
    const reasons = {};
    for (const row of pending) hashed.delete(row.id);
    answer.json.results.forEach((result, i) => {
      const id = pending[i].id;
      if (result.status === "stored" || result.status === "duplicate") delivered.push(id);
      else { dead.push(id); reasons[id] = `${result.status}: ${result.reason || ""}`; }
    });
    await journal.setState(delivered, "at_gateway");
    await journal.setState(dead, "dead", reasons);
  }
}

// The box answers about at most ACKS_PAGE documents a request (gateway/till_api.py AcksRequest). Each
// cycle asks about the lowest page of the documents held at the box (the first to reach the cloud)
// and, when more are held, one page of the rest in turn, round again after the last: every held
// document is asked about within ceil(held / ACKS_PAGE) cycles, however many of them a replaced box
// lost. (The lowest page alone left a document beyond it unasked until every one before it was in
// the cloud.)
export const ACKS_PAGE = 1000;
let acksAfterSeq = 0;

/** Learn what became of the documents held at the box (a page or two); true if the box lost any (now pending). */
export async function learnAcks(journal, token) {
  // Ids only, a page at a time (journal.idsByState): never every held document, however many a long
  // cut left at the box.
  const lowest = await journal.idsByState("at_gateway", -Infinity, ACKS_PAGE);   // in seq order
  let more = { ids: [] };
  if (lowest.ids.length === ACKS_PAGE) {   // more are held: one page of the rest, past the last one asked
    const after = Math.max(acksAfterSeq, lowest.lastSeq);
    more = await journal.idsByState("at_gateway", after, ACKS_PAGE);
    if (more.ids.length === 0 && after > lowest.lastSeq) {   // past the last page: round again
      more = await journal.idsByState("at_gateway", lowest.lastSeq, ACKS_PAGE);
    }
  }
  let lost = false;
  for (const ids of [lowest.ids, more.ids]) {
    if (ids.length > 0) lost = (await askAbout(journal, token, ids)) || lost;
  }
  acksAfterSeq = more.ids.length === ACKS_PAGE ? more.lastSeq : 0;   // once asked: a failed cycle asks again
  return lost;
}

async function askAbout(journal, token, ids) {
  const answer = await call("journal:acks", { method: "POST", token, body: { ids } });
  const { in_cloud: inCloud, rejected, unknown } = answer.json;
  await journal.setState(inCloud, "in_cloud");
  const reasons = Object.fromEntries(rejected.map((r) => [r.id, r.reason]));
  await journal.setState(rejected.map((r) => r.id), "dead", reasons);
  // The gateway does not hold these (a replaced box): send them again.
  await journal.setState(unknown, "pending");
  return unknown.length > 0;
}

// The stored catalog's ETag, read from the journal once (the catalog itself is not read every cycle).
let catalogEtag;

async function pullCatalog(journal, token) {
  if (catalogEtag === undefined) {
    const stored = await journal.getCatalog();
    catalogEtag = stored ? stored.etag : null;
  }
  let answer;
  try {
    answer = await call("catalog", { token, etag: catalogEtag });
  } catch (err) {
    if (err instanceof ApiError && err.code === "not_provisioned") return;   // not yet from the cloud
    throw err;
  }
  if (answer.status === 304) return false;
  await journal.putCatalog(answer.etag, answer.json);
  catalogEtag = answer.etag;
  update({ catalog: answer.json });
  return true;
}

// A box whose status does not name the tablet's printer (one from before it did): GET /api/v1/printer
// is asked when a cashier signs in, when the catalog changes, and otherwise at most every
// PRINTER_RECHECK_MS. Not every sync cycle: with no printer that box answers 404
// (gateway/print_api.py: no_printer), which the browser logs on every request.
export const PRINTER_RECHECK_MS = 20000;
let printerAsked = { at: 0, cashier: null };

function printerDue(catalogChanged) {
  const cashier = state.cashier ? state.cashier.cashier_id : null;
  const due = catalogChanged || cashier !== printerAsked.cashier || Date.now() - printerAsked.at >= PRINTER_RECHECK_MS;
  if (due) printerAsked = { at: Date.now(), cashier };
  return due;
}

/**
 * A cashier the owner disabled leaves the catalog: whoever is signed in as them is signed out, with
 * their open cart kept as a sign-out keeps it, and the PIN is refused from then on. Only from the
 * selling screen: a sale being paid for, or its receipt, is finished first (the next cycle acts).
 */
async function signOutDisabledCashier() {
  const me = state.cashier;
  if (!me || !state.catalog || state.screen !== "selling") return;
  if (state.catalog.cashiers.some((c) => c.cashier_id === me.cashier_id)) return;
  if (state.cart) await keepCart(me.cashier_id, state.cart);
  sessionStorage.removeItem("posline-cashier");
  update({ cashier: null, cart: null, screen: "signin", notice: DISABLED_NOTICE });
}

let stockEtag = null;

/** The box's on-hand per SKU (GET /api/v1/stock); an older box without it answers 404: no stock shown. */
async function pullStock(journal, token) {
  // The last seq given out before the box is asked: a document above it cannot be in the answer.
  const madeBefore = journal.lastSeq !== undefined ? journal.lastSeq : await journal.storedSeq();
  let answer;
  try {
    answer = await call("stock", { token, etag: stockEtag });
  } catch (err) {
    // Stock is a help to the cashier, never a reason to call the shop offline.
    if (err instanceof ApiError && err.status !== 401) return;
    throw err;
  }
  let { stock, stockSeq, stockMadeBefore } = state;
  if (answer.status !== 304) {
    stockEtag = answer.etag;
    stock = (answer.json && answer.json.stock) || {};
    stockSeq = answer.json && Number.isInteger(answer.json.device_seq) ? answer.json.device_seq : null;
    stockMadeBefore = madeBefore;
    // One record: a reload finds the stock with the very device_seq it counts up to.
    await journal.setMeta("stock_held", { stock, device_seq: stockSeq, made_before: madeBefore });
    await journal.setMeta("stock", stock);   // what a till before device_seq reads, should it come back
  }
  const soldHere = await pendingSold(journal, stockSeq, state.identity && state.identity.device_id, stockMadeBefore);
  // One update, with nothing between: a tile never shows a stock less another's count.
  update({ stock, stockSeq, stockMadeBefore, soldHere });
}

const FISCAL_PAGES = 20;   // a long outage's invoices come in several answers; the rest wait for the next cycle

/**
 * What the box has reported to FBR / PRA of this tablet's sales and returns (GET /api/v1/fiscal?since=):
 * kept in the journal's `fiscal` store for receipts, reprints and the sales list. Only when the shop
 * reports; never on the checkout's path (the loop runs after the receipt is shown).
 */
async function pullFiscal(journal, token) {
  if (!authority(state.catalog)) return;
  for (let page = 0; page < FISCAL_PAGES; page += 1) {
    const since = (await journal.getMeta("fiscal_cursor")) || 0;
    let answer;
    try {
      answer = await call(`fiscal?since=${since}`, { token });
    } catch (err) {
      // Like stock, a help to the cashier: an older box (404) or a hiccup never calls the shop offline.
      if (err instanceof ApiError && err.status !== 401) return;
      throw err;
    }
    const { cursor, receipts } = answer.json || {};
    if (!Number.isSafeInteger(cursor) || !Array.isArray(receipts)) return;
    // A box that counts from less than this tablet asked (a replaced box): ask it from the start.
    const next = cursor < since ? 0 : cursor;
    if (receipts.length === 0 && next === since) return;
    await journal.putFiscal(receipts.filter((r) => r && typeof r.id === "string"), next);
    update({ fiscalSeen: (state.fiscalSeen || 0) + 1 });   // receipts and the sales list read the store again
    if (receipts.length === 0 || next <= since) return;
  }
}
