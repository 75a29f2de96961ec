// Shifts and cash-up: a drawer's session on this tablet, opened with a counted float, paid in /
// paid out with a reason, closed by counting the cash: the Z-report. Documents mirror
// cloud_api/contract.py (ShiftOpen, ShiftClose, CashMovement); the Z-report is one pure function
// over the shift's documents in this tablet's journal.
import { ctx } from "./context.js";
import { isoWithOffset, receiptNumber } from "./document.js";
import { h, onSubmit } from "./dom.js";
import { t } from "./i18n.js";
import { newId } from "./ids.js";
import { formatRs, parseRupees } from "./money.js";
import { followDrawer, printControls, printZ } from "./printing.js";
import { documentTime } from "./receipt.js";
import { state, update } from "./store.js";
import { confirmUnsynced } from "./unsynced.js";

const TENDERS = ["cash", "card", "wallet", "on_account"];
const MONEY_TENDERS = ["cash", "card", "wallet"];   // what a khata payment is received in

/** The clock offset as documents carry it: an integer or null, never -0 (Math.round of a small negative). */
export function offsetMs(clockOffsetMs) {
  return clockOffsetMs === undefined || clockOffsetMs === null ? null : clockOffsetMs + 0;
}

function header(kind, { id, identity, cashierId, now, clockOffsetMs }) {
  return { id, kind, device_id: identity.device_id, device_code: identity.device_code,
           created_at: isoWithOffset(now), cashier_id: cashierId, clock_offset_ms: offsetMs(clockOffsetMs) };
}

/** A shift_open document (no seq, no hash): its id is the shift's id. Pure. */
export function shiftOpenDocument({ openingFloat, ...who }) {
  return { ...header("shift_open", who), opening_float: openingFloat };
}

/** A cash_movement document: cash paid into ("in") or out of ("out") the drawer, with why. Pure. */
export function cashMovementDocument({ direction, amount, reason, shiftId, ...who }) {
  const doc = { ...header("cash_movement", who), direction, amount, reason };
  if (shiftId) doc.shift_id = shiftId;
  return doc;
}

/** A drawer_open document: the drawer opened without a sale ("Open drawer"), with why. Pure. */
export function drawerOpenDocument({ reason, shiftId, ...who }) {
  const doc = { ...header("drawer_open", who), reason };
  if (shiftId) doc.shift_id = shiftId;
  return doc;
}

/** A shift_close document: the count, what the till expected, the other tenders confirmed. Pure. */
export function shiftCloseDocument({ shiftId, countedCash, expectedCash, confirmed, ...who }) {
  return { ...header("shift_close", who), shift_id: shiftId, counted_cash: countedCash,
           expected_cash: expectedCash, confirmed };
}

/**
 * The Z-report of a shift, from its shift_open and the documents that name it (sales, refunds,
 * cash movements) and, once closed, its shift_close. Pure: the one place these figures are made.
 */
export function zReport(open, documents, close = null) {
  const mine = documents.filter((d) => d.shift_id === open.id && d.kind !== "shift_close");
  const sales = mine.filter((d) => d.kind === "sale");
  const refunds = mine.filter((d) => d.kind === "refund");
  const moves = mine.filter((d) => d.kind === "cash_movement");
  // Khata (issue 10): money customers paid against their balance in this shift, by tender. On-account
  // sales (by_tender.on_account) bring no money: the expected cash leaves them out by construction.
  const khataCollected = Object.fromEntries(MONEY_TENDERS.map((tender) => [tender, 0]));
  for (const paid of mine.filter((d) => d.kind === "khata_payment")) {
    for (const p of paid.payments) khataCollected[p.tender] += p.amount;
  }
  const sum = (list, f) => list.reduce((total, x) => total + f(x), 0);
  const byTender = Object.fromEntries(TENDERS.map((tender) => [tender, 0]));
  for (const sale of sales) {
    for (const p of sale.payments) byTender[p.tender] += p.amount;
    byTender.cash -= sale.change;   // change is only ever given in cash
  }
  for (const refund of refunds) for (const p of refund.payments) byTender[p.tender] -= p.amount;
  const byCashier = {};
  const cashierRow = (id) => (byCashier[id] ||= { sales_count: 0, sales_total: 0, returns_count: 0, returns_total: 0 });
  for (const sale of sales) { cashierRow(sale.cashier_id).sales_count += 1; cashierRow(sale.cashier_id).sales_total += sale.total; }
  for (const r of refunds) { cashierRow(r.cashier_id).returns_count += 1; cashierRow(r.cashier_id).returns_total += r.total; }
  const paidIn = sum(moves.filter((m) => m.direction === "in"), (m) => m.amount);
  const paidOut = sum(moves.filter((m) => m.direction === "out"), (m) => m.amount);
  const expectedCash = open.opening_float + byTender.cash + khataCollected.cash + paidIn - paidOut;
  return {
    shift_id: open.id,
    opened_at: open.created_at,
    closed_at: close ? close.created_at : null,
    opening_float: open.opening_float,
    sales_count: sales.length,
    sales_total: sum(sales, (s) => s.total),
    returns_count: refunds.length,
    returns_total: sum(refunds, (r) => r.total),
    discounts: sum(sales, (s) => s.discount || 0),
    // The FBR / PRA POS fees inside sales_total (never refunded): the shop owes them on to the authority.
    service_fees: sum(sales, (s) => s.service_fee || 0),
    tax: sum(sales, (s) => s.tax) - sum(refunds, (r) => r.tax),
    by_tender: byTender,
    khata_collected: khataCollected,
    by_cashier: byCashier,
    paid_in: paidIn,
    paid_out: paidOut,
    expected_cash: expectedCash,
    counted_cash: close ? close.counted_cash : null,
    over_short: close ? close.counted_cash - expectedCash : null,
    confirmed: close ? close.confirmed : null,
  };
}

// --- journal side -----------------------------------------------------------------------------

/** The open shift on this tablet (the newest shift_open without a matching shift_close, or null),
 *  and whether this tablet has ever opened one (a shop that counts its drawer by shifts). */
export async function restoreShift(journal) {
  const rows = await journal.byKinds(["shift_open", "shift_close"]);
  const closed = new Set(rows.filter((r) => r.document.kind === "shift_close").map((r) => r.document.shift_id));
  const open = rows.filter((r) => r.document.kind === "shift_open" && !closed.has(r.id)).pop();
  return { shift: open ? shiftState(open.document) : null, shiftsUsed: rows.length > 0 };
}

function shiftState(doc) {
  return { id: doc.id, opened_at: doc.created_at, opening_float: doc.opening_float, cashier_id: doc.cashier_id };
}

async function shiftDocuments(shiftId) {
  const rows = await ctx.journal.byKinds(["shift_open", "sale", "refund", "cash_movement", "khata_payment", "shift_close"]);
  const docs = rows.map((r) => r.document);
  return { open: docs.find((d) => d.kind === "shift_open" && d.id === shiftId), docs };
}

function who(id) {
  return { id, identity: state.identity, cashierId: state.cashier.cashier_id, now: new Date(),
           clockOffsetMs: state.clockOffsetMs };
}

async function record(doc) {
  const completed = await ctx.journal.complete(doc);
  update({ unsynced: await ctx.journal.countUnsynced() });
  if (ctx.sync) ctx.sync.now();
  return completed;
}

export const shiftActions = {
  openShiftScreen() { update({ screen: "shift-open", notice: "" }); },
  cashMoveScreen(direction) { update({ screen: "cash-move", cashMove: direction, notice: "" }); },
  closeShiftScreen() { update({ screen: "shift-close", notice: "" }); },

  async openShift(id, countedText) {
    const openingFloat = parseRupees(countedText);
    if (openingFloat === null) { update({ notice: t("Type the cash counted in the drawer, e.g. 5000.") }); return; }
    if (state.shift) { update({ notice: t("A shift is already open on this tablet."), screen: "selling" }); return; }
    try {
      const doc = await record(shiftOpenDocument({ ...who(id), openingFloat }));
      update({ shift: shiftState(doc), shiftsUsed: true, screen: "selling", notice: "" });
    } catch (err) {
      console.error("shift not opened", err);
      update({ notice: t("The shift was NOT opened: this tablet could not save it.") });
    }
  },

  async cashMove(id, direction, amountText, reason) {
    const amount = parseRupees(amountText);
    if (!amount) { update({ notice: t("Type the amount, e.g. 500.") }); return; }
    if (!reason.trim()) { update({ notice: t("Say why the cash moved.") }); return; }
    try {
      await record(cashMovementDocument({ ...who(id), direction, amount, reason: reason.trim(),
                                          shiftId: state.shift ? state.shift.id : null }));
      // Said back, so the cashier knows it counts in the shift's expected cash.
      const words = { amount: formatRs(amount) };
      update({ screen: "selling", notice: direction === "in" ? t("Paid in {amount}: recorded.", words)
        : t("Paid out {amount}: recorded.", words) });
    } catch (err) {
      console.error("cash movement not saved", err);
      update({ notice: t("This was NOT saved: this tablet could not store it.") });
    }
  },

  drawerScreen() { update({ screen: "drawer", notice: "" }); },

  /** "Open drawer": recorded first (the owner sees every opening), then sent; the box kicks the drawer, said once it did. */
  async openDrawer(id, reason) {
    if (!reason.trim()) { update({ notice: t("Say why the drawer is opened.") }); return; }
    try {
      await record(drawerOpenDocument({ ...who(id), reason: reason.trim(), shiftId: state.shift && state.shift.id }));
    } catch (err) {
      console.error("drawer_open not saved", err);
      update({ notice: t("This was NOT saved: this tablet could not store it.") });
      return;
    }
    update({ screen: "selling", notice: t("Opening the drawer…") });
    await ctx.sync.now();
    const row = await ctx.journal.get(id);
    const atBox = Boolean(row && row.state !== "pending");
    const drawer = atBox && state.printer ? await followDrawer(id) : null;
    update({ notice: drawer === "opened" ? t("Drawer opened")
      : drawer ? t("The drawer could not be opened (printer off): open it with its key.")
      // The box has it, but this tablet has no printer there to kick a drawer: nothing is out of reach.
      : atBox && !state.printer ? t("Recorded. This tablet has no printer on the shop box to open the drawer: open it with its key.")
      : t("Recorded, but the drawer could not be opened from here: the shop box or its printer is out of reach. Open it with its key.") });
  },

  async closeShift(id, countedText, cardText, walletText) {
    const counted = parseRupees(countedText);
    const card = parseRupees(cardText || "0");
    const wallet = parseRupees(walletText || "0");
    if (counted === null || card === null || wallet === null) {
      update({ notice: t("Type the cash counted in the drawer, and the card and wallet totals.") });
      return;
    }
    if (!(await confirmUnsynced(t("Close shift anyway")))) return;
    try {
      const { open, docs } = await shiftDocuments(state.shift.id);
      const expected = zReport(open, docs).expected_cash;
      const close = await record(shiftCloseDocument({ ...who(id), shiftId: open.id, countedCash: counted,
                                                      expectedCash: expected, confirmed: { card, wallet } }));
      update({ shift: null, zReport: { report: zReport(open, docs, close), close }, screen: "z-report", notice: "" });
      printZ(open.id);
    } catch (err) {
      console.error("shift not closed", err);
      update({ notice: t("The shift was NOT closed: this tablet could not save it.") });
    }
  },
};

// --- screens -------------------------------------------------------------------------------------

function backButton(actions) {
  return h("button", { type: "button", class: "link", onclick: () => actions.backToCart() }, t("Back to selling"));
}

export function shiftOpenScreen(state, actions) {
  const id = newId();   // made when the screen opens: a double tap cannot open two shifts
  const counted = h("input", { id: "opening-float", inputmode: "decimal", autocomplete: "off" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary big" }, t("Open shift"));
  const form = h("form", { class: "card narrow", onsubmit: onSubmit(button, () => actions.openShift(id, counted.value)) },
    h("h1", {}, t("Open a shift")),
    h("p", { class: "hint" }, t("Count the cash in the drawer (the float) and type it.")),
    h("label", { for: "opening-float" }, t("Counted cash")), counted, button, alert, backButton(actions));
  const update = (s) => { alert.textContent = s.notice ? t(s.notice) : ""; };
  update(state);
  return { root: form, update };
}

export function cashMoveScreen(state, actions) {
  const id = newId();
  const direction = state.cashMove === "in" ? "in" : "out";
  const title = direction === "in" ? t("Paid in") : t("Paid out");
  const amount = h("input", { id: "move-amount", inputmode: "decimal", autocomplete: "off" });
  const reason = h("input", { id: "move-reason", autocomplete: "off", maxlength: "200" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary big" }, title);
  const form = h("form", { class: "card narrow",
    onsubmit: onSubmit(button, () => actions.cashMove(id, direction, amount.value, reason.value)) },
  h("h1", {}, title),
  h("label", { for: "move-amount" }, t("Amount")), amount,
  h("label", { for: "move-reason" }, t("Reason")), reason, button, alert, backButton(actions));
  const update = (s) => { alert.textContent = s.notice ? t(s.notice) : ""; };
  update(state);
  return { root: form, update };
}

const DRAWER_REASONS = () => [t("Change for a customer"), t("Check the float"), t("Correct a customer's change")];

export function drawerScreen(state, actions) {
  const id = newId();
  const reason = h("input", { id: "drawer-reason", autocomplete: "off", maxlength: "200" });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary big" }, t("Open drawer"));
  const form = h("form", { class: "card narrow", onsubmit: onSubmit(button, () => actions.openDrawer(id, reason.value)) },
    h("h1", {}, t("Open drawer")),
    h("div", { class: "quick" }, DRAWER_REASONS().map((why) => h("button", { type: "button", onclick: () => { reason.value = why; } }, why))),
    h("label", { for: "drawer-reason" }, t("Reason")), reason, button, alert, backButton(actions));
  const update = (s) => { alert.textContent = s.notice ? t(s.notice) : ""; };
  update(state);
  return { root: form, update };
}

export function shiftCloseScreen(state, actions) {
  const id = newId();
  const counted = h("input", { id: "counted-cash", inputmode: "decimal", autocomplete: "off" });
  const card = h("input", { id: "confirm-card", inputmode: "decimal", autocomplete: "off" });
  const wallet = h("input", { id: "confirm-wallet", inputmode: "decimal", autocomplete: "off" });
  const cardHint = h("span", { class: "hint" });
  const walletHint = h("span", { class: "hint" });
  const khataNote = h("p", { class: "hint shift-note", "data-testid": "close-khata-note", hidden: true });
  const alert = h("p", { role: "alert", class: "notice" });
  const button = h("button", { type: "submit", class: "primary big" }, t("Close shift"));
  // The till's card and wallet figures, for the cashier to confirm against the terminal and the
  // wallets' statements. The expected cash is not shown: the drawer is counted blind.
  if (state.shift) {
    shiftDocuments(state.shift.id).then(({ open, docs }) => {
      const report = zReport(open, docs);
      // Khata payments by card or wallet went through the same terminal and wallets.
      const cardTotal = report.by_tender.card + report.khata_collected.card;
      const walletTotal = report.by_tender.wallet + report.khata_collected.wallet;
      card.value = String(cardTotal / 100);
      wallet.value = String(walletTotal / 100);
      cardHint.textContent = ` ${t("This till: {a}", { a: formatRs(cardTotal) })}`;
      walletHint.textContent = ` ${t("This till: {a}", { a: formatRs(walletTotal) })}`;
      // The cashier compares these with the terminal and the wallets: say what in them is not sales.
      const { card: khataCard, wallet: khataWallet } = report.khata_collected;
      khataNote.hidden = !(khataCard || khataWallet);
      khataNote.textContent = khataNote.hidden ? ""
        : t("These card and wallet totals include khata payments received: card {card}, wallet {wallet}.",
          { card: formatRs(khataCard), wallet: formatRs(khataWallet) });
    }).catch((err) => console.error("shift figures", err));
  }
  const form = h("form", { class: "card narrow",
    onsubmit: onSubmit(button, () => actions.closeShift(id, counted.value, card.value, wallet.value)) },
  h("h1", {}, t("Close the shift")),
  h("p", { class: "hint" }, t("Count the cash in the drawer and type it. Check the card and wallet totals.")),
  h("label", { for: "counted-cash" }, t("Counted cash")), counted,
  h("label", { for: "confirm-card" }, t("Card total"), cardHint), card,
  h("label", { for: "confirm-wallet" }, t("Wallet total"), walletHint), wallet, khataNote,
  button, alert, backButton(actions));
  const update = (s) => { alert.textContent = s.notice ? t(s.notice) : ""; };
  update(state);
  return { root: form, update };
}

function figure(label, testId, paisa) {
  return h("div", { class: "slip-row" }, h("span", {}, label),
    h("span", { class: "slip-amount", "data-testid": testId, "data-paisa": String(paisa) }, formatRs(paisa)));
}

/** The Z-report's slip (printed through print.css like a receipt). */
export function drawZReport(report, { shopName, deviceCode, number, cashierNames }) {
  const count = (label, testId, n) => h("div", { class: "slip-row" }, h("span", {}, label),
    h("span", { class: "slip-amount", "data-testid": testId }, String(n)));
  return h("div", { class: "slip", "aria-label": t("Z-report") },
    h("div", { class: "slip-head" }, h("p", { class: "slip-mark" }, t("Z-REPORT")), h("p", { class: "slip-shop" }, shopName),
      h("p", {}, `${t("Till")} ${deviceCode} · ${number}`),
      h("p", {}, `${documentTime(report.opened_at)} – ${documentTime(report.closed_at)}`)),
    h("div", { class: "slip-block" },
      count(t("Sales"), "z-sales-count", report.sales_count),
      figure(t("Sales total"), "z-sales-total", report.sales_total),
      count(t("Returns"), "z-returns-count", report.returns_count),
      figure(t("Returns total"), "z-returns-total", report.returns_total),
      figure(t("Discounts"), "z-discounts", report.discounts),
      report.service_fees ? figure(t("POS service fee"), "z-service-fees", report.service_fees) : null,
      figure(t("GST"), "z-tax", report.tax)),
    h("div", { class: "slip-block" }, h("p", {}, t("By tender")),
      figure(t("Cash"), "z-tender-cash", report.by_tender.cash),
      figure(t("Card"), "z-tender-card", report.by_tender.card),
      figure(t("Wallet"), "z-tender-wallet", report.by_tender.wallet),
      figure(t("On account"), "z-tender-on-account", report.by_tender.on_account)),
    h("div", { class: "slip-block" }, h("p", {}, t("Khata payments received")),
      figure(t("Cash"), "z-khata-cash", report.khata_collected.cash),
      figure(t("Card"), "z-khata-card", report.khata_collected.card),
      figure(t("Wallet"), "z-khata-wallet", report.khata_collected.wallet)),
    h("div", { class: "slip-block" }, h("p", {}, t("By cashier")),
      Object.entries(report.by_cashier).map(([id, row]) => h("div", { class: "slip-row" },
        h("span", {}, `${cashierNames(id)}: ${row.sales_count} ${row.sales_count === 1 ? t("sale") : t("sales")}${t(", ")}`
          + `${row.returns_count} ${row.returns_count === 1 ? t("return") : t("returns")}`),
        h("span", { class: "slip-amount" }, formatRs(row.sales_total - row.returns_total))))),
    h("div", { class: "slip-block" },
      figure(t("Opening float"), "z-float", report.opening_float),
      figure(t("Paid in"), "z-paid-in", report.paid_in),
      figure(t("Paid out"), "z-paid-out", report.paid_out),
      figure(t("Expected cash"), "z-expected-cash", report.expected_cash),
      figure(t("Counted cash"), "z-counted-cash", report.counted_cash),
      h("div", { class: "slip-row slip-total" },
        h("span", { "data-testid": "over-short-word" }, overShortWord(report.over_short)),
        h("span", { class: "slip-amount", "data-testid": "z-over-short", "data-paisa": String(report.over_short) },
          formatRs(Math.abs(report.over_short)))),
      report.confirmed ? h("p", { class: "slip-sub" },
        t("Confirmed: card {c}, wallet {w}", { c: formatRs(report.confirmed.card || 0), w: formatRs(report.confirmed.wallet || 0) }))
        : null));
}

/** The drawer against what it should hold: over, short, or matching. The amount beside it is always
 *  written without a sign ("Short Rs 40", not "Short -Rs 40"); the word says which way. */
export function overShortWord(paisa) {
  if (paisa > 0) return t("Over");
  return paisa < 0 ? t("Short") : t("Cash matches");
}

export function zReportScreen(state, actions) {
  const { report, close } = state.zReport;
  const names = (id) => {
    const c = ((state.catalog && state.catalog.cashiers) || []).find((x) => x.cashier_id === id);
    return c ? c.name : id;
  };
  const slip = drawZReport(report, { shopName: (state.identity && state.identity.shop_name) || "",
    deviceCode: close.device_code, number: receiptNumber(close.device_code, close.seq), cashierNames: names });
  const print = printControls(report.shift_id, () => printZ(report.shift_id));
  const root = h("div", { class: "card narrow printable" },
    h("h1", { class: "no-print" }, t("Shift closed")), print.said, slip, print.button,
    h("button", { class: "primary big no-print", onclick: () => actions.backToCart() }, t("Done")));
  return { root, update: print.refresh };
}
