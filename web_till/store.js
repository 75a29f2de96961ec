// The one place the till's mutable state lives. Views read it and subscribe; actions update it.

export const state = {
  screen: "loading",       // loading | locked | pairing | signin | selling | payment | receipt
  identity: null,          // {device_id, device_code, token, shop_name}
  catalog: null,           // {products, cashiers, ...}
  cashier: null,           // {cashier_id, name}
  cart: null,              // the open cart (cart.js), kept per cashier in the journal's meta
  parked: [],              // parked sales on this tablet: [{cart, at, cashier_name}]
  tender: "cash",          // the tender being taken on the payment screen
  received: "",            // cash typed, as typed
  tenderAmount: "",        // card / wallet amount typed ("" = what is left)
  reference: "",           // card approval code / wallet transaction id
  wallet: "jazzcash",
  splits: [],              // payments already taken for this sale (Split)
  stock: null,             // the box's on-hand per SKU, or null when the box has none
  stockSeq: null,          // the device_seq of that stock: this tablet's documents up to it are in it
  stockMadeBefore: null,   // the last seq this tablet had given out when it asked for that stock
  soldHere: {},            // per SKU, what this tablet sold that the stock does not count yet
  shift: null,             // the open shift (day.js)
  shiftsUsed: false,       // whether this tablet has ever opened a shift (day.js): the payment screen says when none is open
  receipt: null,           // the last completed document
  link: "unknown",         // online | cloud_offline | offline | unknown
  unsynced: 0,
  notice: "",
  clockOffsetMs: null,
  printer: null,           // this tablet's printer on the box ({printer_id, name}), or null: the browser prints
  printing: null,          // the last print asked of the box: {key (document or shift id), outcome} (printing.js)
  customers: [],           // customers this tablet knows, with balances (khata.js knownCustomers)
  customersAskedAt: null,  // when the box's customers were last fetched (tablet ms), or null
  customerId: null,        // the customer whose khata is open
  picking: null,           // "payment": the customers list chooses the sale's customer
  khataDone: "",           // what the khata screen just did ("Received Rs 500 from ..."): a status, not an error
  receiptKhata: null,      // the sale on account just made: {id, name, balanceAfter, tabletOnly}
  fiscalSeen: 0,           // bumped when the box's FBR / PRA outcomes reach the journal's fiscal store
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
