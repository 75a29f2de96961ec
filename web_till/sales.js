// The day's sales on this tablet, from its journal: find a receipt by number, reprint it, return
// goods from it. Also the receipt screens (after a sale or return, and a reprint).
import { ctx } from "./context.js";
import { isoWithOffset, receiptNumber, typedReceiptNumber } from "./document.js";
import { h } from "./dom.js";
import { authority } from "./fiscal.js";
import { currentLanguage, t } from "./i18n.js";
import { formatRs, westernDigits } from "./money.js";
import { printControls, printDuplicate } from "./printing.js";
import { customerById, onAccountPaid } from "./khata.js";
import { cashierName, drawSlip, receiptModel } from "./receipt.js";
import { update } from "./store.js";

// Where a document is, by its journal state: the Sales list and a customer's khata say it alike.
export const SYNC_WORDS = { pending: "pending", at_gateway: "at box", in_cloud: "in cloud", dead: "refused" };

/** This tablet's sales, returns and khata payments made on `day` (YYYY-MM-DD, the tablet's local date),
 *  newest first: every receipt it gave today, to find and print again. */
export async function daySales(journal, day) {
  const rows = await journal.byKinds(["sale", "refund", "khata_payment"]);
  return rows.filter((row) => row.document.created_at.slice(0, 10) === day).reverse();
}

export const salesActions = {
  openSales() { update({ screen: "sales", notice: "", returning: null }); },
  async reprint(doc) {
    // The invoice's number and QR code are on the reprint from its first paint (not on a checkout's path).
    const fiscal = (await ctx.journal.fiscalOf([doc.id]).catch(() => new Map())).get(doc.id);
    update({ reprint: doc, reprintFiscal: fiscal || null, screen: "reprint", notice: "", printing: null });
    printDuplicate(doc);   // through the box when this tablet has a printer there
  },
};

export function salesScreen(state, actions) {
  const search = h("input", { type: "search", id: "receipt-search", "aria-label": t("Receipt number"),
                              placeholder: t("Receipt number"), autocomplete: "off", inputmode: "text" });
  const list = h("ul", { class: "sales-list", "aria-label": t("Sales") });
  const hint = h("p", { class: "hint" });
  const alert = h("p", { role: "alert", class: "notice" });
  let rows = [];
  let fiscal = new Map();
  let loadedFor = null;

  function draw() {
    const query = westernDigits(search.value).trim().toUpperCase();
    // Part of a number ("000042", "T1-00") as typed; a whole one in its short form ("T1-42") too.
    const whole = typedReceiptNumber(query);
    const shown = rows.filter((row) => {
      const number = receiptNumber(row.document.device_code, row.seq);
      return !query || number.includes(query) || number === whole;
    });
    const reporter = authority(actions.state().catalog);
    list.replaceChildren(...shown.map((row) => {
      const doc = row.document;
      const number = receiptNumber(doc.device_code, doc.seq);
      const refund = doc.kind === "refund";
      // A khata payment: printed again like the rest, but nothing is returned from it, and it is no
      // invoice for FBR / PRA.
      const payment = doc.kind === "khata_payment";
      const known = payment && customerById(doc.customer_id, actions.state());
      const what = payment ? [t("Payment received"), known ? ` · ${known.name}` : ""]
        : [refund ? t("Return of {n}", { n: doc.original_receipt || "" }) : t("Sale"), onAccountNote(doc, actions.state()),
           reporter ? fiscalMark(reporter, fiscal.get(doc.id)) : null];
      return h("li", { class: "sale-row", "data-receipt": number },
        h("span", { class: "number" }, number),
        h("span", { class: "time" }, doc.created_at.slice(11, 16)),
        h("span", { class: "what" }, ...what),
        h("span", { class: "amount" }, payment ? formatRs(doc.amount) : refund ? `−${formatRs(doc.total)}` : formatRs(doc.total)),
        h("span", { class: `sync sync-${row.state}` }, t(SYNC_WORDS[row.state] || row.state)),
        h("button", { class: "small", onclick: () => actions.reprint(doc) }, t("Reprint")),
        refund || payment ? null : h("button", { class: "small", onclick: () => actions.findReturn(doc.id) }, t("Return")));
    }));
    if (shown.length === 0) list.append(h("li", { class: "hint" }, rows.length ? t("No receipt matches.") : t("No sales yet today.")));
    hint.textContent = whole && shown.length === 0
      ? t("{n} is not among this tablet's sales today. Press Enter to look it up for a return.", { n: whole }) : "";
  }
  async function load(s) {
    loadedFor = `${s.unsynced}|${s.link}|${s.fiscalSeen}`;
    rows = await daySales(ctx.journal, isoWithOffset(new Date()).slice(0, 10));
    fiscal = authority(s.catalog) ? await ctx.journal.fiscalOf(rows.map((row) => row.id)) : new Map();
    draw();
  }
  search.addEventListener("input", (event) => {
    // A look-up's refusal ("No sale with receipt number ..."), or its answer still on the way, was
    // about what was typed before. Only the cashier's typing: the screen drawn again in the other
    // language puts the text back with an input event of its own (app.js redrawScreen).
    if (event.isTrusted) {
      actions.forgetLookUp();
      if (actions.state().notice) update({ notice: "" });
    }
    draw();
  });
  search.addEventListener("keydown", (event) => {
    // A receipt number typed or scanned (a scanner ends with Enter): any tablet's sale, for a return.
    if (event.key !== "Enter") return;
    event.preventDefault();
    const query = search.value.trim();
    const whole = typedReceiptNumber(westernDigits(query));
    if (query && !rows.some((row) => receiptNumber(row.document.device_code, row.seq) === whole)) {
      actions.findReturn(whole || query);
    }
  });
  const root = h("div", { class: "card sales" },
    h("h1", {}, t("Today's sales")), search, hint, alert, list,
    h("button", { class: "link", onclick: () => actions.backToCart() }, t("Back to selling")));
  function refresh(s) {
    alert.textContent = s.notice ? t(s.notice) : "";
    // "Press Enter to look it up" is done with once Enter has been pressed: the look-up's answer (or
    // "Looking up the sale…") stands alone until the cashier types again.
    hint.hidden = Boolean(s.notice);
    if (loadedFor !== `${s.unsynced}|${s.link}|${s.fiscalSeen}`) load(s).catch((err) => console.error("sales list", err));
  }
  refresh(state);
  return { root, update: refresh };
}

/** " · On account · Bilal Ahmed": a sale or return on a customer's khata, by the name this tablet knows. */
function onAccountNote(doc, s) {
  if (!doc.customer_id || !(doc.payments || []).some((p) => p.tender === "on_account")) return null;
  const known = customerById(doc.customer_id, s);
  return h("small", { class: "khata-on-account", "data-testid": "sale-on-account" },
    ` · ${t("On account")}${known ? ` · ${known.name}` : ""}`);
}

/** Where a sale's FBR / PRA invoice is: the box's answer, or pending until this tablet hears of it. */
function fiscalMark(reporter, record) {
  const words = { authority: reporter };
  const status = record && (record.status === "fiscalized" || record.status === "failed") ? record.status : "pending";
  const text = status === "fiscalized" ? t("{authority}: fiscalized", words)
    : status === "failed" ? t("{authority}: failed", words) : t("{authority}: pending", words);
  return h("span", { class: `fiscal fiscal-${status}`, "data-fiscal": status,
                     title: record && record.fbr_number ? record.fbr_number : undefined }, text);
}

function slipFor(state, doc, duplicate, fiscal) {
  // The customer of a sale on account: their name as this tablet knows it; the balance after, on the
  // receipt made with the sale (the credit check worked it out).
  const known = doc.customer_id && customerById(doc.customer_id, state);
  const fresh = state.receiptKhata && state.receiptKhata.id === doc.id && !duplicate ? state.receiptKhata : null;
  const customer = fresh || (known ? { name: known.name, balanceAfter: null } : null);
  return drawSlip(receiptModel(doc, {
    catalog: state.catalog, identity: state.identity, cashierName: cashierName(state.catalog, doc.cashier_id),
    language: currentLanguage(), duplicate, fiscal, customer }));
}

/**
 * A receipt's slip that takes the invoice's FBR / PRA number once the box reports it: drawn at once
 * (a fresh sale says "pending"), drawn again when the sync loop brings news (state.fiscalSeen).
 */
function liveSlip(state, doc, duplicate, known) {
  let slip = slipFor(state, doc, duplicate, known || undefined);
  let seen = null;
  const holder = h("div", { class: "slip-holder" }, slip);
  // Read once after the first paint too (a screen drawn again in another language, say).
  setTimeout(() => update(state), 0);
  function update(s) {
    if (s.fiscalSeen === seen || !authority(s.catalog) || !ctx.journal) return;
    seen = s.fiscalSeen;
    ctx.journal.fiscalOf([doc.id]).then((found) => {
      if (!found.has(doc.id) && !known) return;
      const fresh = slipFor(s, doc, duplicate, found.get(doc.id));
      slip.replaceWith(fresh);
      slip = fresh;
    }).catch((err) => console.error("fiscal status", err));
  }
  return { holder, update };
}

/** After a sale (SELL's completeSale), a return or a khata payment: the receipt, to print, then a new sale
 *  (or, for a khata payment, back to that khata). */
export function receiptScreen(state, actions) {
  const doc = state.receipt;
  const number = receiptNumber(doc.device_code, doc.seq);
  const slip = liveSlip(state, doc, false, null);   // nothing awaited: the receipt paints with the sale
  const print = printControls(doc.id, () => printDuplicate(doc));
  // A khata payment's receipt goes back to the customer's khata, where it was taken; a sale's to selling.
  const khataPayment = doc.kind === "khata_payment";
  const title = { refund: t("Return complete"), khata_payment: t("Payment received") }[doc.kind] || t("Sale complete");
  const root = h("div", { class: "card narrow receipt printable" },
    h("h1", { class: "no-print" }, title),
    h("p", { class: "usin no-print" }, `${t("Receipt")} `, h("strong", { "data-testid": "receipt-number" }, number)),
    doc.kind === "refund" ? refundSaid(doc) : null,
    print.said, slip.holder, print.button,
    khataPayment
      ? h("button", { class: "primary big no-print", title: `${t("Back to khata")} (F8)`,
                      onclick: () => actions.backToKhata(doc.customer_id) }, t("Back to khata"))
      : h("button", { class: "primary big no-print", title: `${t("New sale")} (F8)`, onclick: () => actions.newSale() },
        t("New sale")));
  return { root, update: (s) => { slip.update(s); print.refresh(s); } };
}

/** What the cashier does with a return's money: pay it back, or (on account) nothing, the khata owes less. */
function refundSaid(doc) {
  const onAccount = onAccountPaid(doc.payments);
  const said = [];
  if (doc.total - onAccount > 0) said.push(t("Pay back {amount}", { amount: formatRs(doc.total - onAccount) }));
  if (onAccount > 0) said.push(t("Off the khata {amount}", { amount: formatRs(onAccount) }));
  return h("p", { class: "change no-print" }, said.join(" · "));
}

/** A receipt printed again: marked DUPLICATE. */
export function reprintScreen(state, actions) {
  const doc = state.reprint;
  const slip = liveSlip(state, doc, true, state.reprintFiscal);
  const print = printControls(doc.id, () => printDuplicate(doc));
  print.button.classList.add("primary");
  const root = h("div", { class: "card narrow receipt printable" },
    h("h1", { class: "no-print" }, t("Reprint"),
      ` `, h("span", { "data-testid": "reprint-number" }, receiptNumber(doc.device_code, doc.seq))),
    print.said, slip.holder, print.button,
    h("button", { class: "link no-print", onclick: () => actions.openSales() }, t("Back to sales")));
  return { root, update: (s) => { slip.update(s); print.refresh(s); } };
}
