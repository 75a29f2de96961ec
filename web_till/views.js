// Screens. Each builds its DOM once when it opens and returns an update(state) for later
// changes, so typing in a field never loses focus to a redraw.
import { cartTotals } from "./cart.js";
import { settle, receiptNumber } from "./document.js";
import { h, onSubmit } from "./dom.js";
import { formatRs, parseRupees } from "./money.js";

const LINK_TEXT = { online: "Online", cloud_offline: "Cloud offline", offline: "Offline", unknown: "Connecting",
                    box_full: "Shop box full" };

// Shown on every screen while the box cannot keep more documents.
export const BOX_FULL_WARNING = "The shop box's storage is full. Sales stay safe on this tablet and are sent " +
  "when the box has room again; tell the owner.";

export function statusText(state) {
  return `${LINK_TEXT[state.link]} · ${state.unsynced} unsynced`;
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
  const button = h("button", { type: "submit", class: "primary" }, "Pair");
  const form = h("form", {
    class: "card narrow",
    onsubmit: onSubmit(button, () => actions.pair(code.value.trim(), name.value.trim() || "Till")),
  },
  h("h1", {}, "Pair this till"),
  h("p", {}, "Ask the owner for a pairing code. The owner makes one on the shop box's admin page " +
    "(Pair a tablet); scanning its QR code with this tablet fills the code in for you."),
  h("label", { for: "pair-code" }, "Pairing code"), code,
  h("label", { for: "till-name" }, "Till name (optional)"), name,
  button, alert);
  return { root: form, update: (s) => { alert.textContent = s.notice; } };
}

export function signInScreen(state, actions) {
  // With several cashiers the till first asks who is signing in, so it derives one PIN hash
  // (over a million rounds) instead of one per cashier. With one cashier, it is that cashier.
  let chosen = null;
  let drawn = "";
  const cashiers = h("div", { class: "cashiers", role: "group", "aria-label": "Cashier" });
  const who = h("p", { class: "hint" }, "Who is signing in?");
  // type=text with masked glyphs: a password field has no textbox role for assistive tech.
  const pin = h("input", { id: "pin", inputmode: "numeric", autocomplete: "off", class: "masked", maxlength: "12" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const waiting = h("p", { class: "hint" });
  const form = h("form", {
    class: "card narrow",
    onsubmit: onSubmit(button, () => actions.signIn(chosen, pin.value.trim()), () => {
      pin.value = "";
      update(actions.state());
    }),
  },
  h("h1", {}, "Sign in"), who, cashiers,
  h("label", { for: "pin" }, "PIN"), pin, button, waiting, alert);

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
    alert.textContent = s.notice;
    const ready = Boolean(s.catalog);
    const list = ready ? s.catalog.cashiers : [];
    const choosing = list.length > 1;
    cashiers.hidden = who.hidden = !choosing;
    drawCashiers(choosing ? list : []);
    button.disabled = !ready;
    waiting.textContent = ready ? "" : "Waiting for the product list from the gateway…";
  }
  update(state);
  return { root: form, update };
}

export function sellingScreen(state, actions) {
  const search = h("input", { type: "search", id: "search", "aria-label": "Search products",
                               placeholder: "Search products", autocomplete: "off" });
  const grid = h("div", { class: "grid", role: "group", "aria-label": "Products" });
  const lines = h("ul", { class: "lines", "aria-label": "Cart" });
  const total = h("p", { class: "total" });
  const pay = h("button", { class: "primary big", onclick: () => actions.startPayment() }, "Pay");

  function drawGrid() {
    const query = search.value.trim().toLowerCase();
    const products = (state.catalog ? state.catalog.products : []).filter((p) =>
      !query || p.name.toLowerCase().includes(query) || p.sku.toLowerCase().includes(query) || p.barcode === query);
    grid.replaceChildren(...products.map((product) =>
      // The accessible name is the product's name alone; the price is shown beside it.
      h("button", { class: "product", "aria-label": product.name, onclick: () => actions.addProduct(product) },
        h("span", { class: "name" }, product.name), h("span", { class: "price" }, formatRs(product.price)))));
    if (products.length === 0) grid.append(h("p", { class: "hint" }, "No product matches."));
  }
  search.addEventListener("input", drawGrid);
  search.addEventListener("keydown", (event) => {
    // A barcode scanner types the code and Enter: add the single match.
    if (event.key !== "Enter") return;
    const match = grid.querySelectorAll("button.product");
    if (match.length === 1) { match[0].click(); search.value = ""; drawGrid(); }
  });

  function update(s) {
    const priced = s.cart ? s.cart.lines : [];
    lines.replaceChildren(...priced.map((line) => h("li", {},
      h("span", { class: "name" }, line.name),
      h("span", { class: "qty" },
        h("button", { class: "small", "aria-label": `One less ${line.name}`, onclick: () => actions.changeQty(line.sku, -1) }, "−"),
        ` ${line.qty} `,
        h("button", { class: "small", "aria-label": `One more ${line.name}`, onclick: () => actions.changeQty(line.sku, 1) }, "+")),
      h("span", { class: "amount" }, formatRs(line.qty * line.unit_price)))));
    if (priced.length === 0) lines.append(h("li", { class: "hint" }, "Tap a product to add it."));
    const totals = cartTotals(s.cart || { lines: [] });
    total.textContent = `Total ${formatRs(totals.total)}`;
    pay.disabled = totals.items === 0;
  }
  drawGrid();
  update(state);
  const root = h("div", { class: "selling" },
    h("section", { class: "catalog" }, search, grid),
    h("aside", { class: "cart card" }, h("h2", {}, "Cart"), lines, total, pay));
  return { root, update: (s) => { if (s.catalog !== state.catalog) { state = s; drawGrid(); } update(s); } };
}

export function paymentScreen(state, actions) {
  const { total } = cartTotals(state.cart);
  const tenders = ["cash", "card", "wallet"].map((tender) =>
    h("button", { class: "tender", "data-tender": tender, onclick: () => actions.setTender(tender) },
      tender[0].toUpperCase() + tender.slice(1)));
  const received = h("input", { id: "received", inputmode: "decimal", autocomplete: "off",
                                oninput: () => actions.setReceived(received.value) });
  const receivedRow = h("div", {}, h("label", { for: "received" }, "Amount received"), received);
  const change = h("p", { class: "change", "aria-live": "polite" });
  const complete = h("button", { class: "primary big", onclick: () => actions.completeSale() }, "Complete sale");
  const alert = h("p", { role: "alert", class: "notice" });
  function update(s) {
    alert.textContent = s.notice || "";
    for (const button of tenders) button.setAttribute("aria-pressed", String(button.dataset.tender === s.tender));
    receivedRow.hidden = s.tender !== "cash";
    const amount = s.tender === "cash" ? parseRupees(s.received) : null;
    const settled = settle(total, s.tender, amount);
    change.textContent = s.tender !== "cash" ? `${s.tender === "card" ? "Card" : "Wallet"} payment of ${formatRs(total)}`
      : settled ? `Change ${formatRs(settled.change)}` : s.received ? "Not enough received" : "";
    complete.disabled = !settled;
  }
  update(state);
  const root = h("div", { class: "card narrow" },
    h("h1", {}, `Total ${formatRs(total)}`),
    h("div", { class: "tenders", role: "group", "aria-label": "Tender" }, tenders),
    receivedRow, change, complete, alert,
    h("button", { class: "link", onclick: () => actions.backToCart() }, "Back to cart"));
  return { root, update };
}

export function receiptScreen(state, actions) {
  const doc = state.receipt;
  const number = receiptNumber(doc.device_code, doc.seq);
  const root = h("div", { class: "card narrow receipt" },
    h("h1", {}, "Sale complete"),
    h("p", { class: "usin" }, "Receipt ", h("strong", { "data-testid": "receipt-number" }, number)),
    h("p", { class: "hint" }, `${state.identity.shop_name} · ${new Date(doc.created_at).toLocaleString("en-PK")}`),
    h("ul", { class: "lines" }, doc.lines.map((line) => h("li", {},
      h("span", { class: "name" }, `${line.qty} × ${line.name}`), h("span", { class: "amount" }, formatRs(line.amount))))),
    h("p", { class: "total" }, `Total ${formatRs(doc.total)}`),
    h("p", {}, `GST included ${formatRs(doc.tax)}`),
    doc.payments.map((p) => h("p", {}, `${p.tender[0].toUpperCase() + p.tender.slice(1)} ${formatRs(p.amount)}`)),
    h("p", { class: "change" }, `Change ${formatRs(doc.change)}`),
    h("button", { class: "primary big", onclick: () => actions.newSale() }, "New sale"));
  return { root, update: () => {} };
}

export function lockedScreen() {
  const root = h("div", { class: "card narrow" }, h("h1", {}, "POS Line is open in another tab"),
    h("p", {}, "Each tablet sells from one tab. Close this one and use the other."));
  return { root, update: () => {} };
}

export function loadingScreen() {
  return { root: h("p", { class: "hint" }, "Opening the till…"), update: () => {} };
}

export function insecureScreen() {
  // Opened over plain HTTP (or a name the tablet does not trust): the browser withholds Web Crypto,
  // the service worker, Web Locks and persistent storage, so the till would half-work. Say so instead.
  const root = h("div", { class: "card narrow", role: "alert" },
    h("h1", {}, "This tablet is not set up for the till yet"),
    h("p", {}, "The till only works over the shop box's secure address, and this browser does not have a " +
      "secure connection to it. Sales made like this could not be kept safely, so the till will not open here."),
    h("p", {}, "Open the setup page on this tablet, install the box's certificate (one time, about a minute), " +
      "then open the till from the link on that page."),
    h("p", {}, h("a", { class: "button primary big", href: "/setup" }, "Open the setup page")));
  return { root, update: () => {} };
}

export function failedScreen(state) {
  const root = h("div", { class: "card narrow", role: "alert" },
    h("h1", {}, "The till could not open"),
    h("p", {}, state.notice || "Something went wrong while opening the till."),
    h("p", {}, "Your sales on this tablet are safe. Reload the page; if this keeps happening, tell the owner."),
    h("button", { class: "primary big", onclick: () => location.reload() }, "Reload"));
  return { root, update: () => {} };
}

// Past this the cashier is told (the same bound as cloud_api/contract.py CLOCK_SKEW_WARN_MS).
const CLOCK_SKEW_WARN_MS = 5 * 60 * 1000;

/** Words for a tablet whose clock is off from the shop box's, or "" when it is close enough. */
export function clockWarning(offsetMs) {
  if (offsetMs === null || offsetMs === undefined || Math.abs(offsetMs) <= CLOCK_SKEW_WARN_MS) return "";
  const seconds = Math.floor(Math.abs(offsetMs) / 1000);
  const [unit, size] = [["year", 365 * 86400], ["day", 86400], ["hour", 3600], ["minute", 60]]
    .find(([, n]) => seconds >= n);
  const n = Math.floor(seconds / size);
  return `This tablet's clock is ${n} ${unit}${n === 1 ? "" : "s"} ${offsetMs > 0 ? "behind" : "ahead"}. ` +
    "Set the date and time in the tablet's settings. Sales are still filed on the right day.";
}
