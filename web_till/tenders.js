// How a sale is paid: one tender or several (split), change only ever from cash. Pure: no DOM.
// A payment is the contract's Payment (cloud_api/contract.py): tender, amount, reference, wallet,
// unverified.

export const WALLETS = { jazzcash: "JazzCash", easypaisa: "Easypaisa", raast: "Raast", bank_transfer: "Bank transfer" };

/** What is still to pay after the payments already taken. */
export function leftToPay(total, payments) {
  return total - payments.reduce((sum, p) => sum + p.amount, 0);
}

/**
 * The payment the tender being taken makes. `entry` is { tender, amount (paisa or null: the rest),
 * reference, wallet }; a wallet taken while the shop is not online is unverified (the cashier checks
 * the customer's wallet message instead).
 */
export function paymentOf(entry, amount, online) {
  const payment = { tender: entry.tender, amount };
  const reference = (entry.reference || "").trim();
  // Cash and credit on the khata (on_account) carry no reference.
  if (entry.tender !== "cash" && entry.tender !== "on_account" && reference) payment.reference = reference.slice(0, 64);
  if (entry.tender === "wallet") {
    payment.wallet = entry.wallet || "jazzcash";
    if (!online) payment.unverified = true;
  }
  return payment;
}

/**
 * The sale's payments and change when `entry` pays what is left, or null when it does not:
 * cash may be more than what is left (the change), a card or wallet pays it exactly.
 */
export function settle(total, payments, entry, online) {
  const rest = leftToPay(total, payments);
  const amount = entry.amount ?? (entry.tender === "cash" ? null : rest);
  if (rest <= 0 || amount === null || amount < rest) return null;
  if (entry.tender === "on_account" && payments.some((p) => p.tender === "on_account")) return null;
  if (entry.tender !== "cash" && amount !== rest) return null;
  return { payments: [...payments, paymentOf(entry, amount, online)], change: amount - rest };
}

/**
 * Take part of what is left with `entry` and leave the rest for another tender (Split):
 * { payment } or { problem } in words.
 */
export function splitOff(total, payments, entry, online) {
  const rest = leftToPay(total, payments);
  const amount = entry.amount;
  if (!amount) return { problem: "Type the amount this tender pays, then Split." };
  if (amount >= rest) return { problem: "That pays all that is left: Complete sale." };
  if (entry.tender === "on_account" && payments.some((p) => p.tender === "on_account")) {
    return { problem: "A sale goes on account once: change the amount on account instead." };
  }
  return { payment: paymentOf(entry, amount, online) };
}

/** The words a tender is shown by. */
export function tenderName(payment) {
  if (payment.tender === "wallet") return WALLETS[payment.wallet] || "Wallet";
  return payment.tender === "card" ? "Card" : payment.tender === "on_account" ? "On account" : "Cash";
}
