// The open cart: pure functions over plain objects; every change returns a new cart.
import { lineTax } from "./tax.js";

/** An empty cart. Its id becomes the sale's id, so a double-tapped Pay cannot make two sales. */
export function newCart(id) {
  return { id, lines: [] };
}

export function addProduct(cart, product) {
  const found = cart.lines.find((line) => line.sku === product.sku);
  const lines = found
    ? cart.lines.map((line) => (line === found ? { ...line, qty: line.qty + 1 } : line))
    : [...cart.lines, { sku: product.sku, name: product.name, unit_price: product.price, gst_bp: product.gst_bp, qty: 1 }];
  return { ...cart, lines };
}

export function changeQty(cart, sku, delta) {
  const lines = cart.lines
    .map((line) => (line.sku === sku ? { ...line, qty: line.qty + delta } : line))
    .filter((line) => line.qty > 0);
  return { ...cart, lines };
}

/** Lines as a sale document carries them: amount and tax worked out per line. */
export function pricedLines(cart) {
  return cart.lines.map((line) => {
    const amount = line.qty * line.unit_price;
    return { sku: line.sku, name: line.name, qty: line.qty, unit_price: line.unit_price,
             gst_bp: line.gst_bp, amount, tax: lineTax(amount, line.gst_bp) };
  });
}

export function cartTotals(cart) {
  const lines = pricedLines(cart);
  return {
    total: lines.reduce((sum, line) => sum + line.amount, 0),
    tax: lines.reduce((sum, line) => sum + line.tax, 0),
    items: lines.reduce((sum, line) => sum + line.qty, 0),
  };
}
