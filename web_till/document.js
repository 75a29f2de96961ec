// Documents as the till makes them; mirrors the models in cloud_api/contract.py. Pure.
import { cartDiscount, cartTotals, pricedLines } from "./cart.js";
import { saleTerms } from "./fiscal.js";

/** A receipt number as printed and scanned (cloud_api/contract.py USIN_PATTERN). */
export const USIN = /^T[1-9][0-9]{0,3}-[0-9]{6,}$/;

/** The USIN printed on a receipt. */
export function receiptNumber(deviceCode, seq) {
  return `${deviceCode}-${String(seq).padStart(6, "0")}`;
}

/** A whole receipt number as typed, long or short, any case ("T6-000003", "t6-3"): as printed
 *  ("T6-000003"); null for anything else (a part of one, an id). The box takes both forms too
 *  (gateway/returns.py find_sale). */
export function typedReceiptNumber(text) {
  const match = /^(T[1-9][0-9]{0,3})-([0-9]{1,9})$/.exec(String(text).trim().toUpperCase());
  return match && Number(match[2]) >= 1 ? receiptNumber(match[1], Number(match[2])) : null;
}

/** ISO 8601 with the device's UTC offset, e.g. 2026-11-27T18:05:09+05:00. */
export function isoWithOffset(date) {
  const pad = (n) => String(n).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * A sale document without seq and hash (the journal gives the seq at completion). `settled` is
 * tenders.js settle()'s answer: { payments, change }; `catalog` gives the fiscal terms (the POS
 * service fee, tax by tender: fiscal.js saleTerms over the payments' tenders).
 */
export function saleDocument({ cart, identity, cashierId, settled, shiftId, now, clockOffsetMs, catalog = null,
                              approvalId = null }) {
  const terms = saleTerms(catalog, settled ? settled.payments.map((p) => p.tender) : []);
  const { total, tax, discount, fee } = cartTotals(cart, terms);
  const paid = settled ? settled.payments.reduce((sum, p) => sum + p.amount, 0) : 0;
  if (!settled || cart.lines.length === 0 || paid - settled.change !== total) {
    throw new Error("the sale is not paid in full");
  }
  const cash = settled.payments.filter((p) => p.tender === "cash").reduce((sum, p) => sum + p.amount, 0);
  if (settled.change > cash) throw new Error("change is only ever given from cash");
  const doc = {
    id: cart.id,
    kind: "sale",
    device_id: identity.device_id,
    device_code: identity.device_code,
    created_at: isoWithOffset(now),
    cashier_id: cashierId,
    clock_offset_ms: clockOffsetMs,
    lines: pricedLines(cart, terms.gstBp),
    payments: settled.payments,
    total,
    tax,
    change: settled.change,
  };
  if (discount) doc.discount = discount;
  if (cart.discount && cart.discount.bp !== undefined && cartDiscount(cart)) doc.cart_discount_bp = cart.discount.bp;
  if (shiftId) doc.shift_id = shiftId;
  if (fee) doc.service_fee = fee;
  // Credit on a khata names whose it is (the cart's customer), and the owner's approval past the limit.
  if (settled.payments.some((p) => p.tender === "on_account")) {
    if (!cart.customer) throw new Error("an on-account sale needs its customer");
    doc.customer_id = cart.customer.customer_id;
    if (approvalId) doc.credit_approval_id = approvalId;
  }
  return doc;
}
