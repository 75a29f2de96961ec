// The customers' screens (issue 10): search by name or phone, a new customer, a customer's khata
// (balance, last entries), money received against it, the owner's adjustment, and choosing the
// customer a sale goes on account to. The arithmetic and the box's answers are in khata.js.
import { ctx } from "./context.js";
import { afterPaint, h, onSubmit } from "./dom.js";
import { t } from "./i18n.js";
import { CNIC, PHONE, asOfWords, customerById, phoneDigits, customerDocument, fromBox, khataAdjustmentDocument, khataEntry,
         khataPaymentDocument, matches, ownEntry, record, refreshCustomers, askApproval } from "./khata.js";
import { newId } from "./ids.js";
import { formatRs, parseRupees, westernDigits } from "./money.js";
import { keepCart } from "./parked.js";
import { printOriginal } from "./printing.js";
import { SYNC_WORDS } from "./sales.js";
import { balanceText, documentTime } from "./receipt.js";
import { state, update } from "./store.js";
import { WALLETS, paymentOf } from "./tenders.js";

/** A khata entry's journal state, as the Sales list names it (SYNC_WORDS). */
function syncState(e) {
  return e.pending ? "pending" : e.refused ? "dead" : e.in_cloud ? "in_cloud" : "at_gateway";
}

/** The customer a sale goes on account to, on the cart (kept with it), or null to take them off. */
function setCartCustomer(customer) {
  const cart = { ...state.cart, customer: customer ? { customer_id: customer.customer_id, name: customer.name } : null };
  update({ cart });
  if (state.cashier) keepCart(state.cashier.cashier_id, cart);
}

/**
 * A question before anything is saved: `words`, and buttons [[label, value], ...] (the first the main
 * one). Resolves the value of the button pressed. An alertdialog over the screen, like the owner's approval.
 */
export function askDialog({ title, words, buttons, testid }) {
  return new Promise((resolve) => {
    const choices = buttons.map(([label, value], i) => h("button", { type: "button", class: i === 0 ? "primary big" : "",
      onclick: () => { dialog.remove(); resolve(value); } }, label));
    const box = h("div", { class: "card narrow", role: "alertdialog", "aria-modal": "true", "data-testid": testid,
                           "aria-labelledby": "ask-title", "aria-describedby": "ask-words" },
      h("h2", { id: "ask-title" }, title), h("p", { id: "ask-words" }, words), h("div", { class: "row" }, choices));
    const dialog = h("div", { class: "overlay" }, box);
    document.body.append(dialog);
    choices[0].focus();
  });
}

// The balance the khata screen last showed (the box's answer when it gave one, which can be newer than
// the cached list): the payment screen and its overpayment question go by what the cashier just saw.
let shown = { customerId: null, name: "", balance: 0, fromTheBox: false };

/** The open customer's balance as last shown, else as this tablet knows it (0 when unknown). */
function balanceOf(customerId) {
  if (shown.customerId === customerId) return shown.balance;
  const known = customerById(customerId);
  return known ? known.balance : 0;
}

/** How far past their credit limit a customer is (paisa), 0 within it. */
export function pastLimit(customer) {
  return customer && Number.isInteger(customer.credit_limit) ? Math.max(0, customer.balance - customer.credit_limit) : 0;
}

/** "⚠ Past the limit by Rs 200": the sign is the cue that is not a colour. */
export function pastLimitWords(paisa) {
  return `⚠ ${t("Past the limit by {amount}", { amount: formatRs(paisa) })}`;
}

function saved(err, what) {
  console.error(what, err);
  update({ notice: t("This was NOT saved: this tablet could not store it.") });
}

export const customerActions = {
  /** The customers list; `picking` "payment": choosing whom the sale on the payment screen goes to. */
  openCustomers(picking = null) {
    update({ screen: "customers", picking, notice: "", khataDone: "" });
    refreshCustomers().catch((err) => console.error("customers", err));
  },
  openKhata(customerId) {
    if (state.picking === "payment") {
      setCartCustomer(customerById(customerId));
      update({ screen: "payment", picking: null, notice: "" });
      return;
    }
    update({ screen: "khata", customerId, notice: "", khataDone: "" });
  },
  /** From a khata payment's receipt back to that khata, still saying what was received. */
  backToKhata(customerId) { update({ screen: "khata", customerId, notice: "" }); },
  newCustomerScreen() { update({ screen: "customer-new", notice: "", khataDone: "" }); },
  receivePaymentScreen() { update({ screen: "khata-pay", notice: "", khataDone: "" }); },
  adjustBalanceScreen() { update({ screen: "khata-adjust", notice: "", khataDone: "" }); },
  setCartCustomer,

  async saveCustomer(id, { name, phone, cnic }, anyway = false) {
    name = name.trim();
    phone = westernDigits(phone).trim();
    cnic = westernDigits(cnic).trim();
    if (!name) { update({ notice: t("Type the customer's name.") }); return; }
    if (phone && !PHONE.test(phone)) { update({ notice: t("Type the phone like 0300 1234567.") }); return; }
    if (cnic && !CNIC.test(cnic)) { update({ notice: t("A CNIC has 13 digits, like 35202-1234567-1.") }); return; }
    // Two customers with one phone number are allowed (a family's shared phone), but rarely meant:
    // the cashier opens the one already there, or saves anyway.
    const twin = phone && !anyway && (state.customers || []).find((c) => c.customer_id !== id && c.phone
      && phoneDigits(c.phone) === phoneDigits(phone));
    if (twin) {
      const choice = await askDialog({ testid: "same-phone", title: t("This phone number is known"),
        words: t("{name} already has this phone number.", { name: `\u2068${twin.name}\u2069` }),
        buttons: [[t("Open {name}", { name: twin.name }), "open"], [t("Save anyway"), "save"], [t("Change the phone"), "back"]] });
      if (choice === "open") { customerActions.openKhata(twin.customer_id); return; }
      if (choice === "back") return;
    }
    const settings = (state.catalog && state.catalog.settings) || {};
    let doc;
    try {
      doc = await record(customerDocument({ id, name, phone, cnic, creditLimit: settings.default_credit_limit ?? 500000 }));
    } catch (err) { saved(err, "customer not saved"); return; }
    if (state.picking === "payment") {
      setCartCustomer(doc);
      update({ screen: "payment", picking: null, notice: "" });
    } else {
      update({ screen: "khata", customerId: doc.customer_id, notice: "" });
    }
  },

  /** Money received against the open customer's khata: one tender, the amount handed over, no change. */
  async receivePayment(id, { tender, amountText, reference, wallet, note }) {
    const amount = parseRupees(amountText);
    if (!amount) { update({ notice: t("Type the amount, e.g. 500.") }); return; }
    const customer = customerById(state.customerId);
    // More than they owe is held as an advance: a slip of the finger (99999 for 1800) would leave the
    // drawer short by the difference, so it is asked in words first and nothing is saved until confirmed.
    const owed = Math.max(balanceOf(state.customerId), 0);
    if (amount > owed) {
      const name = `\u2068${customer ? customer.name : ""}\u2069`;   // isolated: an Urdu name in an English sentence
      const choice = await askDialog({ testid: "advance-confirm", title: t("More than the balance"),
        words: `${owed ? t("{name} owes {owed}.", { name, owed: formatRs(owed) }) : t("{name} owes nothing.", { name })} `
          + t("Take {amount}? {advance} will be held as an advance.", { amount: formatRs(amount), advance: formatRs(amount - owed) }),
        buttons: [[t("Confirm"), true], [t("Change amount"), false]] });
      if (!choice) {
        const field = document.getElementById("khata-amount");
        if (field) { field.focus(); field.select(); }
        return;
      }
    }
    const payment = paymentOf({ tender, reference, wallet }, amount, state.link === "online");
    const balanceBefore = balanceOf(state.customerId);
    // The khata screen just shown: the box in reach, its balance was the shop's count; else only what this
    // tablet knew (the slip says so).
    const onScreen = shown.customerId === state.customerId ? shown : null;
    const tabletOnly = !(onScreen && onScreen.fromTheBox);
    let completed;
    try {
      completed = await record(khataPaymentDocument({ id, customerId: state.customerId, payment, note: note.trim(),
                                                      shiftId: state.shift ? state.shift.id : null }));
    } catch (err) { saved(err, "khata payment not saved"); return; }
    // Its receipt, as a sale's: on screen, printed by the box when this tablet has a printer there, the
    // drawer opening for cash. The balance after is the one the cashier was shown, less this payment.
    // Back on the khata, done is said as a status (khataDone), never in the red alert line.
    const name = customer ? customer.name : onScreen ? onScreen.name : "";
    update({ screen: "receipt", receipt: completed, notice: "",
             receiptKhata: { id: completed.id, name, balanceAfter: balanceBefore - amount, tabletOnly },
             khataDone: t("Received {amount} from {name}.", { amount: formatRs(amount), name }) });
    afterPaint(() => printOriginal(completed));
  },

  /** The owner's adjustment: their PIN checked by the box, then the document with its approval. */
  async adjustBalance(id, { sign, amountText, reason, pin }) {
    const paisa = parseRupees(amountText);
    if (!paisa) { update({ notice: t("Type the amount, e.g. 500.") }); return; }
    if (!reason.trim()) { update({ notice: t("Say why the balance changes.") }); return; }
    const amount = sign * paisa;
    const answer = await askApproval(state.customerId, amount, "adjustment", pin);
    if (!answer.approvalId) { update({ notice: answer.problem }); return; }
    try {
      await record(khataAdjustmentDocument({ id, customerId: state.customerId, amount, reason: reason.trim(),
                                             approvalId: answer.approvalId }));
    } catch (err) { saved(err, "khata adjustment not saved"); return; }
    update({ screen: "khata", notice: "", khataDone: t("Balance adjusted.") });
  },

  sellOnAccount() {
    const customer = customerById(state.customerId);
    if (!customer) return;
    setCartCustomer(customer);
    update({ screen: "selling", notice: t("Selling to {name}: choose On account when paying.", { name: customer.name }) });
  },
};

// --- screens -------------------------------------------------------------------------------------

function alertOf(s) {
  return s.notice ? t(s.notice) : "";
}

export function customersScreen(state, actions) {
  const picking = state.picking === "payment";
  const search = h("input", { type: "search", id: "customer-search", "aria-label": t("Search customers"),
                              placeholder: t("Name or phone"), autocomplete: "off" });
  const list = h("ul", { class: "customer-list", "aria-label": t("Customers") });
  const asOf = h("p", { class: "hint" });
  const alert = h("p", { role: "alert", class: "notice" });
  let seen = null;
  function draw(s) {
    seen = s.customers;
    const all = s.customers || [];
    const shown = all.filter((c) => matches(c, search.value));
    list.replaceChildren(...shown.map((c) => h("li", { class: "customer-row", "data-customer-id": c.customer_id },
      h("button", { class: "customer-open", "aria-label": c.name, onclick: () => actions.openKhata(c.customer_id) }, c.name),
      h("bdi", { class: "phone" }, c.phone || ""),
      h("span", { class: "amount", dir: "ltr", "data-paisa": String(c.balance) }, balanceText(c.balance)),
      pastLimit(c) ? h("span", { class: "over-limit", "data-testid": "over-limit" }, pastLimitWords(pastLimit(c))) : null)));
    if (shown.length === 0) list.append(h("li", { class: "hint" }, all.length ? t("No customer matches.") : t("No customers yet.")));
    asOf.textContent = s.link === "online" || s.link === "cloud_offline" ? "" : asOfWords(s.customersAskedAt);
  }
  search.addEventListener("input", () => draw(actions.state()));
  const root = h("div", { class: "card sales customers" },
    h("h1", {}, picking ? t("Choose the customer") : t("Customers")),
    h("div", { class: "toolbar" }, search, h("button", { onclick: () => actions.newCustomerScreen() }, t("New customer"))),
    asOf, alert, list,
    h("button", { class: "link", onclick: () => (picking ? update({ screen: "payment", picking: null, notice: "" })
      : actions.backToCart()) }, picking ? t("Back to payment") : t("Back to selling")));
  function refresh(s) {
    alert.textContent = alertOf(s);
    if (s.customers !== seen) draw(s);
  }
  draw(state);
  refresh(state);
  return { root, update: refresh };
}

export function customerNewScreen(state, actions) {
  const id = newId();   // made when the screen opens: a double tap cannot make two customers
  const name = h("input", { id: "customer-name", autocomplete: "off", maxlength: "100" });
  const phone = h("input", { id: "customer-phone", inputmode: "tel", autocomplete: "off", maxlength: "20" });
  const cnic = h("input", { id: "customer-cnic", inputmode: "numeric", autocomplete: "off", maxlength: "15" });
  const alert = h("p", { role: "alert", class: "notice" });
  const limit = ((state.catalog && state.catalog.settings) || {}).default_credit_limit ?? 500000;
  const button = h("button", { type: "submit", class: "primary big" }, t("Save customer"));
  const form = h("form", { class: "card narrow", onsubmit: onSubmit(button, () => actions.saveCustomer(id,
    { name: name.value, phone: phone.value, cnic: cnic.value })) },
  h("h1", {}, t("New customer")),
  h("label", { for: "customer-name" }, t("Name")), name,
  h("label", { for: "customer-phone" }, t("Phone (optional)")), phone,
  h("p", { class: "hint", id: "customer-phone-hint" }, t("A phone number helps find the customer later.")),
  h("label", { for: "customer-cnic" }, t("CNIC (optional)")), cnic,
  h("p", { class: "hint" }, t("Credit limit {amount}: the owner can change it in the back office.", { amount: formatRs(limit) })),
  button, alert,
  h("button", { type: "button", class: "link", onclick: () => actions.openCustomers(actions.state().picking) }, t("Back to customers")));
  const update = (s) => { alert.textContent = alertOf(s); };
  update(state);
  return { root: form, update };
}

function entryWords(kind) {
  return kind === "sale" ? t("Sale on account") : kind === "refund" ? t("Return on account")
    : kind === "khata_payment" ? t("Payment received") : t("Adjustment");
}

/** A customer's khata: balance, limit, last entries; from the box when it answers, else what this tablet knows. */
export function khataScreen(state, actions) {
  const id = state.customerId;
  const title = h("h1", {});
  const phone = h("p", { class: "hint" });
  const balance = h("p", { class: "total" }, h("span", {}, `${t("Balance")} `), h("bdi", { "data-testid": "khata-balance" }));
  const limit = h("p", { class: "hint" });
  const over = h("p", { class: "over-limit", "data-testid": "khata-over-limit", hidden: true });
  const asOf = h("p", { class: "hint", "data-testid": "khata-as-of" });
  const entries = h("ul", { class: "sales-list khata-entries", "aria-label": t("Khata entries") });
  const alert = h("p", { role: "alert", class: "notice" });
  // aria-live, not role="status": the header's link status is the page's one status.
  const done = h("p", { "aria-live": "polite", class: "done-note", "data-testid": "khata-done" });
  let seen = null;
  let turn = 0;

  /** `fromTheBox`: the box's own answer (a payment's receipt then says the balance after as the shop's
   *  count); `hideAsOf`: no "as of" line (the box is still being asked, or answered). */
  function draw(customer, list, fromTheBox, hideAsOf = fromTheBox) {
    title.textContent = customer.name;
    shown = { customerId: customer.customer_id, name: customer.name, balance: customer.balance, fromTheBox };
    phone.replaceChildren(...(customer.phone ? [`${t("Phone")} `, h("bdi", {}, customer.phone)] : []));
    const figure = balance.lastChild;
    figure.textContent = balanceText(customer.balance);
    figure.dataset.paisa = String(customer.balance);
    limit.textContent = t("Credit limit {amount}", { amount: formatRs(customer.credit_limit || 0) });
    over.hidden = !pastLimit(customer);
    over.textContent = over.hidden ? "" : pastLimitWords(pastLimit(customer));
    asOf.textContent = hideAsOf ? "" : asOfWords(actions.state().customersAskedAt);
    entries.replaceChildren(...list.slice(0, 50).map((e) => h("li", { class: "sale-row khata-entry" },
      h("span", { class: "number" }, e.receipt_number || ""),
      h("span", { class: "time" }, documentTime(e.at)),
      h("span", { class: "what" }, entryWords(e.kind), e.note ? h("small", {}, ` · ${e.note}`) : null),
      h("span", { class: "amount", dir: "ltr", "data-paisa": String(e.amount) }, e.amount > 0 ? `+${formatRs(e.amount)}` : formatRs(e.amount)),
      h("span", { class: `sync sync-${syncState(e)}` }, t(SYNC_WORDS[syncState(e)])))));
    if (list.length === 0) entries.append(h("li", { class: "hint" }, t("No entries yet.")));
  }

  /** What this tablet knows by itself: the cached balance and its own entries (the box's history is
   *  only in that balance). Shown at once, and kept when the box cannot be asked. */
  async function drawLocal(me, hideAsOf) {
    const local = customerById(id, actions.state());
    if (!local) return;
    const rows = await ctx.journal.ofCustomer(id);
    const own = rows.filter((row) => row.state !== "dead" && khataEntry(row.document))
      .map((row) => ownEntry(row.document, row.state === "pending", row.state === "in_cloud")).reverse();
    if (me === turn) draw(local, own, false, hideAsOf);
  }

  async function load() {
    const me = ++turn;
    // While the box is being asked, no "as of" (it would flash up on every screen opened online).
    await drawLocal(me, actions.state().link !== "offline");
    const boxed = await fromBox(id);
    if (me !== turn) return;
    if (boxed) draw(boxed.customer, boxed.entries, true);
    else await drawLocal(me, false);
  }

  const root = h("div", { class: "card sales khata" },
    title, phone, balance, limit, over, asOf, done, alert,
    h("div", { class: "row" },
      h("button", { class: "primary", onclick: () => actions.receivePaymentScreen() }, t("Receive payment")),
      h("button", { onclick: () => actions.adjustBalanceScreen() }, t("Adjust balance")),
      h("button", { onclick: () => actions.sellOnAccount() }, t("Sell on account"))),
    h("h2", {}, t("Last entries")), entries,
    h("button", { class: "link", onclick: () => actions.openCustomers() }, t("Back to customers")));
  function refresh(s) {
    alert.textContent = alertOf(s);
    done.textContent = s.khataDone || "";
    if (s.customers !== seen) {
      seen = s.customers;
      load().catch((err) => console.error("khata", err));
    }
  }
  refresh(state);
  return { root, update: refresh };
}

function backToKhataButton(actions) {
  return h("button", { type: "button", class: "link", onclick: () => actions.openKhata(actions.state().customerId) },
    t("Back to khata"));
}

export function khataPayScreen(state, actions) {
  const id = newId();
  const customer = customerById(state.customerId) || { name: "", balance: 0 };
  let tender = "cash";
  let wallet = "jazzcash";
  const tenders = [["cash", t("Cash")], ["card", t("Card")], ["wallet", t("Wallet")]].map(([code, label]) =>
    h("button", { type: "button", class: "tender", "data-tender": code, onclick: () => { tender = code; draw(); } }, label));
  const wallets = h("div", { class: "wallets", role: "group", "aria-label": t("Wallet service") },
    Object.entries(WALLETS).map(([key, name]) => h("button", { type: "button", class: "tender", "data-wallet": key,
      onclick: () => { wallet = key; draw(); } }, t(name))));
  const amount = h("input", { id: "khata-amount", inputmode: "decimal", autocomplete: "off" });
  const reference = h("input", { id: "khata-reference", autocomplete: "off", maxlength: "64" });
  const referenceRow = h("div", {}, h("label", { for: "khata-reference" }, t("Reference")), reference);
  const note = h("input", { id: "khata-note", autocomplete: "off", maxlength: "200" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary big" }, t("Receive payment"));
  function draw() {
    for (const b of tenders) b.setAttribute("aria-pressed", String(b.dataset.tender === tender));
    for (const b of wallets.children) b.setAttribute("aria-pressed", String(b.dataset.wallet === wallet));
    wallets.hidden = tender !== "wallet";
    referenceRow.hidden = tender === "cash";
  }
  draw();
  const form = h("form", { class: "card narrow", onsubmit: onSubmit(button, () => actions.receivePayment(id,
    { tender, amountText: amount.value, reference: tender === "cash" ? "" : reference.value, wallet, note: note.value })) },
  h("h1", {}, t("Payment from {name}", { name: customer.name })),
  h("p", { class: "hint" }, t("Balance {amount}", { amount: balanceText(balanceOf(state.customerId)) })),
  h("div", { class: "tenders", role: "group", "aria-label": t("Received in") }, tenders), wallets,
  h("label", { for: "khata-amount" }, t("Amount")), amount,
  h("p", { class: "hint" }, t("Type what the customer hands over: no change is given; more than the balance is an advance.")),
  referenceRow,
  h("label", { for: "khata-note" }, t("Note (optional)")), note,
  button, alert, backToKhataButton(actions));
  const update = (s) => { alert.textContent = alertOf(s); };
  update(state);
  return { root: form, update };
}

export function khataAdjustScreen(state, actions) {
  const id = newId();
  const customer = customerById(state.customerId) || { name: "", balance: 0 };
  let sign = 1;
  const signs = [[1, t("Owes more")], [-1, t("Owes less")]].map(([value, label]) =>
    h("button", { type: "button", class: "tender", "data-sign": String(value), onclick: () => { sign = value; draw(); } }, label));
  const amount = h("input", { id: "adjust-amount", inputmode: "decimal", autocomplete: "off" });
  const reason = h("input", { id: "adjust-reason", autocomplete: "off", maxlength: "200" });
  const pin = h("input", { id: "adjust-pin", class: "masked", inputmode: "numeric", autocomplete: "off", maxlength: "12" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary big" }, t("Adjust balance"));
  function draw() { for (const b of signs) b.setAttribute("aria-pressed", String(Number(b.dataset.sign) === sign)); }
  draw();
  const form = h("form", { class: "card narrow", onsubmit: onSubmit(button, () => actions.adjustBalance(id,
    { sign, amountText: amount.value, reason: reason.value, pin: pin.value }), () => { button.disabled = false; pin.value = ""; }) },
  h("h1", {}, t("Adjust {name}'s balance", { name: customer.name })),
  h("p", { class: "hint" }, t("Balance {amount}", { amount: balanceText(customer.balance) })),
  h("div", { class: "tenders", role: "group", "aria-label": t("Adjustment") }, signs),
  h("label", { for: "adjust-amount" }, t("Amount")), amount,
  h("label", { for: "adjust-reason" }, t("Reason")), reason,
  h("label", { for: "adjust-pin" }, t("Owner PIN")), pin,
  h("p", { class: "hint" }, t("Only the owner adjusts a balance: their PIN is checked by the shop box.")),
  button, alert, backToKhataButton(actions));
  const update = (s) => { alert.textContent = alertOf(s); };
  update(state);
  return { root: form, update };
}
