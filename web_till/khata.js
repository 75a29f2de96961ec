// Customers and khata (udhaar, issue 10): the documents (cloud_api/contract.py Customer, KhataPayment,
// KhataAdjustment), the balances this tablet knows, the credit check of an on-account sale, and the
// owner's approval through the box. A balance is never stored: it is the box's (cached from
// GET /api/v1/customers) plus this tablet's own khata documents that cached answer does not count.
import { ApiError, NoAnswer, Unreachable, call, sayWhy } from "./api.js";
import { ctx } from "./context.js";
import { isoWithOffset } from "./document.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { formatRs, westernDigits } from "./money.js";
import { documentTime } from "./receipt.js";
import { state, update } from "./store.js";

export const PHONE = /^\+?[0-9][0-9 -]{6,18}[0-9]$/;       // cloud_api/contract.py PHONE
export const CNIC = /^[0-9]{5}-?[0-9]{7}-?[0-9]$/;          // cloud_api/contract.py CNIC
const BOX_WAIT_MS = 4000;   // the credit check asks the box this long, then goes by what the tablet knows
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What of these payments went on account (credit on a khata), in paisa: no money changes hands for it. */
export function onAccountPaid(payments) {
  return (payments || []).filter((p) => p.tender === "on_account").reduce((sum, p) => sum + p.amount, 0);
}

/** The contract's khata_entry_amounts: [customer_id, signed paisa] a document writes to a khata, or null. */
export function khataEntry(doc) {
  if (doc.kind === "sale" || doc.kind === "refund") {
    const owed = onAccountPaid(doc.payments);
    if (!owed || !doc.customer_id) return null;
    return [doc.customer_id, doc.kind === "sale" ? owed : -owed];
  }
  if (doc.kind === "khata_payment") return [doc.customer_id, -doc.amount];
  if (doc.kind === "khata_adjustment") return [doc.customer_id, doc.amount];
  return null;
}

/**
 * Whether a box answer that holds this tablet's documents up to `deviceSeq` (the box's "device_seq",
 * read with its balances) leaves this journal row out: a later seq is not in it. Refused (dead)
 * documents count nowhere. A box that does not say (`deviceSeq` null: an older box, or a cache
 * from before) holds at least every document it has acked: only pending ones are left out.
 */
export function notInCache(row, deviceSeq) {
  if (row.state === "dead") return false;
  if (Number.isInteger(deviceSeq)) return row.seq > deviceSeq;
  return row.state === "pending";
}

/** Digits of a phone number as typed: Urdu digits read, "+92 300" the same as "0300". */
export function phoneDigits(text) {
  const digits = westernDigits(text || "").replace(/\D/g, "");
  return digits.startsWith("92") ? `0${digits.slice(2)}` : digits;
}

/** Whether a customer matches what the cashier typed: part of the name (any script) or of the phone. */
export function matches(customer, query) {
  const q = westernDigits(query || "").trim().toLowerCase();
  if (!q) return true;
  if ((customer.name || "").toLowerCase().includes(q)) return true;
  const digits = phoneDigits(q);
  return /^[+\d\s-]+$/.test(q) && digits.length >= 3 && phoneDigits(customer.phone).includes(digits);
}

/**
 * Every customer this tablet knows, with `balance` (what it can tell: the box's cached balance plus its
 * own documents since), `own` (that part from this tablet) and `ownCredit` (its own on-account sales the
 * cache leaves out, for the offline allowance). Also when the box's list was asked (`askedAt`).
 */
export async function knownCustomers(journal = ctx.journal) {
  const [cached, rows, meta] = await Promise.all([journal.customers(), journal.customerDocuments(),
    journal.getMeta("customers")]);
  const askedAt = (meta && meta.asked_at) || null;
  // Never asked the box: nothing of this tablet's is in the (empty) cache.
  const deviceSeq = !meta ? 0 : Number.isInteger(meta.device_seq) ? meta.device_seq : null;
  const byId = new Map(cached.map((c) => [c.customer_id, { ...c, boxBalance: c.balance || 0, own: 0, ownCredit: 0 }]));
  for (const row of rows) {
    const doc = row.document;
    const fresh = notInCache(row, deviceSeq);
    if (doc.kind === "customer") {
      const known = byId.get(doc.customer_id);
      if (known && !fresh) continue;
      const { name, phone = null, cnic = null, ntn = null, credit_limit: creditLimit } = doc;
      byId.set(doc.customer_id, { boxBalance: 0, own: 0, ownCredit: 0, ...known, customer_id: doc.customer_id, name,
                                  phone, cnic, ntn, credit_limit: creditLimit, updated_at: doc.created_at });
      continue;
    }
    const entry = row.state !== "dead" && fresh ? khataEntry(doc) : null;
    const customer = entry && byId.get(entry[0]);
    if (!customer) continue;
    customer.own += entry[1];
    if (doc.kind === "sale") customer.ownCredit += entry[1];
  }
  const customers = [...byId.values()].map((c) => ({ ...c, balance: c.boxBalance + c.own }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { customers, askedAt, snapshotAt: (meta && meta.snapshot_at) || null };
}

/** The store's customers again (after a pull or a khata document): screens and receipts read them. */
export async function refreshCustomers() {
  if (!ctx.journal) return;
  const known = await knownCustomers();
  update({ customers: known.customers, customersAskedAt: known.askedAt });
}

/** The customer `id` as this tablet knows them, or undefined. */
export function customerById(id, s = state) {
  return (s.customers || []).find((c) => c.customer_id === id);
}

let customersEtag = null;

/** GET /api/v1/customers into the cache, with when it was asked and the highest seq of this tablet's
 *  documents the box's answer counts (device_seq); an older box (404) has none: kept as is. */
export async function pullCustomers(journal, token) {
  const askedAt = Date.now();   // every document the box acked before this is in its answer
  let answer;
  try {
    answer = await call("customers", { token, etag: customersEtag });
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) return;   // a help to the cashier, never "offline"
    throw err;
  }
  const meta = (await journal.getMeta("customers")) || {};
  if (answer.status === 304) {
    // The same answer as before, device_seq included (it is in the answer the ETag stands for).
    await journal.setMeta("customers", { ...meta, asked_at: askedAt });
  } else {
    customersEtag = answer.etag;
    const list = (answer.json && Array.isArray(answer.json.customers)) ? answer.json.customers : [];
    await journal.putCustomers(list.filter((c) => c && typeof c.customer_id === "string"),
      { asked_at: askedAt, snapshot_at: (answer.json && answer.json.snapshot_at) || null,
        device_seq: answer.json && Number.isInteger(answer.json.device_seq) ? answer.json.device_seq : null });
  }
  await refreshCustomers();
}

// --- documents -------------------------------------------------------------------------------

function header(kind, id) {
  const offset = state.clockOffsetMs;
  return { id, kind, device_id: state.identity.device_id, device_code: state.identity.device_code,
           created_at: isoWithOffset(new Date()), cashier_id: state.cashier.cashier_id,
           clock_offset_ms: offset === undefined || offset === null ? null : offset + 0 };
}

/** A new customer (customer_id = the document's id), or changed details of one (`customerId`). */
export function customerDocument({ id, customerId, name, phone, cnic, creditLimit }) {
  const doc = { ...header("customer", id), customer_id: customerId || id, name, credit_limit: creditLimit };
  if (phone) doc.phone = phone;
  if (cnic) doc.cnic = cnic;
  return doc;
}

/** Money received against a khata: one payment (cash, card or wallet); amount = the payment, no change. */
export function khataPaymentDocument({ id, customerId, payment, note, shiftId }) {
  const doc = { ...header("khata_payment", id), customer_id: customerId, payments: [payment], amount: payment.amount };
  if (note) doc.note = note;
  if (shiftId) doc.shift_id = shiftId;
  return doc;
}

/** The owner's correction of a khata: + owes more, - owes less, with the box's approval id. */
export function khataAdjustmentDocument({ id, customerId, amount, reason, approvalId }) {
  const doc = { ...header("khata_adjustment", id), customer_id: customerId, amount, reason };
  if (approvalId) doc.approval_id = approvalId;
  return doc;
}

/** Complete a khata document in the journal, count it, send it. Once it is in the journal it is done:
 *  should the count or the customers' refresh fail after, that is logged, never said as "NOT saved"
 *  (the cashier would take the money again, and the khata would have it twice). */
export async function record(doc) {
  const completed = await ctx.journal.complete(doc);
  try {
    update({ unsynced: await ctx.journal.countUnsynced() });
    await refreshCustomers();
  } catch (err) {
    console.error("after a khata document was saved", err);
  }
  if (ctx.sync) ctx.sync.now();
  return completed;
}

// --- the box ---------------------------------------------------------------------------------

/** "as of 28/11/2026 16:05": when this tablet last heard the box's balances, or null if never. */
export function asOfWords(askedAt) {
  return askedAt ? t("Balance as of {when} from the shop box, with this tablet's own entries since.",
    { when: documentTime(isoWithOffset(new Date(askedAt))) })
    : t("This tablet has not had balances from the shop box yet: only its own entries are counted.");
}

/** This tablet's own documents for a customer that the box has not yet got. */
async function ownPending(customerId) {
  return (await ctx.journal.ofCustomer(customerId)).filter((row) => row.state === "pending");
}

/** Push this tablet's documents of this customer first (a customer made here, a payment just taken):
 *  waited for at most BOX_WAIT_MS. */
async function pushFirst(customerId) {
  if ((await ownPending(customerId)).length && ctx.sync) await Promise.race([ctx.sync.now(), sleep(BOX_WAIT_MS)]);
}

/** This tablet's own khata documents of a customer that a box answer with `deviceSeq` leaves out. */
async function ownSince(customerId, deviceSeq) {
  return (await ctx.journal.ofCustomer(customerId)).filter((row) => notInCache(row, deviceSeq))
    .map((row) => ({ doc: row.document, pending: row.state === "pending" }));
}

/**
 * The box's view of one customer: { customer, entries } with this tablet's own documents the box's
 * answer does not count (seq > its device_seq) added to the balance (and listed), or null when the
 * box cannot be asked (cut off, an old box). A customer the box does not know yet: pushed first.
 */
export async function fromBox(customerId) {
  if (state.link === "offline" || !state.identity) return null;
  await pushFirst(customerId);
  let answer;
  try {
    answer = await call(`customers/${encodeURIComponent(customerId)}`, { token: state.identity.token, timeoutMs: BOX_WAIT_MS });
  } catch (err) {
    if (err instanceof Unreachable || err instanceof ApiError) return null;
    throw err;
  }
  const { customer, entries = [], device_seq: deviceSeq = null } = answer.json || {};
  if (!customer) return null;
  const mine = (await ownSince(customerId, Number.isInteger(deviceSeq) ? deviceSeq : null))
    .filter(({ doc }) => khataEntry(doc));
  const extra = mine.reduce((sum, { doc }) => sum + khataEntry(doc)[1], 0);
  const own = mine.map(({ doc, pending }) => ownEntry(doc, pending));
  const listed = new Set(entries.map((e) => e.document_id));
  return { customer: { ...customer, balance: customer.balance + extra },
           entries: [...own.filter((e) => !listed.has(e.document_id)).reverse(), ...entries] };
}

/** A khata entry as the khata screen lists it, from one of this tablet's documents. */
export function ownEntry(doc, pending, inCloud = false) {
  const entry = khataEntry(doc);
  return { document_id: doc.id, kind: doc.kind, amount: entry ? entry[1] : 0, at: doc.created_at,
           receipt_number: doc.seq ? `${doc.device_code}-${String(doc.seq).padStart(6, "0")}` : null,
           note: doc.note || doc.reason || null, pending, in_cloud: inCloud };
}

/**
 * May `amount` more go on this customer's khata? (approval protocol version 2, /tmp plan "Fix wave")
 * - the box answers: it approves by itself within the limit -> { ok, approvalId, balanceAfter };
 *   past the limit -> { approve: {balance, limit, name} } (the owner's PIN, ownerApprovalDialog);
 *   any other answer (a 401, 404, 500, 503, no answer in time) -> { refused: words }: a box that is
 *   there but says no is never "cut off".
 * - cut off from the box (api.js Unreachable): what this tablet knows, within the offline allowance
 *   -> { ok, approvalId: null, balanceAfter, asOf } or { refused: words }.
 */
export async function creditCheck(customerId, amount) {
  if (state.link !== "offline" && state.identity) {
    await pushFirst(customerId);
    const asked = await requestApproval(customerId, amount, "credit", null);
    if (asked.approvalId) {
      const { balance } = asked;
      return { ok: true, approvalId: asked.approvalId, balanceAfter: Number.isInteger(balance) ? balance + amount : null };
    }
    if (asked.ownerNeeded) {
      const known = customerById(customerId) || (await knownCustomers()).customers.find((c) => c.customer_id === customerId) || {};
      return { approve: { balance: asked.ownerNeeded.balance ?? known.balance ?? 0,
                          limit: asked.ownerNeeded.credit_limit ?? known.credit_limit ?? 0, name: known.name || "" } };
    }
    if (!asked.cutOff) return { refused: asked.problem };
  }
  return offlineCheck(customerId, amount);
}

/** The credit check cut off from the box: the cached balance plus this tablet's own entries since, the
 *  limit (the owner's approval needs the box), and the offline allowance. */
export async function offlineCheck(customerId, amount) {
  const local = (await knownCustomers()).customers.find((c) => c.customer_id === customerId);
  if (!local) return { refused: t("This tablet does not know that customer. Choose them again from Customers.") };
  const settings = (state.catalog && state.catalog.settings) || {};
  const allowance = settings.offline_credit_allowance ?? 200000;
  const asOf = asOfWords(state.customersAskedAt);
  if (local.balance + amount > local.credit_limit) {
    return { refused: t("This takes {name} past their credit limit of {limit} (balance {balance}). The owner's approval needs the shop box, which cannot be reached. {asOf}",
      { name: local.name, limit: formatRs(local.credit_limit), balance: formatRs(local.balance), asOf }) };
  }
  // This tablet's own credit to them that the box's answer does not count, plus this sale.
  if (local.ownCredit + amount > allowance) {
    return { refused: t("Cut off from the shop box, this tablet may put at most {allowance} on one customer's khata; {name} already has {own} from this tablet.",
      { allowance: formatRs(allowance), name: local.name, own: formatRs(Math.max(local.ownCredit, 0)) }) };
  }
  return { ok: true, approvalId: null, balanceAfter: local.balance + amount, asOf };
}

/**
 * POST /api/v1/khata/approvals (with the owner's `pin`, or null: the box approves credit within the
 * limit by itself). { approvalId, balance } | { ownerNeeded: {balance, credit_limit} } | { cutOff, problem }
 * (Unreachable) | { problem: words }.
 */
export async function requestApproval(customerId, amount, purpose, pin) {
  const body = { customer_id: customerId, amount, purpose };
  const typed = pin === null || pin === undefined ? "" : westernDigits(pin).trim();
  if (typed) body.pin = typed;
  try {
    const answer = await call("khata/approvals", { method: "POST", token: state.identity.token, body });
    const json = answer.json || {};
    if (typeof json.approval_id !== "string") return { problem: t("The shop box did not accept this request. Try again, or tell the owner.") };
    return { approvalId: json.approval_id, balance: json.balance };
  } catch (err) {
    if (err instanceof NoAnswer) {
      return { problem: t("The shop box did not answer in time. Try again; if it keeps happening, tell the owner.") };
    }
    if (err instanceof Unreachable) {
      return { cutOff: true, problem: t("The owner's approval needs the shop box, which cannot be reached.") };
    }
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) return { problem: t(sayWhy(err)) };   // revoked: never "wrong PIN"
    if (err.status === 403 && err.code === "owner_approval_needed") {
      return { ownerNeeded: { balance: err.body && err.body.balance, credit_limit: err.body && err.body.credit_limit },
               problem: t("The owner's approval is needed.") };
    }
    if (err.status === 403 && typed) return { problem: t("That is not the owner's PIN.") };
    if (err.status === 429) return { problem: t("Too many wrong PINs. Try again in {n} seconds.", { n: err.retryAfterS || 60 }) };
    if (err.status === 409) return { problem: t("The shop box has no owner PIN yet. The installer sets one with posline-gateway admin-pin.") };
    return { problem: boxSays(err) };
  }
}

/** A box's refusal in words: its own message, after what kind of refusal it was. */
function boxSays(err) {
  const why = err.status >= 500 ? t("The shop box had a problem and could not check the khata.")
    : t("The shop box refused this khata request.");
  return err.message ? `${why} (${err.message})` : why;
}

/** The owner's approval from the box with their PIN: { approvalId } or { problem: words }. */
export async function askApproval(customerId, amount, purpose, pin) {
  const answer = await requestApproval(customerId, amount, purpose, pin);
  if (answer.approvalId) return { approvalId: answer.approvalId };
  if (answer.ownerNeeded) return { problem: t("Type the owner's PIN.") };
  return { problem: answer.problem };
}

/**
 * The owner's approval dialog: the owner types their PIN on this tablet; resolves the approval id, or
 * null when the cashier cancels. `words` says what is approved.
 */
export function ownerApprovalDialog({ words, customerId, amount, purpose }) {
  return new Promise((resolve) => {
    const pin = h("input", { id: "owner-pin", class: "masked", inputmode: "numeric", autocomplete: "off", maxlength: "12" });
    const alert = h("p", { role: "alert", class: "notice" });
    const approve = h("button", { type: "submit", class: "primary big" }, t("Approve"));
    const form = h("form", { class: "card narrow", role: "alertdialog", "aria-modal": "true",
      "aria-labelledby": "approval-title", "aria-describedby": "approval-words", onsubmit: async (event) => {
        event.preventDefault();
        approve.disabled = true;
        const answer = await askApproval(customerId, amount, purpose, pin.value);
        approve.disabled = false;
        if (answer.approvalId) done(answer.approvalId);
        else { alert.textContent = answer.problem; pin.value = ""; pin.focus(); }
      } },
    h("h2", { id: "approval-title" }, t("Owner approval")), h("p", { id: "approval-words" }, words),
    h("label", { for: "owner-pin" }, t("Owner PIN")), pin, approve, alert,
    h("button", { type: "button", class: "link", onclick: () => done(null) }, t("Cancel")));
    const dialog = h("div", { class: "overlay" }, form);
    document.body.append(dialog);
    pin.focus();
    function done(value) {
      dialog.remove();
      resolve(value);
    }
  });
}
