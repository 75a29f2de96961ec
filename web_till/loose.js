// Loose goods (sugar, daal, cooking oil by the litre): what the cashier types, and how a weight reads.
// Quantities are integer grams (unit kg) or millilitres (unit l). Pure: no DOM.
import { t } from "./i18n.js";
import { parseRupees, westernDigits } from "./money.js";

const UNIT_WORDS = { kg: ["g", "kg"], l: ["ml", "l"] };   // below 1000, and from 1000 on
const URDU_UNITS = { "ملی لیٹر": "ml", "گرام": "g", "کلو": "kg", "لیٹر": "l", "روپے": "rs" };

/**
 * What the cashier typed for a loose product: a weight/volume ("250 g", "1.5 kg", "500 ml", "2 l";
 * a bare whole number is grams/ml, a bare decimal kg/litres) -> { qty }, or a rupee amount the
 * customer asks for ("Rs 50") -> { amount } in paisa; null when it is neither.
 */
export function parseLoose(text, unit) {
  // Urdu digits and unit words ("۲۵۰ گرام", "۵۰ روپے") read as their English.
  const typed = westernDigits(text).trim().toLowerCase().replace(/,/g, "")
    .replace(/\s*(ملی لیٹر|گرام|کلو|لیٹر|روپے)$/, (_, word) => ` ${URDU_UNITS[word]}`);
  if (/^rs\.?\s*\d/.test(typed) || /^\d+(\.\d{1,2})?\s*(rs|rupees?)$/.test(typed)) {
    const amount = parseRupees(typed.replace(/\s*(rs|rupees?)$/, ""));
    return amount ? { amount } : null;
  }
  const match = /^(\d{1,7})(?:\.(\d{1,3}))?\s*(g|gm|gram|grams|kg|kgs|kilo|ml|l|ltr|litre|litres|liter|liters)?$/
    .exec(typed);
  if (!match) return null;
  const [, whole, fraction, word] = match;
  const big = word ? !["g", "gm", "gram", "grams", "ml"].includes(word) : fraction !== undefined;
  if (word && (["ml"].includes(word) || word.startsWith("l")) !== (unit === "l")) return null;   // kg typed for oil
  if (!big && fraction !== undefined) return null;   // "2.5 g": finer than a gram
  const qty = big ? Number(whole) * 1000 + Number((fraction || "0").padEnd(3, "0")) : Number(whole);
  return qty >= 1 ? { qty } : null;
}

/** "250 g", "1.5 kg", "500 ml", "2 l" for a loose quantity, in the till's language; pieces stay a bare
 *  number. The one way the till writes a quantity (screen, receipt, returns). */
export function formatQty(qty, unit = "each") {
  const words = UNIT_WORDS[unit];
  if (!words) return String(qty);
  return qty < 1000 ? `${qty} ${t(words[0])}` : `${String(qty / 1000)} ${t(words[1])}`;
}

export function isLoose(product) {
  return product.unit === "kg" || product.unit === "l";
}
