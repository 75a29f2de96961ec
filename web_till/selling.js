// The selling screen: the product grid (category tabs, search, stock), the cart (quantities,
// discounts, loose goods, prices changed), park / recall, and Pay. Built once; update() changes
// it in place so a focused field or tile keeps its focus while the till syncs.
import { cartTotals, isLoose, linePrice, pricedLines, staleLines } from "./cart.js";
import { dayToolbar } from "./day.js";
import { h, setChildren } from "./dom.js";
import { saleTerms } from "./fiscal.js";
import { currentLanguage, t } from "./i18n.js";
import { formatQty, parseLoose } from "./loose.js";
import { formatPercent, formatRs, looseAmount, looseQtyForAmount } from "./money.js";
import { quantityInput, readQuantity } from "./quantity.js";
import { lineName as nameOfLine } from "./receipt.js";

/** The name the cashier reads: the Urdu name on an Urdu till when the catalog has one. */
export function productName(product) {
  return currentLanguage() === "ur" && product.name_ur ? product.name_ur : product.name;
}

/** A cart line's name as the cashier reads it: its product's Urdu name on an Urdu till (receipt.js). */
export function lineName(line, catalog) {
  return nameOfLine(line, catalog ? catalog.products : [], currentLanguage());
}

/** "Rs 140/kg" for a loose product ("Rs 140/کلو" in Urdu, as the receipt writes it), "Rs 210" for a piece. */
export function unitPriceText(price, unit) {
  return unit === "kg" || unit === "l" ? `${formatRs(price)}/${t(unit)}` : formatRs(price);
}

/** "250 g × Rs 140/kg": how a loose line reads. */
export function looseLineText(line) {
  return `${formatQty(line.qty, line.unit)} × ${unitPriceText(line.unit_price, line.unit)}`;
}

/** On hand less what this tablet sold and has not yet handed to the box; null when unknown. */
export function onHand(sku, stock, soldHere) {
  if (!stock || stock[sku] === undefined) return null;
  return stock[sku] - ((soldHere && soldHere[sku]) || 0);
}

const KEYS = { pay: "F2" };

export function sellingScreen(state, actions) {
  const seen = { catalog: undefined, cart: undefined, stock: undefined, soldHere: undefined, parked: undefined,
                 shift: undefined };
  let category = "";
  let tiles = [];

  // --- the grid ---------------------------------------------------------------------
  const search = h("input", { type: "search", id: "search", "aria-label": t("Search products"),
                               placeholder: t("Search products"), autocomplete: "off" });
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": t("Categories") });
  const grid = h("div", { class: "grid", role: "group", "aria-label": t("Products") });
  const none = h("p", { class: "hint", hidden: true }, t("No product matches."));
  const parkedButton = h("button", { class: "small", "aria-label": t("Parked sales"), onclick: () => openPanel("parked") });
  const dayButtons = h("span", { class: "day-buttons" });
  const toolbar = h("div", { class: "toolbar" }, search, parkedButton, dayButtons);
  // The day's buttons depend on the open shift (Open shift, or Paid in / Paid out / Close shift).
  function drawDayButtons() {
    dayButtons.replaceChildren(...dayToolbar().map((b) => h("button", { class: "small", onclick: b.onclick }, b.label)));
  }

  function drawGrid(catalog) {
    const products = catalog ? catalog.products : [];
    tiles = products.map((product) => {
      const left = h("span", { class: "left" });
      const low = h("span", { class: "low", hidden: true }, t("Low"));
      const el = h("button", { class: "product", "aria-label": productName(product), onclick: () => choose(product) },
        h("span", { class: "name" }, productName(product)),
        h("span", { class: "price" }, unitPriceText(product.price, product.unit)), h("span", { class: "stock" }, left, low));
      return { product, el, left, low };
    });
    grid.replaceChildren(...tiles.map((tile) => tile.el), none);
    const categories = [...new Set(products.map((p) => p.category).filter(Boolean))].sort();
    if (category && !categories.includes(category)) category = "";
    tabs.hidden = categories.length < 2;
    tabs.replaceChildren(...["", ...categories].map((name) => h("button", {
      role: "tab", class: "tab", "data-category": name, onclick: () => { category = name; filter(); },
    }, name || t("All"))));
    filter();
  }

  function filter() {
    const query = search.value.trim().toLowerCase();
    let shown = 0;
    for (const { product, el } of tiles) {
      const match = (!category || product.category === category) && (!query
        || product.name.toLowerCase().includes(query) || (product.name_ur || "").includes(query)
        || product.sku.toLowerCase().includes(query) || (product.barcode || "").startsWith(query));
      el.hidden = !match;
      if (match) shown += 1;
    }
    none.hidden = shown > 0;
    for (const tab of tabs.children) tab.setAttribute("aria-selected", String(tab.dataset.category === category));
  }

  function drawStock(s) {
    for (const { product, left, low } of tiles) {
      const n = onHand(product.sku, s.stock, s.soldHere);
      left.textContent = n === null ? "" : t("{n} left", { n: isLoose(product) ? formatQty(Math.max(n, 0), product.unit) : n });
      low.hidden = n === null || product.low_stock_at === null || product.low_stock_at === undefined
        || n > product.low_stock_at;
    }
  }

  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    // Enter picks the one product the search leaves (a typed barcode, say).
    if (event.key !== "Enter") return;
    const visible = tiles.filter((tile) => !tile.el.hidden);
    if (visible.length === 1) { choose(visible[0].product); search.value = ""; filter(); }
  });

  function choose(product) {
    if (isLoose(product)) openLoose(product);
    else actions.addProduct(product);
  }

  // --- the cart ---------------------------------------------------------------------
  const lines = h("ul", { class: "lines", "aria-label": t("Cart") });
  const changed = h("div", { class: "changed", "aria-live": "polite", hidden: true },
    h("span", {}, t("Prices changed since this was rung up")),
    h("button", { class: "small", onclick: () => actions.updatePrices() }, t("Update prices")));
  const discountRow = h("p", { class: "discount-total", hidden: true });
  // The customer the sale goes on account to (khata, issue 10), chosen from Customers or at payment.
  const customerLine = h("p", { class: "cart-customer", hidden: true });
  const total = h("p", { class: "total" });
  const alert = h("p", { role: "alert", class: "notice", hidden: true });
  const pay = h("button", { class: "primary big pay", title: `${t("Pay")} (${KEYS.pay})`,
                            onclick: () => actions.startPayment() }, t("Pay"));
  const discountButton = h("button", { onclick: () => openPanel("discount") }, t("Discount"));
  const parkButton = h("button", { onclick: () => actions.park() }, t("Park"));
  const clearButton = h("button", { onclick: () => openPanel("clear") }, t("Clear cart"));
  let editing = null;   // the line whose quantity is being typed

  // Each cart line's row, kept while what it shows is the same: a tap redraws only the rows it changed.
  let rows = new Map();   // line key -> { shows (what the row was drawn from), el }

  function drawLines(s) {
    const cart = s.cart || { lines: [] };
    const priced = pricedLines(cart);
    const stale = new Set(staleLines(cart, s.catalog ? s.catalog.products : []).map((line) => line.key));
    const drawn = new Map();
    const items = cart.lines.map((line, i) => {
      const shows = JSON.stringify([line, priced[i], stale.has(line.key), lineName(line, s.catalog), currentLanguage()]);
      const before = rows.get(line.key);
      const el = before && before.shows === shows && editing !== line.key
        ? before.el : lineItem(line, priced[i], stale.has(line.key), s.catalog);
      drawn.set(line.key, { shows: editing === line.key ? null : shows, el });
      return el;
    });
    rows = drawn;
    if (cart.lines.length === 0) items.push(h("li", { class: "hint" }, t("Tap a product to add it.")));
    changed.hidden = stale.size === 0;
    const totals = cartTotals(cart, saleTerms(s.catalog));
    // The FBR / PRA POS service fee: a row of its own, inside the total, on every sale.
    if (totals.fee) {
      items.push(h("li", { class: "fee" }, h("span", { class: "name" }, t("POS service fee")), h("span", { class: "qty" }),
        h("span", { class: "amount" }, formatRs(totals.fee)), h("span", {})));
    }
    setChildren(lines, items);
    customerLine.hidden = !cart.customer;
    customerLine.replaceChildren(...(cart.customer ? [t("Customer: {name}", { name: cart.customer.name }), " ",
      h("button", { class: "small", onclick: () => actions.setCartCustomer(null) }, t("Remove customer"))] : []));
    discountRow.hidden = totals.discount === 0;
    discountRow.textContent = t("Discount {amount}", { amount: `−${formatRs(totals.discount)}` });
    total.textContent = t("Total {amount}", { amount: formatRs(totals.total) });
    pay.disabled = totals.items === 0;
    discountButton.disabled = parkButton.disabled = clearButton.disabled = cart.lines.length === 0;
  }

  function lineItem(line, priced, stale, catalog) {
    const name = lineName(line, catalog);
    const details = [];
    if (line.unit && line.unit !== "each") details.push(looseLineText(line));
    if (priced.discount) details.push(t("Discount {amount}", { amount: `−${formatRs(priced.discount)}` }));
    if (stale) details.push(t("Rung up at {price}", { price: unitPriceText(line.unit_price, line.unit) }));
    const qty = line.unit && line.unit !== "each"
      ? h("span", { class: "qty" })
      : h("span", { class: "qty" },
        h("button", { class: "step", "aria-label": t("One less {name}", { name }), onclick: () => actions.changeQty(line.key, -1) }, "−"),
        editing === line.key ? qtyInput(line, name) : h("button", {
          class: "count", "aria-label": t("Quantity of {name}", { name }),
          onclick: () => { editing = line.key; drawLines(actions.state()); } }, String(line.qty)),
        h("button", { class: "step", "aria-label": t("One more {name}", { name }), onclick: () => actions.changeQty(line.key, 1) }, "+"));
    return h("li", { class: stale ? "stale" : undefined },
      h("span", { class: "name" }, name, details.length ? h("small", {}, details.join(" · ")) : null),
      qty,
      h("span", { class: "amount" }, formatRs(priced.amount),
        priced.amount !== linePrice(line) ? h("s", { class: "was" }, formatRs(linePrice(line))) : null),
      h("button", { class: "step remove", "aria-label": t("Remove {name}", { name }), onclick: () => actions.removeLine(line.key) }, "×"));
  }

  function qtyInput(line, name) {
    const input = quantityInput({ class: "qty-input", value: String(line.qty),
                                  "aria-label": t("Quantity of {name}", { name }) });
    let done = false;
    const commit = () => {
      if (done) return;
      done = true;
      editing = null;
      const qty = readQuantity(input);
      if (Number.isSafeInteger(qty)) actions.setQty(line.key, qty);
      else drawLines(actions.state());
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); commit(); }
      if (event.key === "Escape") { done = true; editing = null; drawLines(actions.state()); }
    });
    input.addEventListener("blur", commit);
    queueMicrotask(() => { input.focus(); input.select(); });
    return input;
  }

  // --- panels: one at a time, over the cart -------------------------------------------
  const panels = {};
  let loose = null;

  const looseTitle = h("h3", {});
  const looseInput = h("input", { id: "loose", autocomplete: "off", inputmode: "text" });
  const loosePreview = h("p", { class: "hint", "aria-live": "polite" });
  panels.loose = h("form", { class: "sheet", hidden: true, onsubmit: (event) => {
    event.preventDefault();
    const parsed = parseLoose(looseInput.value, loose.unit);
    if (!parsed || !loosePreviewFor(parsed)) { loosePreview.textContent = looseHelp(loose); return; }
    actions.addLoose(loose, parsed);
    closePanels();
  } }, looseTitle, h("label", { for: "loose" }, t("Weight or amount")), looseInput, loosePreview,
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("Add")),
    h("button", { type: "button", onclick: () => closePanels() }, t("Cancel"))));
  looseInput.addEventListener("input", () => {
    if (!loose) return;   // no product chosen yet: nothing to preview
    const parsed = parseLoose(looseInput.value, loose.unit);
    loosePreview.textContent = parsed ? loosePreviewFor(parsed) || looseHelp(loose) : looseHelp(loose);
  });

  function looseHelp(product) {
    return product.unit === "l" ? t("Type the volume (500 ml, 1.5 l) or the rupees asked for (Rs 50).")
      : t("Type the weight (250 g, 1.5 kg) or the rupees asked for (Rs 50).");
  }
  function loosePreviewFor(parsed) {
    const price = loose.price;
    if (parsed.amount !== undefined) {
      const qty = price ? looseQtyForAmount(parsed.amount, price) : 0;
      return qty >= 1 ? `${formatRs(parsed.amount)} = ${formatQty(qty, loose.unit)}` : "";
    }
    return `${formatQty(parsed.qty, loose.unit)} = ${formatRs(looseAmount(parsed.qty, price))}`;
  }
  function openLoose(product) {
    loose = product;
    looseTitle.textContent = `${productName(product)} · ${unitPriceText(product.price, product.unit)}`;
    looseInput.value = "";
    loosePreview.textContent = looseHelp(product);
    openPanel("loose");
  }

  const discountTarget = h("select", { id: "discount-target" });
  const discountInput = h("input", { id: "discount", autocomplete: "off", inputmode: "decimal" });
  const discountLimit = h("p", { class: "hint" });
  panels.discount = h("form", { class: "sheet", hidden: true, onsubmit: (event) => {
    event.preventDefault();
    if (actions.applyDiscount(discountTarget.value || null, discountInput.value)) closePanels();
  } }, h("h3", {}, t("Discount")),
  h("label", { for: "discount-target" }, t("Apply to")), discountTarget,
  h("label", { for: "discount" }, t("Discount")), discountInput,
  h("p", { class: "hint" }, t("An amount (50) or a percent (10%). Empty takes the discount off.")), discountLimit,
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("Apply")),
    h("button", { type: "button", onclick: () => closePanels() }, t("Cancel"))));

  function fillDiscount(s) {
    const cart = s.cart || { lines: [] };
    discountTarget.replaceChildren(h("option", { value: "" }, t("Whole cart")),
      ...cart.lines.map((line) => h("option", { value: line.key }, line.unit && line.unit !== "each"
        ? `${lineName(line, s.catalog)} (${formatQty(line.qty, line.unit)})` : lineName(line, s.catalog))));
    const maxBp = actions.discountLimitBp();
    discountLimit.textContent = maxBp > 0
      ? t("Your limit: {percent} of the price.", { percent: formatPercent(maxBp) })
      : t("You may not give discounts: your limit is none. Ask the owner.");
    discountInput.value = "";
  }

  const clearText = h("p", {});
  panels.clear = h("div", { class: "sheet", hidden: true }, clearText,
    h("div", { class: "row" },
      h("button", { class: "danger", onclick: () => { actions.clearCart(); closePanels(); } }, t("Yes, clear the cart")),
      h("button", { onclick: () => closePanels() }, t("Keep it"))));

  const parkedList = h("ul", { class: "parked" });
  panels.parked = h("div", { class: "sheet", hidden: true }, h("h3", {}, t("Parked sales")), parkedList,
    h("button", { onclick: () => closePanels() }, t("Close")));

  function drawParked(s) {
    const list = s.parked || [];
    parkedButton.textContent = list.length ? `${t("Parked sales")} · ${list.length}` : t("Parked sales");
    parkedList.replaceChildren(...list.map((held) => {
      const when = new Date(held.at).toLocaleTimeString("en-PK", { hour: "2-digit", minute: "2-digit" });
      const what = `${when} · ${held.cashier_name || ""} · ${formatRs(cartTotals(held.cart, saleTerms(s.catalog)).total)}`;
      return h("li", {}, h("span", {}, what, h("small", {}, held.cart.lines.map((l) => lineName(l, s.catalog)).join(currentLanguage() === "ur" ? "، " : ", "))),
        h("button", { "aria-label": t("Recall {what}", { what }), onclick: () => { actions.recall(held.cart.id); closePanels(); } },
          t("Recall")));
    }));
    if (list.length === 0) parkedList.append(h("li", { class: "hint" }, t("No parked sales.")));
  }

  function openPanel(name) {
    const s = actions.state();
    if (name === "discount") fillDiscount(s);
    if (name === "clear") {
      const n = (s.cart || { lines: [] }).lines.length;
      clearText.textContent = n === 1 ? t("Clear the one line from the cart?") : t("Clear all {n} lines from the cart?", { n });
    }
    for (const [key, panel] of Object.entries(panels)) panel.hidden = key !== name;
    const first = panels[name].querySelector("input, select, button");
    if (first) first.focus();
  }
  function closePanels() {
    for (const panel of Object.values(panels)) panel.hidden = true;
  }

  const root = h("div", { class: "selling" },
    h("section", { class: "catalog" }, toolbar, tabs, grid),
    h("aside", { class: "cart card" },
      h("h2", {}, t("Cart")), customerLine, changed, lines, Object.values(panels), alert,
      h("div", { class: "cart-actions" }, discountButton, parkButton, clearButton),
      h("div", { class: "paybar" }, discountRow, total, pay)));
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && Object.values(panels).some((p) => !p.hidden)) { event.preventDefault(); closePanels(); }
  });

  function update(s) {
    if (s.catalog !== seen.catalog) drawGrid(s.catalog);
    if (s.catalog !== seen.catalog || s.stock !== seen.stock || s.soldHere !== seen.soldHere) drawStock(s);
    if (s.cart !== seen.cart || s.catalog !== seen.catalog) drawLines(s);
    if (s.parked !== seen.parked) drawParked(s);
    if (s.shift !== seen.shift) drawDayButtons();
    Object.assign(seen, { catalog: s.catalog, cart: s.cart, stock: s.stock, soldHere: s.soldHere, parked: s.parked,
                          shift: s.shift });
    alert.textContent = s.notice ? t(s.notice) : "";
    alert.hidden = !s.notice;
  }
  /** Shown again (after a receipt, say): as a fresh screen starts, with the grid and the rows it had. */
  function again(s) {
    search.value = "";
    category = "";
    editing = null;
    closePanels();
    tabs.scrollLeft = 0;
    drawDayButtons();   // they depend on the cashier too, who may have changed meanwhile
    filter();
    seen.cart = undefined;   // the cart's rows drawn again from what it holds now
    update(s);
  }

  update(state);
  return { root, update, again };
}
