// The receipt: one model (pure) drawn on screen and printed by the browser through print.css
// (an 80 mm slip). Sales print as receipts, refunds as "RETURN" with the original's number;
// a reprint says "DUPLICATE". A shop that reports to FBR / PRA prints the invoice's block (fiscal.js).
import { receiptNumber } from "./document.js";
import { fiscalBlock } from "./fiscal.js";
import { formatQty } from "./loose.js";
import { WALLETS } from "./tenders.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { formatRs } from "./money.js";

/** The local date and time a document was made, as its own clock wrote it ("28/11/2026 16:05"). */
export function documentTime(createdAt) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(createdAt || "");
  return m ? `${m[3]}/${m[2]}/${m[1]} ${m[4]}:${m[5]}` : "";
}

/** A khata balance in words: "Rs 1,300" owed, "Rs 500 in advance" when the shop owes the customer
 *  (gateway/slip.py balance_text prints the same). */
export function balanceText(paisa) {
  return paisa < 0 ? t("{amount} in advance", { amount: formatRs(-paisa) }) : formatRs(paisa);
}

/** A sale's line as the cashier or customer reads it: in Urdu, the line's or its product's Urdu name. */
export function lineName(line, products, language) {
  if (language !== "ur") return line.name;
  const product = products.find((p) => p.sku === line.sku);
  return line.name_ur || (product && product.name_ur) || line.name;
}

/**
 * What a receipt says, from a sale, refund or khata payment document, the catalog's settings, the tablet's identity
 * and the cashier's name, and `fiscal` what the box reported of its invoice (the journal's fiscal
 * store; undefined: nothing yet). Pure: no DOM, no clock, no storage.
 */
export function receiptModel(doc, { catalog, identity, cashierName, language = "en", duplicate = false, fiscal,
                                    customer = null }) {
  const settings = (catalog && catalog.settings) || {};
  const products = (catalog && catalog.products) || [];
  const refund = doc.kind === "refund";
  // Money received against a khata: a slip of its own (no lines, no GST, no change), and its note.
  const khataPayment = doc.kind === "khata_payment";
  const lines = doc.lines || [];
  // Khata (issue 10): whose account a sale on account went to, and their balance after it when known;
  // the key only on such a receipt (the box's gateway/receipt_model.py mirrors the rest).
  const khata = doc.customer_id && customer
    ? { customer: { name: customer.name || "", balanceAfter: customer.balanceAfter ?? null,
                   tabletOnly: Boolean(customer.tabletOnly) } } : {};
  return {
    ...khata,
    ...(khataPayment ? { khataPayment, note: doc.note || "" } : {}),
    refund,
    duplicate,
    shop: (catalog && catalog.shop_name) || (identity && identity.shop_name) || "",
    address: settings.address || "",
    phone: settings.phone || "",
    ntn: settings.ntn || "",
    strn: settings.strn || "",
    number: receiptNumber(doc.device_code, doc.seq),
    original: refund ? doc.original_receipt || "" : "",
    cashier: cashierName || doc.cashier_id,
    when: documentTime(doc.created_at),
    lines: lines.map((line) => ({
      name: lineName(line, products, language),
      qty: formatQty(line.qty, line.unit),
      unitPrice: line.unit_price,
      perUnit: line.unit && line.unit !== "each" ? line.unit : "",
      discount: line.discount || 0,
      // The line after its own discount: the cart's discount is taken off once, below the lines,
      // so the slip adds up (lines - cart discount = total) for a customer checking it.
      amount: line.amount + (line.cart_discount || 0),
    })),
    cartDiscount: lines.reduce((sum, line) => sum + (line.cart_discount || 0), 0),
    cartDiscountBp: doc.cart_discount_bp || null,
    discount: doc.discount || 0,
    serviceFee: refund ? 0 : doc.service_fee || 0,
    tax: doc.tax || 0,
    total: khataPayment ? doc.amount : doc.total,
    payments: doc.payments.map((p) => ({
      tender: p.tender,
      wallet: p.wallet ? WALLETS[p.wallet] || p.wallet : "",
      amount: p.amount,
      reference: p.reference || "",
      unverified: Boolean(p.unverified),
    })),
    change: doc.change || 0,
    reason: refund ? doc.reason || "" : "",
    // The shop's footer is for sales ("No returns after 7 days"): not on money received for a khata.
    footer: khataPayment ? "" : settings.receipt_footer || "",
    fiscal: fiscalBlock(doc, catalog, fiscal),
  };
}

const TENDER_WORDS = { cash: "Cash", card: "Card", wallet: "Wallet", on_account: "On account" };

function row(label, value, cls = "") {
  return h("div", { class: `slip-row ${cls}` }, h("span", {}, label), h("span", { class: "slip-amount" }, value));
}

/** The slip's DOM, the same on screen and on paper (print.css shows only `.slip` when printing). */
export function drawSlip(model) {
  const head = [
    model.duplicate ? h("p", { class: "slip-mark" }, t("DUPLICATE")) : null,
    model.refund ? h("p", { class: "slip-mark" }, t("RETURN")) : null,
    model.khataPayment ? h("p", { class: "slip-mark" }, t("KHATA PAYMENT")) : null,
    h("p", { class: "slip-shop" }, model.shop),
    model.address ? h("p", {}, model.address) : null,
    model.phone ? h("p", {}, `${t("Phone")} `, h("bdi", {}, model.phone)) : null,
    model.ntn ? h("p", {}, `${t("NTN")} `, h("bdi", {}, model.ntn)) : null,
    model.strn ? h("p", {}, `${t("STRN")} `, h("bdi", {}, model.strn)) : null,
  ];
  const meta = [
    row(t("Receipt"), model.number),
    model.refund ? row(t("Original receipt"), model.original) : null,
    row(t("Cashier"), model.cashier),
    row(t("Date"), model.when),
  ];
  const lines = model.lines.map((line) => h("div", { class: "slip-line" },
    h("div", { class: "slip-row" }, h("span", {}, line.name), h("span", { class: "slip-amount" }, formatRs(line.amount))),
    h("div", { class: "slip-row slip-sub" },
      h("span", {}, line.perUnit
        ? `${line.qty} @ ${formatRs(line.unitPrice)}/${t(line.perUnit)}`
        : `${line.qty} × ${formatRs(line.unitPrice)}`),
      line.discount ? h("span", {}, `${t("Discount")} −${formatRs(line.discount)}`) : null)));
  // A khata payment: what was received, no GST in it (the sales it pays for carried their own).
  const totals = model.khataPayment ? [row(t("Amount received"), formatRs(model.total), "slip-total")] : [
    model.cartDiscount ? row(t("Subtotal"), formatRs(model.total - model.serviceFee + model.cartDiscount)) : null,
    model.cartDiscount ? row(model.cartDiscountBp ? t("Cart discount {p}%", { p: model.cartDiscountBp / 100 })
      : t("Cart discount"), `−${formatRs(model.cartDiscount)}`) : null,
    // The FBR / PRA POS fee: a row of its own, inside the total, no GST in it.
    model.serviceFee ? row(t("POS service fee"), formatRs(model.serviceFee), "slip-fee") : null,
    row(model.refund ? t("Total refunded") : t("Total"), formatRs(model.total), "slip-total"),
    row(t("GST included"), formatRs(model.tax)),
    // Already inside the figures above: said once, for the customer, never taken off again.
    model.discount ? h("p", { class: "slip-sub" }, t("You saved {amount}", { amount: formatRs(model.discount) })) : null,
  ];
  const tenders = model.payments.map((p) => h("div", { class: "slip-line" },
    row(`${t(TENDER_WORDS[p.tender])}${p.wallet ? ` (${p.wallet})` : ""}`, formatRs(p.amount)),
    p.reference ? h("div", { class: "slip-sub" }, `${t("Ref")} `, h("bdi", {}, p.reference)) : null,
    p.unverified ? h("div", { class: "slip-sub slip-warn" }, t("unverified")) : null));
  return h("div", { class: "slip", "aria-label": t("Receipt") },
    h("div", { class: "slip-head" }, head),
    h("div", { class: "slip-block" }, meta),
    model.khataPayment ? null : h("div", { class: "slip-block" }, lines),
    h("div", { class: "slip-block" }, totals),
    h("div", { class: "slip-block" }, tenders,
      changeGiven(model) ? row(t("Change"), formatRs(model.change), "slip-total") : null),
    model.customer ? h("div", { class: "slip-block", "data-testid": "receipt-customer" }, row(t("Customer"), model.customer.name),
      model.customer.balanceAfter === null ? null
        : row(model.customer.tabletOnly ? t("Balance after, as known to this tablet") : t("Balance after"),
          balanceText(model.customer.balanceAfter))) : null,
    model.reason ? h("p", {}, `${t("Reason")}: ${model.reason}`) : null,
    model.note ? h("p", {}, `${t("Note")}: ${model.note}`) : null,
    fiscalPart(model.fiscal),
    model.footer ? h("p", { class: "slip-foot" }, model.footer) : null);
}

/** Whether the slip has a Change row: a sale paid at least partly in cash (change is only ever given
 * from cash). A card, wallet or on-account sale has none to give, and "Change Rs 0" there is noise. */
function changeGiven(model) {
  return !model.refund && !model.khataPayment && model.payments.some((p) => p.tender === "cash");
}

/** The invoice's block: the authority's mark, its number and QR code, the POS registration; or "pending". */
function fiscalPart(f) {
  if (!f) return null;
  const words = { authority: f.authority, number: f.number };
  return h("div", { class: "slip-block slip-fiscal", "data-fiscal": f.number ? "fiscalized" : "pending" },
    h("p", { class: "slip-fiscal-mark" }, `${f.authority} POS`),
    f.number ? h("p", {}, `${t("{authority} invoice", words)} `, h("bdi", { class: "slip-fiscal-number" }, f.number))
      : h("p", { class: "slip-fiscal-pending" }, t("{authority}: pending", words)),
    f.qr ? h("img", { class: "slip-qr", src: f.qr, alt: t("QR code of {authority} invoice {number}", words) }) : null,
    f.posId ? h("p", {}, `${t("POS registration")} `, h("bdi", {}, String(f.posId))) : null);
}

/** The cashier's name for a document, from the catalog. */
export function cashierName(catalog, cashierId) {
  const cashier = ((catalog && catalog.cashiers) || []).find((c) => c.cashier_id === cashierId);
  return cashier ? cashier.name : cashierId;
}
