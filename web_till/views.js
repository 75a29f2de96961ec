// Screens. Each builds its DOM once when it opens and returns an update(state) for later
// changes, so typing in a field never loses focus to a redraw.
import { h, onSubmit } from "./dom.js";
import { t } from "./i18n.js";

const LINK_TEXT = { online: "Online", cloud_offline: "Cloud offline", offline: "Offline", unknown: "Connecting",
                    box_full: "Shop box full" };

// Shown on every screen while the box cannot keep more documents.
export const BOX_FULL_WARNING = "The shop box's storage is full. Sales stay safe on this tablet and are sent " +
  "when the box has room again; tell the owner.";

export function statusText(state) {
  return `${t(LINK_TEXT[state.link])} · ${t("{n} unsynced", { n: state.unsynced })}`;
}

export function pairingScreen(state, actions) {
  // The QR code on the box's admin page opens https://<box>/#pair=NNNNNN: fill the code in, then
  // take it out of the address so a reload or a bookmark does not carry a spent code.
  const fromLink = /^#pair=(\d{6})$/.exec(location.hash);
  if (fromLink) history.replaceState(null, "", location.pathname + location.search);
  const code = h("input", { id: "pair-code", inputmode: "numeric", autocomplete: "off", maxlength: "6",
                            value: fromLink ? fromLink[1] : undefined });
  const name = h("input", { id: "till-name", value: state.identity ? state.identity.name || "" : "", maxlength: "40" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary" }, t("Pair"));
  const form = h("form", {
    class: "card narrow",
    onsubmit: onSubmit(button, () => actions.pair(code.value.trim(), name.value.trim() || "Till")),
  },
  h("h1", {}, t("Pair this till")),
  h("p", {}, t("Ask the owner for a pairing code. The owner makes one on the shop box's admin page " +
    "(Pair a tablet); scanning its QR code with this tablet fills the code in for you.")),
  h("label", { for: "pair-code" }, t("Pairing code")), code,
  h("label", { for: "till-name" }, t("Till name (optional)")), name,
  button, alert);
  return { root: form, update: (s) => { alert.textContent = s.notice ? t(s.notice) : ""; } };
}

export function signInScreen(state, actions) {
  // With several cashiers the till first asks who is signing in, so it derives one PIN hash
  // (over a million rounds) instead of one per cashier. With one cashier, it is that cashier.
  let chosen = null;
  let drawn = "";
  const cashiers = h("div", { class: "cashiers", role: "group", "aria-label": t("Cashier") });
  const who = h("p", { class: "hint" }, t("Who is signing in?"));
  // type=text with masked glyphs: a password field has no textbox role for assistive tech.
  const pin = h("input", { id: "pin", inputmode: "numeric", autocomplete: "off", class: "masked", maxlength: "12" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary big" }, t("Sign in"));
  const waiting = h("p", { class: "hint" });
  const form = h("form", {
    class: "card narrow",
    onsubmit: onSubmit(button, () => actions.signIn(chosen, pin.value.trim()), () => {
      pin.value = "";
      update(actions.state());
    }),
  },
  h("h1", {}, t("Sign in")), who, cashiers,
  h("label", { for: "pin" }, t("PIN")), pin, pinPad(pin), button, waiting, alert);

  function drawCashiers(list) {
    const key = JSON.stringify(list.map((c) => [c.cashier_id, c.name]));
    if (key === drawn) return;
    drawn = key;
    if (!list.some((c) => c.cashier_id === chosen)) chosen = null;
    cashiers.replaceChildren(...list.map((cashier) =>
      h("button", { type: "button", class: "cashier", "data-cashier": cashier.cashier_id, onclick: () => {
        chosen = cashier.cashier_id;
        pressCashiers();
        pin.focus();
      } }, cashier.name)));
    pressCashiers();
  }
  function pressCashiers() {
    for (const b of cashiers.children) b.setAttribute("aria-pressed", String(b.dataset.cashier === chosen));
  }
  function update(s) {
    alert.textContent = s.notice ? t(s.notice) : "";
    const ready = Boolean(s.catalog);
    const list = ready ? s.catalog.cashiers : [];
    const choosing = list.length > 1;
    cashiers.hidden = who.hidden = !choosing;
    drawCashiers(choosing ? list : []);
    button.disabled = !ready;
    waiting.textContent = ready ? "" : t("Waiting for the product list from the gateway…");
  }
  update(state);
  return { root: form, update };
}

/** Digits on the screen for a tablet with no keyboard; the PIN field still takes typing. */
function pinPad(pin) {
  const press = (key) => () => {
    if (key === "clear") pin.value = "";
    else if (key === "back") pin.value = pin.value.slice(0, -1);
    else if (pin.value.length < 12) pin.value += key;
  };
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back"];
  return h("div", { class: "pinpad", role: "group", "aria-label": t("PIN pad") }, keys.map((key) => h("button", {
    type: "button", class: "key", onclick: press(key),
    "aria-label": key === "clear" ? t("Clear PIN") : key === "back" ? t("Delete last digit") : undefined,
  }, key === "clear" ? "C" : key === "back" ? "⌫" : key)));
}

export function lockedScreen() {
  const root = h("div", { class: "card narrow" }, h("h1", {}, t("POS Line is open in another tab")),
    h("p", {}, t("Each tablet sells from one tab. Close this one and use the other.")));
  return { root, update: () => {} };
}

export function loadingScreen() {
  return { root: h("p", { class: "hint" }, t("Opening the till…")), update: () => {} };
}

export function insecureScreen() {
  // Opened over plain HTTP (or a name the tablet does not trust): the browser withholds Web Crypto,
  // the service worker, Web Locks and persistent storage, so the till would half-work. Say so instead.
  const root = h("div", { class: "card narrow", role: "alert" },
    h("h1", {}, t("This tablet is not set up for the till yet")),
    h("p", {}, t("The till only works over the shop box's secure address, and this browser does not have a " +
      "secure connection to it. Sales made like this could not be kept safely, so the till will not open here.")),
    h("p", {}, t("Open the setup page on this tablet, install the box's certificate (one time, about a minute), " +
      "then open the till from the link on that page.")),
    h("p", {}, h("a", { class: "button primary big", href: "/setup" }, t("Open the setup page"))));
  return { root, update: () => {} };
}

export function failedScreen(state) {
  const root = h("div", { class: "card narrow", role: "alert" },
    h("h1", {}, t("The till could not open")),
    h("p", {}, t(state.notice || "Something went wrong while opening the till.")),
    h("p", {}, t("Your sales on this tablet are safe. Reload the page; if this keeps happening, tell the owner.")),
    h("button", { class: "primary big", onclick: () => location.reload() }, t("Reload")));
  return { root, update: () => {} };
}

// Past this the cashier is told (the same bound as cloud_api/contract.py CLOCK_SKEW_WARN_MS).
const CLOCK_SKEW_WARN_MS = 5 * 60 * 1000;

/** Words for a tablet whose clock is off from the shop box's, or "" when it is close enough. */
export function clockWarning(offsetMs) {
  if (offsetMs === null || offsetMs === undefined || Math.abs(offsetMs) <= CLOCK_SKEW_WARN_MS) return "";
  const seconds = Math.floor(Math.abs(offsetMs) / 1000);
  const [units, size] = [[[t("year"), t("years")], 365 * 86400], [[t("day"), t("days")], 86400],
    [[t("hour"), t("hours")], 3600], [[t("minute"), t("minutes")], 60]].find(([, n]) => seconds >= n);
  const n = Math.floor(seconds / size);
  return t("This tablet's clock is {n} {unit} {way}. " +
    "Set the date and time in the tablet's settings. Sales are still filed on the right day.",
  { n, unit: units[n === 1 ? 0 : 1], way: offsetMs > 0 ? t("behind") : t("ahead") });
}
