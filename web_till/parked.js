// The open cart and parked sales outlive a reload and a sign-out: kept in the journal's meta store.
// The open cart is per cashier (meta "open_cart:<cashier_id>"); parked sales are per tablet.
import { ctx } from "./context.js";

const PARKED = "parked_sales";

function journal() { return ctx.journal; }

/** Keep the cashier's open cart; writes are queued by IndexedDB in the order they are made. */
export function keepCart(cashierId, cart) {
  if (!journal() || !cashierId) return Promise.resolve();
  return journal().setMeta(`open_cart:${cashierId}`, cart).catch((err) => console.warn("cart not kept", err));
}

/** The cashier's kept cart, unless it was already completed as a sale (its id is in the journal). */
export async function keptCart(cashierId) {
  if (!journal() || !cashierId) return null;
  const cart = await journal().getMeta(`open_cart:${cashierId}`);
  if (!cart || !cart.id) return null;
  if (await isSold(cart.id)) return null;
  return cart;
}

/** Parked sales, less any whose cart was sold meanwhile (a crash between parking and clearing the open
 *  cart can leave one both parked and sold): recalling it would reuse a sold sale's id. */
export async function parkedSales() {
  const list = (journal() && (await journal().getMeta(PARKED))) || [];
  const sold = await Promise.all(list.map((held) => isSold(held.cart.id)));
  return list.filter((_, i) => !sold[i]);
}

export async function isSold(cartId) {
  return Boolean(journal() && typeof journal().get === "function" && (await journal().get(cartId)));
}

export function keepParked(list) {
  if (!journal()) return Promise.resolve();
  return journal().setMeta(PARKED, list).catch((err) => console.warn("parked sales not kept", err));
}
