// Returns: goods brought back from an earlier sale, paid out in a chosen tender (a `refund`
// document, cloud_api/contract.py Refund). Never more than was sold: the box knows every tablet's
// returns; cut off from it, this tablet refunds only its own sales, from its own journal.
import { ApiError, Unreachable, call } from "./api.js";
import { ctx } from "./context.js";
import { USIN, isoWithOffset, receiptNumber, typedReceiptNumber } from "./document.js";
import { h, onSubmit } from "./dom.js";
import { currentLanguage, t } from "./i18n.js";
import { newId } from "./ids.js";
import { formatRs, ratio, westernDigits } from "./money.js";
import { onAccountPaid, refreshCustomers } from "./khata.js";
import { formatQty } from "./loose.js";
import { printOriginal } from "./printing.js";
import { quantityInput, readQuantity, setMax, setQuantity } from "./quantity.js";
import { lineName } from "./receipt.js";
import { offsetMs } from "./shift.js";
import { state, update } from "./store.js";
import { lineTax } from "./tax.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The contract's refund_line_amount: what returning `qty` of a line sold as `soldQty` for `soldAmount` pays
 *  back after `before` were returned. Cumulative, so a line's returns add up to exactly what was paid.
 *  round_half_up in BigInt: the product can pass 2**53. */
export function refundLineAmount(soldAmount, soldQty, qty, before = 0) {
  const paidFor = (n) => ratio(soldAmount, n, soldQty);
  return paidFor(before + qty) - paidFor(before);
}

/** How much of each line may still be returned, given what was already refunded (by line index). */
export function returnable(sale, refunded) {
  return sale.lines.map((line, i) => Math.max(0, line.qty - (refunded[i] || 0)));
}

/** Quantities refunded per line index, summed over refund documents. */
export function refundedBy(sale, refunds) {
  const out = sale.lines.map(() => 0);
  for (const refund of refunds) for (const line of refund.lines) out[line.line_index] += line.qty;
  return out;
}

/**
 * A refund document without seq and hash (the journal gives the seq). Pure. `quantities[i]` is the
 * quantity of sale line i returned; throws when nothing is returned or more than `refunded` allows.
 */
export function refundDocument({ id, sale, refunded, quantities, tender, reference, reason, identity, cashierId,
                                 now, clockOffsetMs, shiftId }) {
  const left = returnable(sale, refunded);
  const lines = [];
  sale.lines.forEach((line, i) => {
    const qty = quantities[i] || 0;
    if (!Number.isInteger(qty) || qty < 0) throw new Error(`line ${i}: not a quantity`);
    if (qty > left[i]) throw new Error(`line ${i}: only ${left[i]} may be returned`);
    if (qty === 0) return;
    const amount = refundLineAmount(line.amount, line.qty, qty, refunded[i] || 0);
    lines.push({ line_index: i, sku: line.sku, name: line.name, qty, unit: line.unit || "each",
                 unit_price: line.unit_price, gst_bp: line.gst_bp, amount, tax: lineTax(amount, line.gst_bp) });
  });
  if (lines.length === 0) throw new Error("nothing is returned");
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  if (total === 0) throw new Error("nothing to pay back");
  const payment = { tender, amount: total };
  if ((tender === "card" || tender === "wallet") && reference) payment.reference = reference;
  const doc = {
    id, kind: "refund", device_id: identity.device_id, device_code: identity.device_code,
    created_at: isoWithOffset(now), cashier_id: cashierId, clock_offset_ms: offsetMs(clockOffsetMs),
    original_id: sale.id, original_receipt: receiptNumber(sale.device_code, sale.seq),
    lines, payments: [payment], total, tax: lines.reduce((sum, line) => sum + line.tax, 0),
  };
  if (reason) doc.reason = reason;
  if (shiftId) doc.shift_id = shiftId;
  // Paid back on account: it comes off the khata of the customer the sale was written to.
  if (tender === "on_account") {
    if (!sale.customer_id) throw new Error("only a sale to a customer is paid back on account");
    doc.customer_id = sale.customer_id;
  }
  return doc;
}

/**
 * What may still be paid back of a sale, by kind: { onAccount, money } (paisa). On account: what the
 * sale put on account less earlier on-account refunds; money (cash, card, wallet): what was paid in
 * money (payments less change, on account aside) less earlier money refunds. `earlier` are refunds
 * of the sale: documents, or the box's summaries ({total}, no payments: counted against both, the
 * safe side). Pure.
 */
export function refundCaps(sale, earlier) {
  const money = (payments) => (payments || []).reduce((sum, p) => sum + p.amount, 0) - onAccountPaid(payments);
  let backOnAccount = 0;
  let backInMoney = 0;
  for (const refund of earlier) {
    if (Array.isArray(refund.payments)) {
      backOnAccount += onAccountPaid(refund.payments);
      backInMoney += money(refund.payments);
    } else {
      backOnAccount += refund.total || 0;
      backInMoney += refund.total || 0;
    }
  }
  const soldOnAccount = onAccountPaid(sale.payments);
  const paidInMoney = money(sale.payments) - (sale.change || 0);
  return { onAccount: Math.max(0, soldOnAccount - backOnAccount), money: Math.max(0, paidInMoney - backInMoney),
           soldOnAccount, paidInMoney, backOnAccount, backInMoney };
}

/** Why `amount` cannot be paid back in `tender`, in words, or "" when it can. */
export function capProblem(caps, tender, amount) {
  if (tender === "on_account" && amount > caps.onAccount) {
    return t("At most {amount} can go back on account: the sale put {sold} on account and {back} of it is already paid back on account.",
      { amount: formatRs(caps.onAccount), sold: formatRs(caps.soldOnAccount), back: formatRs(caps.backOnAccount) });
  }
  if (tender !== "on_account" && amount > caps.money) {
    return t("At most {amount} can be paid back in money: the customer paid {paid} in money for this sale and {back} is already paid back in money. Pay the rest back on account.",
      { amount: formatRs(caps.money), paid: formatRs(caps.paidInMoney), back: formatRs(caps.backInMoney) });
  }
  return "";
}

// --- finding the sale ------------------------------------------------------------------

/** This tablet's own document by receipt number or id, from its journal (a sale, or anything else
 *  its numbers are given to), or null. */
async function ownDocument(key) {
  const identity = state.identity;
  let row = null;
  if (UUID.test(key)) row = await ctx.journal.get(key);
  else if (USIN.test(key) && key.split("-")[0] === identity.device_code) row = await ctx.journal.bySeq(Number(key.split("-")[1]));
  return row ? row.document : null;
}

// Every document a tablet makes takes its next receipt number (a shift's opening and its Z-report, a
// paid in or out, ...), so a number a cashier types may be one of those: said so, not "unknown".
const NOT_A_SALE = {
  refund: "{n} is a return, not a sale.", shift_open: "{n} is a shift's opening, not a sale.",
  shift_close: "{n} is a Z-report (a shift's close), not a sale.", cash_movement: "{n} is cash paid in or out, not a sale.",
  drawer_open: "{n} is a drawer opening, not a sale.", khata_payment: "{n} is a khata payment, not a sale.",
  khata_adjustment: "{n} is a khata adjustment, not a sale.", customer: "{n} is a customer's details, not a sale.",
};

/** "{n} is a return, not a sale." in the tablet's language; a kind this till has no words for, plainly. */
function notASale(kind, n) {
  return Object.hasOwn(NOT_A_SALE, kind) ? t(NOT_A_SALE[kind], { n }) : t("{n} is not a sale.", { n });
}

async function ownRefunds(saleId) {
  return (await ctx.journal.refundsOf(saleId)).map((row) => row.document);
}

/**
 * What may be returned of a sale: { sale, refunded, source, note } or { refused } in words.
 * Asks the box (every tablet's returns) when it answers; else only this tablet's own sales.
 */
export async function lookUpSale(key) {
  key = westernDigits(key).trim();   // a receipt number typed in Urdu digits
  const whole = typedReceiptNumber(key);   // "T1-42" as "T1-000042"
  if (whole) key = whole;
  else if (!UUID.test(key.toLowerCase())) return { refused: t("Type or scan a receipt number like T1-000042.") };
  else key = key.toLowerCase();
  const own = await ownDocument(key);
  if (own && own.kind !== "sale") {
    return { refused: notASale(own.kind, receiptNumber(own.device_code, own.seq)) };
  }
  let answer = null;
  let boxKnowsNot = false;
  let boxHasOther = null;   // the box holds the number, on another tablet's document that is no sale: {kind, n}
  try {
    answer = (await call(`sales/${encodeURIComponent(key)}`, { token: state.identity.token })).json;
  } catch (err) {
    if (err instanceof ApiError && err.code === "unknown_sale") {
      boxKnowsNot = true;
      // gateway/errors.py NotASale names the document's kind; a box before it said so only in English.
      const error = (err.body && err.body.error) || {};
      if (typeof error.kind === "string") {
        boxHasOther = { kind: error.kind, n: typeof error.receipt === "string" ? error.receipt : key };
      } else if (/ not a sale$/.test(err.message)) boxHasOther = { kind: "", n: key };
    } else if (!(err instanceof Unreachable || err instanceof ApiError)) throw err;
  }
  if (answer && answer.sale) {
    // The box counts what reached it; this tablet's own returns still on their way count too.
    const known = new Set((answer.refunds || []).map((r) => (typeof r === "string" ? r : r.id)));
    const mine = (await ownRefunds(answer.sale.id)).filter((r) => !known.has(r.id));
    const extra = refundedBy(answer.sale, mine);
    const refunded = answer.sale.lines.map((_, i) => ((answer.refunded || [])[i] || 0) + extra[i]);
    // Earlier refunds for the caps: this tablet's own as documents (their payments known), the box's others.
    const ownById = new Map((await ownRefunds(answer.sale.id)).map((r) => [r.id, r]));
    const earlier = [...(answer.refunds || []).map((r) => (typeof r === "string" ? { id: r } : r))
      .map((r) => ownById.get(r.id) || r), ...mine];
    return { sale: answer.sale, refunded, earlier, source: "box", note: "" };
  }
  if (own) {
    // Unknown to the box means not yet sent: no other tablet can have refunded it (they would need the box).
    const mine = await ownRefunds(own.id);
    return { sale: own, refunded: refundedBy(own, mine), earlier: mine, source: "tablet",
             note: boxKnowsNot ? "" : t("The shop box cannot be reached: this return is checked against this " +
               "tablet's own records only.") };
  }
  if (boxHasOther) return { refused: notASale(boxHasOther.kind, boxHasOther.n) };
  if (boxKnowsNot) return { refused: t("No sale with receipt number {n} is known.", { n: key }) };
  return { refused: t("Receipt {n} is not from this tablet. A return of another tablet's sale needs the shop box, " +
                      "which cannot be reached now.", { n: key }) };
}

export function mayRefund(s) {
  const cashier = ((s.catalog && s.catalog.cashiers) || []).find((c) => s.cashier && c.cashier_id === s.cashier.cashier_id);
  return Boolean(cashier) && cashier.can_refund !== false;
}

// --- actions -------------------------------------------------------------------------------

let lookUps = 0;   // numbers each findReturn: only the latest one's answer is shown

export const returnActions = {
  async findReturn(key) {
    if (!mayRefund(state)) { update({ notice: t("Your cashier account may not take returns. Ask the owner.") }); return; }
    const mine = ++lookUps;
    const from = state.screen;
    update({ notice: t("Looking up the sale…") });
    // The box may take seconds to answer. Meanwhile the cashier may have typed again (forgetLookUp),
    // asked for another receipt, or left the list: the answer is then about a number nobody is looking
    // at, and is dropped rather than shown over what they do now. (Not told by the notice's words: a
    // language switch meanwhile says them again in the other language.)
    const stillAsked = () => mine === lookUps && state.screen === from;
    let found;
    try {
      found = await lookUpSale(key);
    } catch (err) {
      console.error("return lookup failed", err);
      if (stillAsked()) update({ notice: t("This tablet could not look up that sale. Try again.") });
      return;
    }
    if (!stillAsked()) return;
    if (found.refused) { update({ notice: found.refused }); return; }
    update({ returning: { ...found, id: newId() }, notice: "", screen: "return" });
  },

  /** The cashier typed again: a look-up's answer still on its way is about the number before. */
  forgetLookUp() { lookUps += 1; },

  async completeReturn({ quantities, tender, reference, reason }) {
    const returning = state.returning;
    let { refunded, earlier = [] } = returning;
    if (returning.source === "box") {
      // Another tablet may have taken a return since this screen opened: ask again when the box answers.
      const again = await lookUpSale(returning.sale.id).catch(() => null);
      if (again && again.sale) ({ refunded, earlier } = again);
    }
    const sale = returning.sale;
    const amount = sale.lines.reduce((sum, line, i) => sum + (quantities[i] > 0 && quantities[i] <= returnable(sale, refunded)[i]
      ? refundLineAmount(line.amount, line.qty, quantities[i], refunded[i] || 0) : 0), 0);
    const problem = capProblem(refundCaps(sale, earlier), tender, amount);
    if (problem) {
      update({ returning: { ...returning, refunded, earlier }, notice: problem });
      return;
    }
    let completed;
    try {
      const doc = refundDocument({
        id: returning.id, sale: returning.sale, refunded, quantities, tender, reference: reference.trim(),
        reason: reason.trim(), identity: state.identity, cashierId: state.cashier.cashier_id, now: new Date(),
        clockOffsetMs: state.clockOffsetMs, shiftId: state.shift ? state.shift.id : null,
      });
      completed = await ctx.journal.complete(doc);
    } catch (err) {
      console.error("return not saved", err);
      update({ returning: { ...returning, refunded },
               notice: t("The return was NOT saved: more than was sold, or nothing chosen. Check the quantities.") });
      return;
    }
    update({ receipt: completed, returning: null, screen: "receipt", notice: "",
             unsynced: await ctx.journal.countUnsynced() });
    if (completed.customer_id) refreshCustomers();
    if (ctx.sync) ctx.sync.now();
    printOriginal(completed);
  },
};

// --- the screen -----------------------------------------------------------------------------

const TENDERS = [["cash", "Cash"], ["card", "Card"], ["wallet", "Wallet"], ["on_account", "On account"]];

export function returnScreen(initial, actions) {
  // A sale on account is paid back on account unless the cashier chooses otherwise.
  let tender = (initial.returning.sale.payments || []).some((p) => p.tender === "on_account") && initial.returning.sale.customer_id
    ? "on_account" : "cash";
  let shownLeft = null;
  const { sale } = initial.returning;
  const number = receiptNumber(sale.device_code, sale.seq);
  // The lines as the cashier reads them: their products' Urdu names on an Urdu till.
  const named = sale.lines.map((line) => lineName(line, (initial.catalog && initial.catalog.products) || [],
                                                  currentLanguage()));
  const spins = sale.lines.map((line, i) => quantityInput({
    value: "0", "aria-label": named[i], class: "qty-input", oninput: () => refresh(actions.state()) }));
  const leftCells = sale.lines.map(() => h("span", { class: "hint" }));
  const rows = sale.lines.map((line, i) => h("li", {},
    h("span", { class: "name" }, named[i],
      h("span", { class: "hint" }, ` · ${t("sold")} ${formatQty(line.qty, line.unit)} ${t("for")} ${formatRs(line.amount)}`),
      leftCells[i]),
    spins[i]));
  const all = h("button", { type: "button", onclick: () => {
    spins.forEach((spin) => setQuantity(spin, spin.getAttribute("max")));
    refresh(actions.state());
  } }, t("Return all"));
  // On account only for a sale written to a customer: the return comes off their khata.
  const tenderButtons = TENDERS.filter(([code]) => code !== "on_account" || sale.customer_id)
    .map(([code, label]) => h("button", { type: "button", class: "tender", "data-tender": code,
      onclick: () => { tender = code; refresh(actions.state()); } }, t(label)));
  const reference = h("input", { id: "return-reference", autocomplete: "off", maxlength: "64" });
  const referenceRow = h("div", {}, h("label", { for: "return-reference" }, t("Reference")), reference);
  const reason = h("input", { id: "return-reason", autocomplete: "off", maxlength: "200" });
  const total = h("p", { class: "total", "aria-live": "polite" });
  const note = h("p", { class: "hint" });
  const alert = h("p", { role: "alert", class: "notice" });
  const complete = h("button", { type: "submit", class: "primary big" }, t("Complete return"));

  function quantities() {
    return spins.map((spin) => readQuantity(spin) ?? 0);   // an empty field returns none of its line
  }
  function refresh(s) {
    const { refunded, earlier = [] } = s.returning || initial.returning;
    const left = returnable(sale, refunded);
    if (JSON.stringify(left) !== shownLeft) {
      shownLeft = JSON.stringify(left);
      left.forEach((n, i) => {
        setMax(spins[i], n);
        spins[i].disabled = n === 0;
        // Less is left than chosen (another tablet's return came first): the choice shrinks to it.
        if (readQuantity(spins[i]) > n) setQuantity(spins[i], n);
        leftCells[i].textContent = refunded[i] ? ` · ${t("already returned")} ${formatQty(refunded[i], sale.lines[i].unit)}` : "";
      });
    }
    const qty = quantities();
    const over = qty.findIndex((q, i) => !Number.isInteger(q) || q < 0 || q > left[i]);
    const amount = over >= 0 ? 0 : qty.reduce((sum, q, i) => sum + (q ? refundLineAmount(sale.lines[i].amount, sale.lines[i].qty, q, refunded[i] || 0) : 0), 0);
    for (const b of tenderButtons) b.setAttribute("aria-pressed", String(b.dataset.tender === tender));
    referenceRow.hidden = tender === "cash" || tender === "on_account";
    // Back on account, nothing is paid out: the khata owes less.
    total.textContent = tender === "on_account" ? t("Off the khata {amount}", { amount: formatRs(amount) })
      : t("Pay back {amount}", { amount: formatRs(amount) });
    const capped = over >= 0 ? "" : capProblem(refundCaps(sale, earlier), tender, amount);
    alert.textContent = over >= 0
      ? t("At most {n} of {name} can be returned.", { n: formatQty(left[over], sale.lines[over].unit), name: named[over] })
      : capped || (s.notice ? t(s.notice) : "");
    complete.disabled = over >= 0 || amount === 0 || Boolean(capped);
  }
  note.textContent = initial.returning.note;
  const form = h("form", { class: "card narrow returning", onsubmit: onSubmit(complete, () => actions.completeReturn({
    quantities: quantities(), tender, reference: tender === "card" || tender === "wallet" ? reference.value : "", reason: reason.value })) },
  h("h1", {}, t("Return from receipt {n}", { n: number })),
  note,
  h("ul", { class: "lines", "aria-label": t("Lines") }, rows),
  all,
  h("div", { class: "tenders", role: "group", "aria-label": t("Pay back in") }, tenderButtons),
  referenceRow,
  h("label", { for: "return-reason" }, t("Reason (optional)")), reason,
  total, complete, alert,
  h("button", { type: "button", class: "link", onclick: () => actions.openSales() }, t("Back to sales")));
  refresh(initial);
  return { root: form, update: refresh };
}
