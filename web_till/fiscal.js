// FBR / PRA fiscal reporting on the till (issue 9): the Re 1 POS service fee, tax by tender, and
// what a receipt says of its invoice. Pure: the box reports invoices; the till only shows them.
import { tenderTaxBp } from "./tax.js";

export const SERVICE_FEE = 100;   // cloud_api/contract.py SERVICE_FEE: Re 1, inside the total, never refunded

/** The shop's fiscal settings from the catalog (cloud_api/contract.py FiscalSettings). */
export function fiscalSettings(catalog) {
  return (catalog && catalog.fiscal) || { mode: "off" };
}

/** Whether invoices are reported; "FBR" or "PRA", or "" when the mode is off. */
export function authority(catalog) {
  const mode = fiscalSettings(catalog).mode;
  return mode === "fbr" || mode === "pra" ? mode.toUpperCase() : "";
}

/**
 * What the shop's fiscal settings add to a sale paid by `tenders`: { fee } the POS service fee (paisa),
 * { gstBp } the rate every line is taxed at (null: each product's own).
 */
export function saleTerms(catalog, tenders = []) {
  // Only a shop that reports charges the fee, and only PRA taxes by tender: rates left from a PRA
  // setting (or a fee ticked while reporting is off) change nothing.
  const settings = fiscalSettings(catalog), reports = authority(catalog) !== "";
  return { fee: reports && settings.service_fee ? SERVICE_FEE : 0,
           gstBp: settings.mode === "pra" ? tenderTaxBp(settings.tender_tax_bp, tenders) : null };
}

/** The tenders of a sale being paid: those taken, and the one being taken. */
export function tendersOf(payments, tender) {
  return [...(payments || []).map((p) => p.tender), ...(tender ? [tender] : [])];
}

/**
 * The fiscal block of a receipt, or null when the shop does not report: the authority, the invoice
 * number and QR image once the box has them (`record` from GET /api/v1/fiscal), the POSID.
 */
export function fiscalBlock(doc, catalog, record) {
  const name = authority(catalog);
  if (!name || (doc.kind !== "sale" && doc.kind !== "refund")) return null;
  const posIds = fiscalSettings(catalog).pos_ids || {};
  const number = record && record.status === "fiscalized" && record.fbr_number ? record.fbr_number : "";
  const qr = number && typeof record.qr === "string" && record.qr.startsWith("data:image/") ? record.qr : "";
  return { authority: name, number, qr, status: (record && record.status) || "pending",
           posId: (record && record.pos_id) || posIds[doc.device_id] || null };
}
