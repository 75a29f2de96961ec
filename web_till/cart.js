// The open cart: pure functions over plain objects; every change returns a new cart.
// A line keeps the price it was rung up at; discounts are kept as the cashier gave them
// ({ bp } for a percent, { paisa } for an amount) and worked out in pricedLines, the one place
// the sale's arithmetic lives (it mirrors cloud_api/contract.py SaleLine and Sale).
import { isLoose } from "./loose.js";
import { looseAmount, looseQtyForAmount, percentOf, sharePaisa } from "./money.js";
import { lineTax } from "./tax.js";

/** An empty cart. Its id becomes the sale's id, so a double-tapped Pay cannot make two sales. */
export function newCart(id) {
  return { id, lines: [], discount: null, next: 1 };
}

function fromProduct(cart, product) {
  return { key: `${product.sku}#${cart.next || 1}`, sku: product.sku, name: product.name,
           unit: product.unit || "each", unit_price: product.price, gst_bp: product.gst_bp };
}

/** One more piece; a loose product goes through addLoose. A changed price starts a new line. */
export function addProduct(cart, product) {
  const found = cart.lines.find((line) => line.sku === product.sku && line.unit === "each"
                                          && line.unit_price === product.price && line.gst_bp === product.gst_bp);
  if (found) return changeQty(cart, found.key, 1);
  return { ...cart, next: (cart.next || 1) + 1, lines: [...cart.lines, { ...fromProduct(cart, product), qty: 1 }] };
}

/** A loose line: by weight ({ qty } grams/ml) or by the rupees asked for ({ amount } paisa). */
export function addLoose(cart, product, { qty, amount }) {
  const line = fromProduct(cart, product);
  const loose = amount !== undefined
    ? { ...line, priced_by: "amount", asked: amount, qty: looseQtyForAmount(amount, product.price) }
    : { ...line, priced_by: "weight", qty };
  if (!(loose.qty >= 1)) return cart;
  return { ...cart, next: (cart.next || 1) + 1, lines: [...cart.lines, loose] };
}

export function changeQty(cart, key, delta) {
  const line = cart.lines.find((l) => l.key === key);
  return line ? setQty(cart, key, line.qty + delta) : cart;
}

/** A typed quantity (pieces); 0 removes the line. */
export function setQty(cart, key, qty) {
  if (!Number.isSafeInteger(qty) || qty < 0) return cart;
  const lines = cart.lines.map((line) => (line.key === key && line.unit === "each" ? { ...line, qty } : line))
    .filter((line) => line.qty > 0);
  return dropStaleCartDiscount({ ...cart, lines });
}

export function removeLine(cart, key) {
  return dropStaleCartDiscount({ ...cart, lines: cart.lines.filter((line) => line.key !== key) });
}

function dropStaleCartDiscount(cart) {
  return cart.lines.length ? cart : { ...cart, discount: null };
}

/** A line's discount ({ bp } or { paisa }), or null to take it off. */
export function setLineDiscount(cart, key, discount) {
  return { ...cart, lines: cart.lines.map((line) => (line.key === key ? { ...line, discount } : line)) };
}

export function setCartDiscount(cart, discount) {
  return { ...cart, discount };
}

/** What a line costs before any discount. */
export function linePrice(line) {
  if (line.unit === "each" || !line.unit) return line.qty * line.unit_price;
  return line.priced_by === "amount" ? line.asked : looseAmount(line.qty, line.unit_price);
}

function discountOf(discount, base) {
  if (!discount) return 0;
  const paisa = discount.bp !== undefined ? percentOf(base, discount.bp) : discount.paisa;
  return Math.min(paisa, base);
}

/** The cart's own discount in paisa, on what the lines cost after their own discounts. */
export function cartDiscount(cart) {
  const base = cart.lines.reduce((sum, line) => sum + linePrice(line) - discountOf(line.discount, linePrice(line)), 0);
  return discountOf(cart.discount, base);
}

/**
 * Lines as a sale document carries them: discounts shared out, then GST inside what is left, at each
 * product's rate or at `gstBp` when the shop taxes by tender (fiscal.js saleTerms): taxable lines only,
 * an exempt (0%) product stays at 0.
 */
export function pricedLines(cart, gstBp = null) {
  const prices = cart.lines.map(linePrice);
  const own = cart.lines.map((line, i) => discountOf(line.discount, prices[i]));
  const shares = sharePaisa(cartDiscount(cart), prices.map((price, i) => price - own[i]));
  return cart.lines.map((line, i) => {
    const amount = prices[i] - own[i] - shares[i];
    const priced = { sku: line.sku, name: line.name, qty: line.qty };
    if (line.unit && line.unit !== "each") Object.assign(priced, { unit: line.unit, priced_by: line.priced_by });
    const rate = line.gst_bp ? gstBp ?? line.gst_bp : line.gst_bp;
    Object.assign(priced, { unit_price: line.unit_price, gst_bp: rate });
    if (own[i]) priced.discount = own[i];
    if (shares[i]) priced.cart_discount = shares[i];
    return Object.assign(priced, { amount, tax: lineTax(amount, rate) });
  });
}

/**
 * The cart's figures. `terms` (fiscal.js saleTerms) adds the POS service fee to the total of a cart
 * with lines (a sale, not goods: no GST, no discount) and taxes the lines by tender.
 */
export function cartTotals(cart, terms = {}) {
  const lines = pricedLines(cart, terms.gstBp ?? null);
  const sum = (f) => lines.reduce((total, line) => total + f(line), 0);
  const fee = lines.length ? terms.fee || 0 : 0;
  return {
    price: sum((line) => line.amount + (line.discount || 0) + (line.cart_discount || 0)),
    discount: sum((line) => (line.discount || 0) + (line.cart_discount || 0)),
    fee,
    total: sum((line) => line.amount) + fee,
    tax: sum((line) => line.tax),
    items: cart.lines.length ? sum((line) => (line.unit && line.unit !== "each" ? 1 : line.qty)) : 0,
  };
}

/**
 * Whether the cart's discounts are within a cashier's limit (basis points of the price before
 * discounts): null when they are, else { bp } of the limit that is exceeded. Each line on its own
 * and the whole cart together must stay inside it.
 */
export function overDiscountLimit(cart, maxBp) {
  const lines = pricedLines(cart);
  const allowances = cart.lines.map((line) => percentOf(linePrice(line), maxBp));
  const each = cart.lines.some((line, i) => (lines[i].discount || 0) > allowances[i]);
  const totals = cartTotals(cart);
  // Each line's percent is rounded on its own, so lines at exactly the limit may sum a paisa or two
  // above the limit of the whole (two lines of Rs 10.05 at 10%: 101 + 101 > 201): either bound will do.
  const whole = Math.max(percentOf(totals.price, maxBp), allowances.reduce((sum, a) => sum + a, 0));
  return each || totals.discount > whole ? { bp: maxBp } : null;
}

/** Lines whose price or GST no longer matches the catalog's (rung up before a price change). */
export function staleLines(cart, products) {
  const bySku = new Map(products.map((p) => [p.sku, p]));
  return cart.lines.filter((line) => {
    const product = bySku.get(line.sku);
    return product && (product.price !== line.unit_price || product.gst_bp !== line.gst_bp);
  });
}

/** The cart at today's catalog prices; a rupee-amount loose line keeps its rupees and gets the new weight. */
export function updatePrices(cart, products) {
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const lines = cart.lines.map((line) => {
    const product = bySku.get(line.sku);
    if (!product || product.price === 0) return line;
    const repriced = { ...line, unit_price: product.price, gst_bp: product.gst_bp, name: product.name };
    if (line.priced_by === "amount") repriced.qty = looseQtyForAmount(line.asked, product.price);
    return repriced;
  });
  return { ...cart, lines };
}

export { isLoose };
