// The one place the till's mutable state lives. Views read it and subscribe; actions update it.

export const state = {
  screen: "loading",       // loading | locked | pairing | signin | selling | payment | receipt
  identity: null,          // {device_id, device_code, token, shop_name}
  catalog: null,           // {products, cashiers, ...}
  cashier: null,           // {cashier_id, name}
  cart: null,
  tender: "cash",
  received: "",
  receipt: null,           // the last completed document
  link: "unknown",         // online | cloud_offline | offline | unknown
  unsynced: 0,
  notice: "",
  clockOffsetMs: null,
};

const listeners = new Set();

export function update(patch) {
  Object.assign(state, patch);
  for (const listener of listeners) listener(state);
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
