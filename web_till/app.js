// The till's bootstrap and actions: one tab per device, the journal, the sync loop, the screens.
import { ApiError, Unreachable, call, clockOffset, sayWhy } from "./api.js";
import { addProduct, changeQty, newCart } from "./cart.js";
import { saleDocument } from "./document.js";
import { h } from "./dom.js";
import { openJournal } from "./journal.js";
import { parseRupees } from "./money.js";
import { pinMatches } from "./pin.js";
import { state, subscribe, update } from "./store.js";
import { startSync } from "./sync.js";
import * as views from "./views.js";

const SCREENS = {
  loading: views.loadingScreen, locked: views.lockedScreen, pairing: views.pairingScreen,
  signin: views.signInScreen, selling: views.sellingScreen, payment: views.paymentScreen,
  receipt: views.receiptScreen, insecure: views.insecureScreen, failed: views.failedScreen,
};
const MAX_PIN_TRIES = 5;        // offline only; the box keeps its own limits (gateway/cashier_pins.py)
const PIN_LOCKOUT_MS = 30000;

let journal = null;
let sync = null;
let pinFailures = 0;
let pinLockedUntil = 0;
let untrusted = false;   // the browser refused the service worker: this origin is not trusted

const actions = {
  state: () => state,

  async pair(code, name) {
    if (!/^\d{6}$/.test(code)) { update({ notice: "The pairing code has 6 digits." }); return; }
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
        ? "That pairing code is wrong, used or expired. Ask the owner for a new one on the box's admin page."
        : sayWhy(err) });
    }
  },

  async signIn(cashierId, pin) {
    const cashiers = state.catalog ? state.catalog.cashiers : [];
    const cashier = cashiers.length === 1 ? cashiers[0] : cashiers.find((c) => c.cashier_id === cashierId);
    if (!cashiers.length) { update({ notice: "This shop has no cashiers yet. Ask the owner to add one." }); return; }
    if (!cashier) { update({ notice: "Choose your name, then type your PIN." }); return; }
    if (Date.now() < pinLockedUntil) { update({ notice: tooManyPins((pinLockedUntil - Date.now()) / 1000) }); return; }
    let right;
    try {
      right = await pinOnBox(cashier, pin);
      if (right === null && cashier.pin_on_box_only) {
        // An old, short PIN: its hash is not on this tablet (a stolen tablet must not give it away).
        update({ notice: "Your PIN can only be checked by the shop box, which this tablet cannot reach. " +
          "Ask the owner for a new PIN (6 digits or more) so you can sign in without the box." });
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
        update({ notice: sayWhy(err) });   // e.g. this tablet was removed from the box
      } else {
        console.error("PIN check failed", err);
        update({ notice: "This tablet could not check the PIN. Reload the till; if it keeps happening, tell the owner." });
      }
      return;
    }
    if (!right) {
      pinFailures += 1;
      if (pinFailures >= MAX_PIN_TRIES) { pinFailures = 0; pinLockedUntil = Date.now() + PIN_LOCKOUT_MS; }
      update({ notice: "Wrong PIN." });
      return;
    }
    pinFailures = 0;
    const signedIn = { cashier_id: cashier.cashier_id, name: cashier.name };
    sessionStorage.setItem("posline-cashier", JSON.stringify(signedIn));
    update({ cashier: signedIn, notice: "", cart: newCart(crypto.randomUUID()), screen: "selling" });
  },

  signOut() {
    sessionStorage.removeItem("posline-cashier");
    update({ cashier: null, cart: null, screen: "signin" });
  },

  addProduct(product) { update({ cart: addProduct(state.cart, product) }); },
  changeQty(sku, delta) { update({ cart: changeQty(state.cart, sku, delta) }); },
  startPayment() { update({ screen: "payment", tender: "cash", received: "", notice: "" }); },
  setTender(tender) { update({ tender }); },
  setReceived(received) { update({ received }); },
  backToCart() { update({ screen: "selling" }); },

  async completeSale() {
    // The journal write is the whole checkout: no network on this path.
    let completed;
    try {
      const doc = saleDocument({
        cart: state.cart, identity: state.identity, cashierId: state.cashier.cashier_id, tender: state.tender,
        received: parseRupees(state.received), now: new Date(), clockOffsetMs: state.clockOffsetMs,
      });
      completed = await journal.complete(doc);
    } catch (err) {
      // Not saved means not sold: the cart stays as it was, and the cashier is told why in words.
      console.error("sale not saved", err);
      update({ notice: `The sale was NOT saved. ${sayWhy(err)}` });
      return;
    }
    update({ receipt: completed, screen: "receipt", notice: "", unsynced: await journal.countUnsynced() });
    sync.now();
  },

  newSale() { update({ cart: newCart(crypto.randomUUID()), receipt: null, screen: "selling" }); },
  syncNow() { sync.now(); },
};

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
  return `Too many wrong PINs. Try again in ${Math.max(1, Math.ceil(waitS))} seconds.`;
}

// --- rendering ------------------------------------------------------------------

let shown = { screen: null, view: null };

function render(s) {
  const main = document.getElementById("main");
  const screen = untrusted ? "insecure" : s.screen;   // nothing else may show once that is known
  if (shown.screen !== screen) {
    shown = { screen, view: SCREENS[screen](s, actions) };
    main.replaceChildren(shown.view.root);
    const first = main.querySelector("input, button");
    if (first) first.focus({ preventScroll: true });
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
  full.textContent = full.hidden ? "" : views.BOX_FULL_WARNING;
  const signOut = document.getElementById("sign-out");   // absent on screens shown before start-up
  if (signOut) signOut.hidden = !s.cashier || s.screen === "locked";
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
  await navigator.serviceWorker.ready;
  const mark = () => { if (navigator.serviceWorker.controller) document.body.dataset.shell = "cached"; };
  navigator.serviceWorker.addEventListener("controllerchange", mark);
  mark();
}

async function start() {
  if (!window.isSecureContext) {
    // Checked first: every other step below needs what only a secure context has.
    render({ ...state, screen: "insecure" });
    return;
  }
  document.getElementById("header-actions").append(
    h("button", { id: "sync-now", class: "small", onclick: () => actions.syncNow() }, "Sync now"),
    h("button", { id: "sign-out", class: "small", hidden: true, onclick: () => actions.signOut() }, "Sign out"));
  subscribe(render);
  render(state);
  registerServiceWorker().catch((err) => console.warn("no offline shell yet", err));   // only offline reloads need it
  if (!(await holdTabLock())) { update({ screen: "locked" }); return; }
  journal = await openJournal();
  const identity = await journal.getMeta("identity");
  const stored = await journal.getCatalog();
  const cashier = JSON.parse(sessionStorage.getItem("posline-cashier") || "null");
  update({
    identity: identity || null,
    catalog: stored ? stored.catalog : null,
    clockOffsetMs: (await journal.getMeta("clock_offset_ms")) ?? null,
    unsynced: await journal.countUnsynced(),
    cashier: identity && stored ? cashier : null,
    cart: identity && stored && cashier ? newCart(crypto.randomUUID()) : null,
    screen: !identity ? "pairing" : stored && cashier ? "selling" : "signin",
  });
  sync = startSync(journal);
}

start().catch((err) => {
  console.error("the till could not start", err);
  update({ screen: "failed", notice: sayWhy(err) });
  render(state);   // start() may have failed before it subscribed render to the store
});
