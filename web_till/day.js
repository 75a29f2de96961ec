// The counter's day beyond one sale: sales list, reprints, returns, shifts and cash-up.
// app.js merges these screens and actions into its own (see SCREENS and actions there).
import { ctx } from "./context.js";
import { refreshCustomers } from "./khata.js";
import { customerActions, customerNewScreen, customersScreen, khataAdjustScreen, khataPayScreen, khataScreen } from "./customers.js";
import { t } from "./i18n.js";
import { returnActions, returnScreen } from "./returns.js";
import { receiptScreen, reprintScreen, salesActions, salesScreen } from "./sales.js";
import { cashMoveScreen, drawerScreen, restoreShift, shiftActions, shiftCloseScreen, shiftOpenScreen, zReportScreen } from "./shift.js";
import { state, subscribe, update } from "./store.js";
import { confirmUnsynced } from "./unsynced.js";

export const dayScreens = {
  receipt: receiptScreen, reprint: reprintScreen, sales: salesScreen, return: returnScreen,
  "shift-open": shiftOpenScreen, "cash-move": cashMoveScreen, "shift-close": shiftCloseScreen, "z-report": zReportScreen,
  drawer: drawerScreen,
  customers: customersScreen, "customer-new": customerNewScreen, khata: khataScreen, "khata-pay": khataPayScreen,
  "khata-adjust": khataAdjustScreen,
};

export const dayActions = { ...salesActions, ...returnActions, ...shiftActions, ...customerActions };

// Buttons this module adds to the selling screen's toolbar: [{ label, onclick }]. Read when the
// selling screen is drawn; every shift action passes through a screen of its own and back.
export function dayToolbar() {
  const buttons = [{ label: t("Sales"), onclick: () => dayActions.openSales() },
                   { label: t("Customers"), onclick: () => dayActions.openCustomers() }];
  if (state.shift) {
    buttons.push({ label: t("Paid in"), onclick: () => dayActions.cashMoveScreen("in") },
                 { label: t("Paid out"), onclick: () => dayActions.cashMoveScreen("out") },
                 { label: t("Close shift"), onclick: () => dayActions.closeShiftScreen() });
    // The drawer is the shift's: only its cashier opens it without a sale.
    if (state.cashier && state.cashier.cashier_id === state.shift.cashier_id) {
      buttons.push({ label: t("Open drawer"), onclick: () => dayActions.drawerScreen() });
    }
  } else {
    buttons.push({ label: t("Open shift"), onclick: () => dayActions.openShiftScreen() });
  }
  return buttons;
}

/** Asked by app.js's signOut: false keeps the cashier signed in (documents not yet at the box). */
export function beforeSignOut() {
  return confirmUnsynced(t("Sign out anyway"));
}

// The open shift comes back from the journal once app.js has opened it (a reload keeps the shift).
let restoring = false;
const stopWatching = subscribe(() => {
  if (restoring || !ctx.journal) return;
  restoring = true;
  stopWatching();
  restoreShift(ctx.journal).then(update).catch((err) => console.error("the open shift could not be read", err));
  // The customers this tablet knows, for receipts and the credit check before the box is heard from.
  refreshCustomers().catch((err) => console.error("the customers could not be read", err));
});
