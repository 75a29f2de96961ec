// Money is integer paisa everywhere (Rs 1 = 100 paisa). Pure: no DOM.

// Thousands grouped by threes, as en-PK's Intl.NumberFormat does and the box's receipts do
// (gateway/dashboard.py format_rs). Not Intl: its first use loads the locale's data, 110 to 210 ms
// of a fresh page at 4x CPU throttle, and this module is evaluated before the first screen paints.
const groupThousands = (digits) => digits.replace(/\B(?=(\d{3})+$)/g, ",");

/** "Rs 1,234" or "Rs 1,234.50" for an integer number of paisa. */
export function formatRs(paisa) {
  const sign = paisa < 0 ? "-" : "";
  const abs = Math.abs(paisa);
  const rupees = Math.floor(abs / 100);
  const rest = abs % 100;
  return `${sign}Rs ${groupThousands(String(rupees))}${rest ? "." + String(rest).padStart(2, "0") : ""}`;
}

/** Digits typed in Urdu (۰-۹) or Arabic (٠-٩), and their decimal and group marks, as 0-9 . , */
export function westernDigits(text) {
  return String(text).replace(/[\u06f0-\u06f9\u0660-\u0669\u066b\u066c\u060c\u066a]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code >= 0x06f0 && code <= 0x06f9) return String(code - 0x06f0);
    if (code >= 0x0660 && code <= 0x0669) return String(code - 0x0660);
    return { "\u066b": ".", "\u066c": ",", "\u060c": ",", "\u066a": "%" }[c];
  });
}

/** Paisa from what a cashier typed ("2000", "2,000", "1999.5", "۲۰۰۰"), or null if it is not an amount. */
export function parseRupees(text) {
  const cleaned = westernDigits(text).replace(/[,\s]/g, "").replace(/^Rs\.?/i, "").replace(/روپے$/, "");
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(cleaned);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

// The contract's rounding rules (cloud_api/contract.py round_half_up and the helpers built on it),
// worked in BigInt: grams x paisa-per-kg can pass 2**53, where a double would round. a x b / d.
export function ratio(a, b, d) {
  const denominator = BigInt(d);
  return Number((2n * BigInt(a) * BigInt(b) + denominator) / (2n * denominator));
}

/** numerator / denominator rounded half up (non-negative integers). */
export function roundHalfUp(numerator, denominator) { return ratio(numerator, 1, denominator); }

/** What `qty` grams (or ml) cost at `unitPrice` paisa per kg (or litre). */
export function looseAmount(qty, unitPrice) { return ratio(qty, unitPrice, 1000); }

/** The grams (or ml) `amount` paisa buys at `unitPrice` per kg (or litre). */
export function looseQtyForAmount(amount, unitPrice) { return ratio(amount, 1000, unitPrice); }

/** `bp` basis points of `amount` (a percent discount). */
export function percentOf(amount, bp) { return ratio(amount, bp, 10000); }

/**
 * `total` paisa shared across `weights` in proportion, exact to the paisa: each gets the floor of
 * its share and the paisa left over go to the largest remainders (the earlier line on a tie).
 */
export function sharePaisa(total, weights) {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0 || total === 0) return weights.map(() => 0);
  const T = BigInt(total);
  const S = BigInt(sum);
  const parts = weights.map((w, i) => ({ i, share: Number((T * BigInt(w)) / S), rest: (T * BigInt(w)) % S }));
  let left = total - parts.reduce((a, p) => a + p.share, 0);
  const order = [...parts].sort((a, b) => (a.rest === b.rest ? a.i - b.i : a.rest > b.rest ? -1 : 1));
  for (const part of order) {
    if (left === 0) break;
    part.share += 1;
    left -= 1;
  }
  return parts.map((p) => p.share);
}

/** A percent ("10%", "12.5 %") as basis points, or null. */
export function parsePercent(text) {
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?\s*%$/.exec(westernDigits(text).trim());
  if (!match) return null;
  const bp = Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
  return bp <= 10000 ? bp : null;
}

/** Basis points in words: 1000 -> "10%", 1250 -> "12.5%". */
export function formatPercent(bp) {
  return `${bp / 100}%`;
}
