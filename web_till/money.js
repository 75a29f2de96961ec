// Money is integer paisa everywhere (Rs 1 = 100 paisa). Pure: no DOM.

const grouping = new Intl.NumberFormat("en-PK", { maximumFractionDigits: 0 });

/** "Rs 1,234" or "Rs 1,234.50" for an integer number of paisa. */
export function formatRs(paisa) {
  const sign = paisa < 0 ? "-" : "";
  const abs = Math.abs(paisa);
  const rupees = Math.floor(abs / 100);
  const rest = abs % 100;
  return `${sign}Rs ${grouping.format(rupees)}${rest ? "." + String(rest).padStart(2, "0") : ""}`;
}

/** Paisa from what a cashier typed ("2000", "2,000", "1999.5"), or null if it is not an amount. */
export function parseRupees(text) {
  const cleaned = String(text).replace(/[,\s]/g, "").replace(/^Rs\.?/i, "");
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(cleaned);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}
