// The payment screen: cash (quick amounts, change), card and wallet (reference), split across
// several tenders. What pays what is worked out in tenders.js; this only shows it.
import { cartTotals, staleLines } from "./cart.js";
import { h } from "./dom.js";
import { saleTerms, tendersOf } from "./fiscal.js";
import { customerById } from "./khata.js";
import { t } from "./i18n.js";
import { formatPercent, formatRs, parseRupees } from "./money.js";
import { WALLETS, leftToPay, settle, tenderName } from "./tenders.js";

export const OFFLINE_WALLET = "Check the customer's wallet message: the shop is offline";
const QUICK = [50000, 100000, 500000];

/** The tender being taken, from the payment screen's fields in the store. */
/** A name set apart (first-strong isolate): an Urdu name inside an English sentence keeps its place. */
const isolated = (name) => `\u2068${name}\u2069`;

export function currentEntry(s) {
  const typed = s.tender === "cash" ? s.received : s.tenderAmount;
  return { tender: s.tender, amount: typed && typed.trim() ? parseRupees(typed) : null,
           reference: s.reference, wallet: s.wallet };
}

export function paymentScreen(state, actions) {
  const title = h("h1", {});
  const summary = h("p", { class: "hint" });
  const taxLine = h("p", { class: "tender-tax", "aria-live": "polite", hidden: true });
  const changed = h("p", { class: "warning-inline", hidden: true }, t("Prices changed since this was rung up"));
  const taken = h("ul", { class: "taken", "aria-label": t("Payments") });
  const left = h("p", { class: "left-to-pay" });
  const tenders = ["cash", "card", "wallet", "on_account"].map((tender) => h("button", {
    class: "tender", "data-tender": tender, title: tender === "cash" ? `${t("Cash")} (F4)` : undefined,
    onclick: () => actions.setTender(tender),
  }, t(tenderName({ tender }))));
  // On account: the sale goes on a customer's khata; the customer is chosen from the same search.
  const customerName = h("span", { class: "customer-name" });
  const chooseCustomer = h("button", { class: "small", onclick: () => actions.openCustomers("payment") });
  const customerRow = h("p", { class: "field customer-row" }, customerName, " ", chooseCustomer);
  // Before Complete: what the customer owes now and what is left of their credit limit (as this tablet knows).
  const khataLine = h("p", { class: "hint khata-standing", "data-testid": "pay-khata-standing", hidden: true });
  const wallets = h("div", { class: "wallets", role: "group", "aria-label": t("Wallet service") },
    Object.entries(WALLETS).map(([key, name]) => h("button", {
      class: "tender", "data-wallet": key, onclick: () => actions.setWallet(key) }, t(name))));

  const received = h("input", { id: "received", inputmode: "decimal", autocomplete: "off",
                                oninput: () => actions.setReceived(received.value) });
  const quick = h("div", { class: "quick" },
    h("button", { onclick: () => actions.setReceived(String(actions.leftToPay() / 100)) }, t("Exact")),
    QUICK.map((paisa) => h("button", { onclick: () => actions.setReceived(String(paisa / 100)) }, formatRs(paisa))));
  const cashRow = h("div", { class: "field" }, h("label", { for: "received" }, t("Amount received")), received, quick);

  const amount = h("input", { id: "tender-amount", inputmode: "decimal", autocomplete: "off",
                              oninput: () => actions.setTenderAmount(amount.value) });
  const amountRow = h("div", { class: "field" }, h("label", { for: "tender-amount" }, t("Amount")), amount);
  const reference = h("input", { id: "reference", autocomplete: "off", maxlength: "64",
                                 oninput: () => actions.setReference(reference.value) });
  const referenceHint = h("p", { class: "hint" });
  const referenceRow = h("div", { class: "field" }, h("label", { for: "reference" }, t("Reference")), reference, referenceHint);
  const offline = h("p", { class: "warning-inline", hidden: true }, t(OFFLINE_WALLET));

  const change = h("p", { class: "change", "aria-live": "polite" });
  const split = h("button", { onclick: () => actions.splitTender() }, t("Split"));
  const complete = h("button", { class: "primary big", title: `${t("Complete sale")} (F9, Ctrl+Enter)`,
                                 onclick: () => actions.completeSale() }, t("Complete sale"));
  const alert = h("p", { role: "alert", class: "notice", hidden: true });
  // A tablet that counts its drawer by shifts, selling with none open: this sale is in no Z-report.
  // Said, not refused (the sale is the shop's, shift or not), so the cashier can open one first.
  const noShift = h("p", { class: "warning-inline", "data-testid": "pay-no-shift", hidden: true },
    t("No shift is open: this sale will be in no shift's Z-report. Open a shift first to count it in one."));

  function sync(input, value) {
    // What the cashier types is already the store's value; only a quick button or a split changes it.
    if (input.value !== (value || "")) input.value = value || "";
  }

  function update(s) {
    const cart = s.cart || { lines: [] };
    const payments = s.splits || [];
    // A shop that taxes by tender (PRA) charges the rate of the tenders taken and the one being taken.
    const terms = saleTerms(s.catalog, tendersOf(payments, s.tender));
    const totals = cartTotals(cart, terms);
    const rest = leftToPay(totals.total, payments);
    title.textContent = t("Total {amount}", { amount: formatRs(totals.total) });
    summary.textContent = [totals.discount ? t("Discount {amount} included", { amount: formatRs(totals.discount) }) : "",
      totals.fee ? t("POS service fee {amount} included", { amount: formatRs(totals.fee) }) : ""].filter(Boolean).join(" · ");
    taxLine.hidden = terms.gstBp === null;
    taxLine.textContent = taxLine.hidden ? ""
      : t("GST {amount} at {percent} for this tender", { amount: formatRs(totals.tax), percent: formatPercent(terms.gstBp) });
    changed.hidden = staleLines(cart, s.catalog ? s.catalog.products : []).length === 0;
    taken.replaceChildren(...payments.map((p, i) => h("li", {},
      h("span", {}, `${t(tenderName(p))} ${formatRs(p.amount)}${p.reference ? ` · ${p.reference}` : ""}`
        + (p.unverified ? ` · ${t("unverified")}` : "")),
      h("button", { class: "small", "aria-label": t("Take off {what}", { what: `${t(tenderName(p))} ${formatRs(p.amount)}` }),
                    onclick: () => actions.removeSplit(i) }, "×"))));
    left.hidden = payments.length === 0;
    left.textContent = t("Left to pay {amount}", { amount: formatRs(rest) });
    for (const button of tenders) button.setAttribute("aria-pressed", String(button.dataset.tender === s.tender));
    for (const button of wallets.children) button.setAttribute("aria-pressed", String(button.dataset.wallet === s.wallet));
    wallets.hidden = s.tender !== "wallet";
    cashRow.hidden = s.tender !== "cash";
    amountRow.hidden = s.tender === "cash";
    referenceRow.hidden = s.tender === "cash" || s.tender === "on_account";
    const customer = cart.customer;
    customerRow.hidden = !(s.tender === "on_account" || payments.some((p) => p.tender === "on_account"));
    customerName.textContent = customer ? t("Customer: {name}", { name: customer.name }) : t("No customer chosen");
    chooseCustomer.textContent = customer ? t("Change customer") : t("Choose customer");
    const known = customer && !customerRow.hidden ? customerById(customer.customer_id, s) : null;
    khataLine.hidden = !known;
    khataLine.textContent = !known ? "" : known.balance > known.credit_limit
      ? t("Owes {balance} now; already past their credit limit of {limit}.", { balance: formatRs(known.balance), limit: formatRs(known.credit_limit) })
      : t("Owes {balance} now; {left} left of their credit limit of {limit}.", { balance: formatRs(known.balance),
        left: formatRs(known.credit_limit - known.balance), limit: formatRs(known.credit_limit) });
    amount.placeholder = formatRs(rest);
    referenceHint.textContent = s.tender === "card" ? t("The approval code on the card terminal's slip.")
      : t("The transaction id in the customer's wallet message.");
    offline.hidden = !(s.tender === "wallet" && s.link !== "online");
    sync(received, s.received);
    sync(amount, s.tenderAmount);
    sync(reference, s.reference);

    const entry = currentEntry(s);
    const settled = settle(totals.total, payments, entry, s.link === "online");
    if (s.tender === "cash") {
      change.textContent = settled ? t("Change {amount}", { amount: formatRs(settled.change) })
        : s.received ? t("Not enough received") : "";
    } else if (entry.amount !== null && entry.amount > rest) {
      change.textContent = t("A card or wallet pays at most what is left: {amount}", { amount: formatRs(rest) });
    } else if (s.tender === "on_account") {
      // Credit, not a payment: the amount goes on the customer's khata.
      change.textContent = customer ? t("{amount} on {name}'s khata", { amount: formatRs(entry.amount ?? rest), name: isolated(customer.name) })
        : t("{amount} on a customer's khata: choose the customer", { amount: formatRs(entry.amount ?? rest) });
    } else {
      change.textContent = t("{tender} payment of {amount}", { tender: t(tenderName({ tender: s.tender })),
                                                               amount: formatRs(entry.amount ?? rest) });
    }
    complete.disabled = !settled || (settled.payments.some((p) => p.tender === "on_account") && !customer);
    split.disabled = !(entry.amount > 0 && entry.amount < rest);
    alert.textContent = s.notice ? t(s.notice) : "";
    alert.hidden = !s.notice;
    noShift.hidden = !(s.shiftsUsed && !s.shift);
  }
  update(state);
  const root = h("div", { class: "card narrow payment" },
    title, summary, noShift, taxLine, changed, taken, left,
    h("div", { class: "tenders", role: "group", "aria-label": t("Tender") }, tenders),
    wallets, customerRow, khataLine, cashRow, amountRow, referenceRow, offline, change,
    h("div", { class: "row" }, split), complete, alert,
    h("button", { class: "link", title: "Esc", onclick: () => actions.backToCart() }, t("Back to cart")));
  return { root, update };
}
