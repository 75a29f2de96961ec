// The till's bootstrap and actions: one tab per device, the journal, the sync loop, the screens.
import { ApiError, Unreachable, call, clockOffset, sayWhy } from "./api.js";
import * as carts from "./cart.js";
import { saleDocument } from "./document.js";
import { ctx } from "./context.js";
import * as day from "./day.js";
import { dayActions, dayScreens } from "./day.js";
import { afterPaint, h } from "./dom.js";
import { saleTerms } from "./fiscal.js";
import { newId } from "./ids.js";
import { creditCheck, ownerApprovalDialog, refreshCustomers } from "./khata.js";
import { LANGUAGES, currentLanguage, otherLanguage, retranslate, setLanguage, t } from "./i18n.js";
import { JOURNAL_NAME, openJournal } from "./journal.js";
import { formatPercent, formatRs, parsePercent, parseRupees, westernDigits } from "./money.js";
import { isSold, keepCart, keepParked, keptCart } from "./parked.js";
import { currentEntry, paymentScreen } from "./payment.js";
import { pinMatches } from "./pin.js";
import { printOriginal } from "./printing.js";
import { listenForScans } from "./scanner.js";
import { sellingScreen } from "./selling.js";
import { state, subscribe, update } from "./store.js";
import { countSoldHere, heldStock, pendingSold, startSync } from "./sync.js";
import { leftToPay, settle, splitOff } from "./tenders.js";
import * as views from "./views.js";

const SCREENS = {
  loading: views.loadingScreen, locked: views.lockedScreen, pairing: views.pairingScreen,
  signin: views.signInScreen, selling: sellingScreen, payment: paymentScreen,
  insecure: views.insecureScreen, failed: views.failedScreen,
  ...dayScreens,
};
const MAX_PIN_TRIES = 5;        // offline only; the box keeps its own limits (gateway/cashier_pins.py)
const PIN_LOCKOUT_MS = 30000;

let journal = null;
let sync = null;
let pinFailures = 0;
let pinLockedUntil = 0;
let untrusted = false;   // the browser refused the service worker: this origin is not trusted
let startUp = null;
const started = new Promise((resolve) => { startUp = resolve; });   // settles when start() has finished

const actions = {
  state: () => state,

  async pair(code, name) {
    await started;   // a fresh tablet shows this screen before its journal is open
    if (!journal) return;
    code = westernDigits(code);   // typed in Urdu digits too
    if (!/^\d{6}$/.test(code)) { update({ notice: t("The pairing code has 6 digits.") }); return; }
    // A tablet the box refused keeps its old identity apart (sync.js forgetToken), to ask for it back.
    const previous = state.identity || (await journal.getMeta("previous_identity"));
    try {
      const answer = await call("pair", { method: "POST", body: {
        code, name, device_id: previous ? previous.device_id : undefined,
        device_code: previous ? previous.device_code : undefined, previous_token: previous ? previous.token : undefined } });
      const identity = { ...answer.json, name };
      await journal.setMeta("identity", identity);
      // The first sale already needs the tablet's clock error: learn it from the pairing answer.
      const offset = clockOffset(answer.json.server_time, answer.rtt);
      await journal.setMeta("clock_offset_ms", offset);
      update({ clockOffsetMs: offset });
      // Pairing makes this tablet a journal holder: ask the browser not to evict its storage.
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
      update({ identity, notice: "", screen: "signin" });
      sync.now();
    } catch (err) {
      update({ notice: err instanceof ApiError && err.status === 401
        ? t("That pairing code is wrong, used or expired. Ask the owner for a new one on the box's admin page.")
        : t(sayWhy(err)) });
    }
  },

  async signIn(cashierId, pin) {
    pin = westernDigits(pin);
    const cashiers = state.catalog ? state.catalog.cashiers : [];
    const cashier = cashiers.length === 1 ? cashiers[0] : cashiers.find((c) => c.cashier_id === cashierId);
    if (!cashiers.length) { update({ notice: t("This shop has no cashiers yet. Ask the owner to add one.") }); return; }
    if (!cashier) { update({ notice: t("Choose your name, then type your PIN.") }); return; }
    if (Date.now() < pinLockedUntil) { update({ notice: tooManyPins((pinLockedUntil - Date.now()) / 1000) }); return; }
    let right;
    try {
      right = await pinOnBox(cashier, pin);
      if (right === null && cashier.pin_on_box_only) {
        // An old, short PIN: its hash is not on this tablet (a stolen tablet must not give it away).
        update({ notice: t("Your PIN can only be checked by the shop box, which this tablet cannot reach. " +
          "Ask the owner for a new PIN (6 digits or more) so you can sign in without the box.") });
        return;
      }
      if (right === null) right = await pinMatches(cashier, pin);   // the box could not check: this tablet does
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        // The box's limit holds on this tablet too, even if the box goes out of reach meanwhile.
        const waitS = err.retryAfterS ?? PIN_LOCKOUT_MS / 1000;
        pinLockedUntil = Date.now() + waitS * 1000;
        update({ notice: tooManyPins(waitS) });
      } else if (err instanceof ApiError) {
        update({ notice: t(sayWhy(err)) });   // e.g. this tablet was removed from the box
      } else {
        console.error("PIN check failed", err);
        update({ notice: t("This tablet could not check the PIN. Reload the till; if it keeps happening, tell the owner.") });
      }
      return;
    }
    if (!right) {
      pinFailures += 1;
      if (pinFailures >= MAX_PIN_TRIES) { pinFailures = 0; pinLockedUntil = Date.now() + PIN_LOCKOUT_MS; }
      update({ notice: t("Wrong PIN.") });
      return;
    }
    pinFailures = 0;
    const signedIn = { cashier_id: cashier.cashier_id, name: cashier.name };
    sessionStorage.setItem("posline-cashier", JSON.stringify(signedIn));
    // The cashier's own cart comes back: a sign-out (a tea break) loses nothing.
    const cart = (await keptCart(signedIn.cashier_id)) || carts.newCart(newId());
    update({ cashier: signedIn, notice: "", cart, screen: "selling" });
  },

  async signOut() {
    if (typeof day.beforeSignOut === "function" && !(await day.beforeSignOut())) return;
    if (state.cashier && state.cart) await keepCart(state.cashier.cashier_id, state.cart);
    sessionStorage.removeItem("posline-cashier");
    update({ cashier: null, cart: null, screen: "signin", notice: "" });
  },

  addProduct(product) { setCart(carts.addProduct(state.cart, product)); },
  addLoose(product, typed) { setCart(carts.addLoose(state.cart, product, typed)); },
  changeQty(key, delta) { setCart(carts.changeQty(state.cart, key, delta)); },
  setQty(key, qty) { setCart(carts.setQty(state.cart, key, qty)); },
  removeLine(key) { setCart(carts.removeLine(state.cart, key)); },
  clearCart() { setCart(carts.newCart(state.cart.id)); },
  updatePrices() { setCart(carts.updatePrices(state.cart, state.catalog ? state.catalog.products : [])); },

  /** Products by barcode (or SKU) from a scanner's burst; true when the selling screen took it. */
  scan(code) {
    if (state.screen !== "selling" || !state.catalog || !state.cart) return false;
    const product = state.catalog.products.find((p) => p.barcode === code)
      || state.catalog.products.find((p) => p.sku === code);
    if (!product) { update({ notice: t("No product has the barcode {code}.", { code }) }); return true; }
    if (carts.isLoose(product)) {
      update({ notice: t("{name} is sold loose: tap it and type the weight.", { name: (currentLanguage() === "ur" && product.name_ur) || product.name }) });
      return true;
    }
    actions.addProduct(product);
    return true;
  },

  /** The signed-in cashier's discount limit, in basis points of the price (0: none). */
  discountLimitBp() {
    const me = state.catalog && state.cashier
      && state.catalog.cashiers.find((c) => c.cashier_id === state.cashier.cashier_id);
    return (me && me.max_discount_bp) || 0;
  },

  /** A discount on one line (`key`) or the whole cart (null): "10%", "50", or "" to take it off. */
  applyDiscount(key, typed) {
    const text = String(typed).trim();
    const bp = parsePercent(text);
    const paisa = bp === null && text ? parseRupees(text) : null;
    if (text && bp === null && paisa === null) {
      update({ notice: t("Type an amount (50) or a percent (10%).") });
      return false;
    }
    const discount = !text || bp === 0 || paisa === 0 ? null : bp !== null ? { bp } : { paisa };
    const cart = key ? carts.setLineDiscount(state.cart, key, discount) : carts.setCartDiscount(state.cart, discount);
    const maxBp = actions.discountLimitBp();
    if (discount && carts.overDiscountLimit(cart, maxBp)) {
      update({ notice: maxBp === 0 ? t("You may not give discounts: your limit is none. Ask the owner.")
        : t("That is more than your discount limit of {percent} of the price.", { percent: formatPercent(maxBp) }) });
      return false;
    }
    setCart(cart, { notice: "" });
    return true;
  },

  park() {
    if (!state.cart || state.cart.lines.length === 0) return;
    const held = { cart: state.cart, at: Date.now(), cashier_name: state.cashier ? state.cashier.name : "" };
    setParked([...(state.parked || []), held]);
    setCart(carts.newCart(newId()), { notice: t("Sale parked. Recall it from Parked sales.") });
  },

  async recall(cartId) {
    const list = state.parked || [];
    const held = list.find((p) => p.cart.id === cartId);
    if (!held) return;
    const rest = list.filter((p) => p !== held);
    if (await isSold(cartId)) { setParked(rest); return; }   // sold already: never a second sale under its id
    // The cart on the counter is parked in its place, never thrown away.
    if (state.cart && state.cart.lines.length) {
      rest.push({ cart: state.cart, at: Date.now(), cashier_name: state.cashier ? state.cashier.name : "" });
    }
    setParked(rest);
    setCart(held.cart, { notice: "" });
  },

  startPayment() {
    if (!state.cart || state.cart.lines.length === 0) return;
    const maxBp = actions.discountLimitBp();
    if (carts.overDiscountLimit(state.cart, maxBp)) {
      update({ notice: t("The discounts are more than your limit of {percent}. Change them first.",
                         { percent: formatPercent(maxBp) }) });
      return;
    }
    // Payments already taken for this cart (a split paid by wallet, then back to add an item, or a reload)
    // stay taken: asking for the whole total again would charge the customer twice.
    update({ screen: "payment", tender: "cash", received: "", tenderAmount: "", reference: "", wallet: "jazzcash",
             splits: state.cart.taken || [], notice: "" });
  },
  setTender(tender) { update({ tender, tenderAmount: "", reference: "", notice: "" }); },
  setWallet(wallet) { update({ wallet }); },
  setReceived(received) { update({ received }); },
  setTenderAmount(tenderAmount) { update({ tenderAmount }); },
  setReference(reference) { update({ reference }); },
  leftToPay() { return leftToPay(saleTotal(), state.splits || []); },

  /** Take what the current tender pays and leave the rest for another one. */
  splitTender() {
    const taken = splitOff(saleTotal(), state.splits || [], currentEntry(state), state.link === "online");
    if (taken.problem) { update({ notice: t(taken.problem) }); return; }
    const splits = [...(state.splits || []), taken.payment];
    setCart({ ...state.cart, taken: splits }, { splits, received: "", tenderAmount: "", reference: "" });
  },
  removeSplit(i) {
    const splits = (state.splits || []).filter((_, j) => j !== i);
    setCart({ ...state.cart, taken: splits }, { splits });
  },
  backToCart() { update({ screen: "selling", notice: "" }); },

  async completeSale() {
    if (state.screen !== "payment" || checkingCredit) return;
    // The journal write is the whole checkout: no network, no hashing, no counting on this path.
    const settled = settle(saleTotal(), state.splits || [], currentEntry(state), state.link === "online");
    if (!settled) { update({ notice: t("The sale is not paid in full yet.") }); return; }
    // Except credit (on account): the khata's limit is checked first, with the box when it answers.
    const credit = settled.payments.find((p) => p.tender === "on_account");
    let khata = null;
    if (credit) {
      checkingCredit = true;
      try {
        khata = await checkCredit(credit.amount);
      } finally {
        checkingCredit = false;
      }
      if (!khata) return;
    }
    let completed;
    const receiptKhata = khata ? { id: state.cart.id, name: state.cart.customer.name, balanceAfter: khata.balanceAfter,
                                  tabletOnly: Boolean(khata.tabletOnly) } : null;
    try {
      const doc = saleDocument({
        cart: state.cart, identity: state.identity, cashierId: state.cashier.cashier_id, settled,
        shiftId: state.shift ? state.shift.id : null, now: new Date(), clockOffsetMs: state.clockOffsetMs,
        catalog: state.catalog, approvalId: khata && khata.approvalId,
      });
      // While the commit is on its way to disk the page has nothing to do: the receipt screen is drawn
      // then, off screen, and shown (render) only once the document is durable.
      completed = await journal.complete(doc, (storing) => prepare("receipt", { ...state, receipt: storing, receiptKhata }));
    } catch (err) {
      // Not saved means not sold: the cart stays as it was, and the cashier is told why in words.
      prepared = null;
      console.error("sale not saved", err);
      update({ notice: t("The sale was NOT saved. {why}", { why: t(sayWhy(err)) }) });
      return;
    }
    const cart = carts.newCart(newId());
    // The sale is one more unsynced document from now: the status says so with the receipt (counted
    // for real after the paint), never "0 unsynced" while it waits here.
    update({ receipt: completed, receiptKhata, screen: "receipt", notice: "", cart, splits: [],
             unsynced: state.unsynced + 1 });
    // After the receipt has painted: the kept cart, the push, the printing, the counts and the stock.
    afterPaint(async () => {
      if (khata) refreshCustomers();
      keepCart(state.cashier && state.cashier.cashier_id, cart);
      sync.now();
      printOriginal(completed);   // through the box, when this tablet has a printer there
      update({ unsynced: await journal.countUnsynced(), soldHere: await countSoldHere(journal) });
    });
  },

  newSale() {
    update({ cart: state.cart || carts.newCart(newId()), receipt: null, screen: "selling" });
  },
  syncNow() { return sync.now(); },

  /** This tablet's language ("en" or "ur"), kept in its journal; the open screen is drawn again in it. */
  async switchLanguage(code) {
    const before = currentLanguage();
    setLanguage(code);
    // A problem or a note left on screen is said again in the new language, or cleared when it cannot be
    // (words with figures in them): never left in the other language.
    update({ notice: state.notice ? retranslate(state.notice, before) : "",
             khataDone: state.khataDone ? retranslate(state.khataDone, before) : "" });
    redrawScreen();
    if (journal) await journal.setMeta("language", currentLanguage());
  },
  ...dayActions,
};

let checkingCredit = false;

/**
 * The credit check of an on-account sale of `amount`: { approvalId, balanceAfter } to go on, or null
 * (refused in words, or the owner did not approve). Past the limit the owner types their PIN here.
 */
async function checkCredit(amount) {
  const customer = state.cart.customer;
  if (!customer) { update({ notice: t("Choose the customer this sale goes on account to.") }); return null; }
  update({ notice: t("Checking {name}'s khata…", { name: customer.name }) });
  const check = await creditCheck(customer.customer_id, amount);
  if (check.refused) { update({ notice: check.refused }); return null; }
  // The box approves by itself within the limit (khata.js creditCheck): its approval goes on the sale.
  // Cut off from the box (check.asOf), the balance after is only what this tablet knows: the receipt says so.
  if (check.ok) {
    update({ notice: "" });
    return { approvalId: check.approvalId || null, balanceAfter: check.balanceAfter, tabletOnly: Boolean(check.asOf) };
  }
  const { balance, limit } = check.approve;
  update({ notice: "" });
  const approvalId = await ownerApprovalDialog({ customerId: customer.customer_id, amount, purpose: "credit",
    words: t("{name} owes {balance}; this sale puts {amount} more on account, past their credit limit of {limit}. The owner approves with their PIN.",
      { name: customer.name, balance: formatRs(balance), amount: formatRs(amount), limit: formatRs(limit) }) });
  if (!approvalId) { update({ notice: t("Not approved: the sale is not complete.") }); return null; }
  return { approvalId, balanceAfter: balance + amount };
}

/** What the open cart costs, the POS service fee included (the tender never changes the total). */
function saleTotal() {
  return carts.cartTotals(state.cart, saleTerms(state.catalog)).total;
}

/** The open cart changed: show it, and keep it for a reload or a sign-out. */
function setCart(cart, extra = {}) {
  update({ cart, notice: "", ...extra });
  if (state.cashier) keepCart(state.cashier.cashier_id, cart);
}

function setParked(parked) {
  update({ parked });
  keepParked(parked);
}

/**
 * The box's verdict on a PIN: true or false, or null when the box could not check (no answer, or a 5xx:
 * its catalog not yet arrived, its storage full), and only then may the tablet check offline.
 * A 429 or any other refusal is thrown: the box answered, and its limits are never bypassed here.
 */
async function pinOnBox(cashier, pin) {
  try {
    await call("cashiers:verify", { method: "POST", token: state.identity.token,
                                    body: { cashier_id: cashier.cashier_id, pin } });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "wrong_pin") return false;
    if (err instanceof Unreachable || (err instanceof ApiError && err.status >= 500)) return null;
    throw err;
  }
}

function tooManyPins(waitS) {
  return t("Too many wrong PINs. Try again in {n} seconds.", { n: Math.max(1, Math.ceil(waitS)) });
}

// --- rendering ------------------------------------------------------------------

let shown = { screen: null, view: null };
// A screen drawn before it may show: {screen, receipt (the document it shows), view}. Detached from the
// page until render() finds the state it was drawn for (the same screen and the same document object).
let prepared = null;
// Screens that can be shown again as they were built (a view with `again`: the selling screen, whose
// product grid need not be built anew after every sale), by screen; forgotten when the language changes.
const kept = new Map();

function prepare(screen, s) {
  try {
    prepared = { screen, receipt: s.receipt, view: SCREENS[screen](s, actions) };
  } catch (err) {
    prepared = null;   // drawn the usual way, once shown
    console.error("could not draw ahead", err);
  }
}

/**
 * Build the open screen again (after a language switch), keeping what was typed in its fields and
 * where the focus was: the cart, the tender and the amounts live in the store and come back anyway.
 */
function redrawScreen() {
  const main = document.getElementById("main");
  // What is typed where the cashier can see it: a closed panel's leftover (the weight typed last) is not
  // put back, its panel drawn again closed has no product to read it for.
  const typed = [...main.querySelectorAll("input[id]")].filter((i) => i.value && !i.closest("[hidden]"))
    .map((i) => [i.id, i.value]);
  const focused = document.activeElement && main.contains(document.activeElement) ? document.activeElement.id : "";
  shown = { screen: null, view: null };
  kept.clear();   // drawn in the new language
  render(state);
  for (const [id, value] of typed) {
    const input = document.getElementById(id);
    if (input && main.contains(input) && !input.value) {
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));   // e.g. the search filters the grid again
    }
  }
  const again = focused && document.getElementById(focused);
  if (again) again.focus({ preventScroll: true });
}

function render(s) {
  const main = document.getElementById("main");
  const screen = untrusted ? "insecure" : s.screen;   // nothing else may show once that is known
  const changed = shown.screen !== screen;
  if (changed) {
    const ready = prepared && prepared.screen === screen && prepared.receipt === s.receipt ? prepared.view : null;
    prepared = null;
    if (shown.view && shown.view.again) kept.set(shown.screen, shown.view);
    const before = kept.get(screen);
    if (ready) ready.update(s);   // anything that changed while it waited
    else if (before) before.again(s);
    shown = { screen, view: ready || before || SCREENS[screen](s, actions) };
    main.replaceChildren(shown.view.root);
  } else {
    shown.view.update(s);
  }
  document.getElementById("status").textContent = views.statusText(s);
  document.getElementById("status").dataset.link = s.link;
  document.getElementById("who").textContent = s.identity
    ? `${s.identity.shop_name} · ${s.identity.device_code}${s.cashier ? " · " + s.cashier.name : ""}` : "";
  const clock = document.getElementById("clock-warning");
  const skew = views.clockWarning(s.clockOffsetMs);
  clock.hidden = !skew;
  clock.textContent = skew;
  const full = document.getElementById("box-warning");
  full.hidden = s.link !== "box_full";
  full.textContent = full.hidden ? "" : t(views.BOX_FULL_WARNING);
  const signOut = document.getElementById("sign-out");   // absent on screens shown before start-up
  if (signOut) {
    signOut.hidden = !s.cashier || s.screen === "locked";
    signOut.textContent = t("Sign out");
  }
  // The switch is named in the language it offers: "اردو" on an English till, "English" on an Urdu one.
  const language = document.getElementById("language");
  if (language) {
    const other = otherLanguage();
    language.textContent = LANGUAGES[other].name;
    language.lang = other;
    language.hidden = s.screen === "locked";
  }
  // The second tab has no journal and no sync loop: a Sync now there would do nothing.
  const syncNow = document.getElementById("sync-now");
  if (syncNow) {
    syncNow.hidden = s.screen === "locked";
    syncNow.textContent = t("Sync now");
  }
  // Last, once the whole page is as it will paint: focus lays the page out, and does it only once.
  if (changed) {
    const first = main.querySelector("input, button");
    if (first) first.focus({ preventScroll: true });
  }
}

// --- keyboard shortcuts (named in each button's title) -----------------------------------

function shortcut(event) {
  const screen = state.screen;
  const press = (selector) => {
    const button = document.querySelector(selector);
    if (button && !button.disabled && !button.hidden) button.click();
  };
  let done = true;
  if (event.key === "F2" && screen === "selling") press("button.pay");
  else if (event.key === "F4" && screen === "payment") actions.setTender("cash");
  else if ((event.key === "F9" || (event.key === "Enter" && event.ctrlKey)) && screen === "payment") {
    if (settle(saleTotal(), state.splits || [], currentEntry(state), state.link === "online")) {
      actions.completeSale();
    }
  } else if (event.key === "Escape" && screen === "payment") actions.backToCart();
  else if (event.key === "F8" && screen === "receipt") press(".receipt button.primary.big");   // New sale, or Back to khata
  else done = false;
  if (done) event.preventDefault();
}

// --- start-up ---------------------------------------------------------------------

/** One tab per device: two tabs would hand out the same seq twice. */
function holdTabLock() {
  if (!navigator.locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    navigator.locks.request("posline-till", { ifAvailable: true }, (lock) => {
      resolve(Boolean(lock));
      return lock ? new Promise(() => {}) : undefined;   // held for the life of the tab
    });
  });
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch (err) {
    // A secure context whose certificate the browser does not trust (a warning clicked through)
    // refuses the service worker: the till would not survive an offline reload. Say so.
    if (err && err.name === "SecurityError") { untrusted = true; update({}); }
    throw err;
  }
  const registration = await navigator.serviceWorker.ready;
  const mark = () => { if (navigator.serviceWorker.controller) document.body.dataset.shell = "cached"; };
  navigator.serviceWorker.addEventListener("controllerchange", mark);
  mark();
  // Active yet not in control: this page was still loading when the worker's activation claimed its
  // pages, or a hard reload kept it from the worker. Ask it to claim, or the page waits for its next load.
  if (!navigator.serviceWorker.controller && registration.active) registration.active.postMessage("claim");
}

async function start() {
  if (!window.isSecureContext) {
    // Checked first: every other step below needs what only a secure context has.
    render({ ...state, screen: "insecure" });
    return;
  }
  document.getElementById("header-actions").append(
    h("button", { id: "sync-now", class: "small", hidden: true, onclick: () => actions.syncNow() }, t("Sync now")),
    h("button", { id: "sign-out", class: "small", hidden: true, onclick: () => actions.signOut() }, t("Sign out")),
    h("button", { id: "language", class: "small", hidden: true,
                  onclick: () => actions.switchLanguage(otherLanguage()) }));
  subscribe(render);
  render(state);
  listenForScans((code) => actions.scan(code));
  window.addEventListener("keydown", shortcut);
  // The journal is opened and read while the lock is asked for (reads are harmless in a second tab,
  // which shows "locked" whatever they find); nothing is written before the lock is held.
  const cashier = JSON.parse(sessionStorage.getItem("posline-cashier") || "null");
  const cartKey = cashier ? `open_cart:${cashier.cashier_id}` : "";
  const fresh = freshTablet();   // asked before the open below makes the database
  const opening = openJournal();
  const reading = opening.then(async (opened) => {
    const [read, unsynced, lastSeq] = await Promise.all([
      opened.startupReads(["language", "identity", "clock_offset_ms", "stock_held", "stock", "printer",
                           "parked_sales", ...(cartKey ? [cartKey] : [])]),
      opened.countUnsynced(), opened.storedSeq()]);
    // What this tablet sold that the stock it holds leaves out: by that stock's device_seq.
    const stockHeld = heldStock(read.meta);
    const soldHere = await pendingSold(opened, stockHeld.deviceSeq, read.meta.identity && read.meta.identity.device_id,
                                       stockHeld.madeBefore);
    return [read, unsynced, soldHere, lastSeq, stockHeld];
  });
  reading.catch(() => {});
  // A tablet with no journal yet has no identity either: it pairs, and need not wait for the lock or
  // for its new database to be made (Pair waits for both, actions.pair; a second tab turns "locked").
  fresh.then((yes) => { if (yes && state.screen === "loading") update({ screen: "pairing" }); });
  if (!(await holdTabLock())) {
    update({ screen: "locked" });
    afterPaint(offlineShell);
    return;
  }
  journal = ctx.journal = await opening;
  const [{ catalog: stored, meta }, unsynced, soldHere, lastSeq, stockHeld] = await reading;
  // Parked sales and the kept cart, less any sold meanwhile (as parked.js parkedSales and keptCart read
  // them, meta "parked_sales" and "open_cart:<cashier>"): a recall must never reuse a sold sale's id.
  const held = meta.parked_sales || [];
  const keptOpen = cartKey && meta[cartKey] && meta[cartKey].id ? meta[cartKey] : null;
  const sold = await Promise.all([...held.map((p) => isSold(p.cart.id)), keptOpen ? isSold(keptOpen.id) : false]);
  const parked = held.filter((_, i) => !sold[i]);
  const kept = keptOpen && !sold[held.length] ? keptOpen : null;
  const identity = meta.identity;
  const selling = Boolean(identity && stored && cashier);
  journal.lastSeq = lastSeq;   // the last seq given out: checkout gives the next (journal.js complete)
  // The tablet's language, before the first real screen is drawn in it.
  setLanguage(meta.language || "en");
  update({
    identity: identity || null,
    catalog: stored ? stored.catalog : null,
    clockOffsetMs: meta.clock_offset_ms ?? null,
    unsynced,
    stock: stockHeld.stock,
    stockSeq: stockHeld.deviceSeq,
    stockMadeBefore: stockHeld.madeBefore,
    printer: meta.printer || null,
    soldHere,
    parked,
    cashier: identity && stored ? cashier : null,
    // A reload (or a power cut) brings the open cart back as it was.
    cart: selling ? kept || carts.newCart(newId()) : null,
    screen: !identity ? "pairing" : selling ? "selling" : "signin",
  });
  sync = ctx.sync = startSync(journal);
  // Only an offline reload needs the service worker: installed once the first real screen has painted,
  // so its precache of the shell does not compete with this page's own first load.
  afterPaint(offlineShell);
}

/** True only when this browser has no journal at all (no database named as journal.js names it). */
async function freshTablet() {
  if (!indexedDB.databases) return false;
  try {
    return !(await indexedDB.databases()).some((db) => db.name === JOURNAL_NAME);
  } catch {
    return false;
  }
}

function offlineShell() {
  registerServiceWorker().catch((err) => console.warn("no offline shell yet", err));
}

start().catch((err) => {
  console.error("the till could not start", err);
  journal = null;   // a Pair pressed meanwhile does nothing
  update({ screen: "failed", notice: t(sayWhy(err)) });
  render(state);   // start() may have failed before it subscribed render to the store
}).finally(() => startUp());
