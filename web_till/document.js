// Documents as the till makes them; mirrors the models in cloud_api/contract.py. Pure.
import { cartTotals, pricedLines } from "./cart.js";

/** The USIN printed on a receipt. */
export function receiptNumber(deviceCode, seq) {
  return `${deviceCode}-${String(seq).padStart(6, "0")}`;
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

/** How a tender settles a total: cash may exceed it (change given), other tenders pay it exactly. */
export function settle(total, tender, received) {
  if (tender === "cash") {
    if (received === null || received < total) return null;
    return { payments: [{ tender, amount: received }], change: received - total };
  }
  return { payments: [{ tender, amount: total }], change: 0 };
}

/** A sale document without seq and hash (the journal gives the seq at completion). */
export function saleDocument({ cart, identity, cashierId, tender, received, now, clockOffsetMs }) {
  const { total, tax } = cartTotals(cart);
  const settled = settle(total, tender, received);
  if (!settled || cart.lines.length === 0) throw new Error("the sale is not paid in full");
  return {
    id: cart.id,
    kind: "sale",
    device_id: identity.device_id,
    device_code: identity.device_code,
    created_at: isoWithOffset(now),
    cashier_id: cashierId,
    clock_offset_ms: clockOffsetMs,
    lines: pricedLines(cart),
    payments: settled.payments,
    total,
    tax,
    change: settled.change,
  };
}
