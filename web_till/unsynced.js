// Before a cashier leaves (closes a shift, signs out) with documents not yet at the shop box: say
// so in words, offer "Sync now" with the count going down, and let them go on anyway. The
// documents are safe on this tablet either way; this is about the owner seeing them sooner.
// Counted here: documents still pending on this tablet (those at the box reach the cloud without it).
import { ctx } from "./context.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { state, update } from "./store.js";

const SYNC_WAIT_MS = 20000;

export function unsyncedWords(n) {
  return n === 1
    ? t("1 sale or record is not yet at the shop box. It is safe on this tablet and is sent when the box can be reached.")
    : t("{n} sales and records are not yet at the shop box. They are safe on this tablet and are sent when the box can be reached.", { n });
}

/** The rest of the status badge's "unsynced": at the box already, on their way to the cloud from there.
 *  So the dialog's counts add up to the badge's ("Offline · 5 unsynced": 3 here, 2 at the box). */
export function atBoxWords(n) {
  return n === 1
    ? t("1 more is at the shop box and goes on to the cloud from there.")
    : t("{n} more are at the shop box and go on to the cloud from there.", { n });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true to go on, false to stay. Asks only while something is not yet at the box. */
export async function confirmUnsynced(goOnLabel) {
  if (!ctx.journal || !(state.unsynced > 0)) return true;
  let [pending, atBox] = await ctx.journal.countUnsyncedParts();
  if (pending === 0) return true;
  return new Promise((resolve) => {
    const words = h("p", { id: "unsynced-words" });
    const progress = h("p", { class: "hint", role: "status", "aria-live": "polite" });
    const syncButton = h("button", { type: "button", class: "primary big", onclick: syncNow }, t("Sync now"));
    const goOn = h("button", { type: "button", class: "big", onclick: () => done(true) }, goOnLabel);
    const stay = h("button", { type: "button", class: "link", onclick: () => done(false) }, t("Cancel"));
    const dialog = h("div", { class: "overlay" }, h("div", {
      class: "card narrow", role: "alertdialog", "aria-modal": "true", "aria-labelledby": "unsynced-title",
      "aria-describedby": "unsynced-words" },
    h("h2", { id: "unsynced-title" }, t("Not yet at the shop box")), words, progress, syncButton, goOn, stay));
    const draw = () => {
      words.textContent = pending > 0 ? unsyncedWords(pending) + (atBox > 0 ? ` ${atBoxWords(atBox)}` : "")
        : atBox === 1 ? t("Everything is at the shop box; 1 goes on to the cloud from there.")
          : atBox > 1 ? t("Everything is at the shop box; {n} go on to the cloud from there.", { n: atBox })
            : t("Everything is at the shop box.");
      goOn.classList.toggle("primary", pending === 0);
    };
    draw();
    document.body.append(dialog);
    syncButton.focus();

    async function recount() {
      [pending, atBox] = await ctx.journal.countUnsyncedParts();
      update({ unsynced: pending + atBox });   // journal.countUnsynced, from the same two counts
      draw();
    }
    async function syncNow() {
      syncButton.disabled = true;
      progress.textContent = t("Sending… {n} left", { n: pending });
      let finished = false;
      // sync.js settles this when its next full cycle ends; meanwhile the count is read as it falls.
      const result = ctx.sync ? ctx.sync.now() : undefined;
      const waitsForCycle = Boolean(result && typeof result.then === "function");
      const cycle = waitsForCycle ? Promise.resolve(result).catch(() => {}).finally(() => { finished = true; })
        : sleep(SYNC_WAIT_MS);
      const deadline = Date.now() + SYNC_WAIT_MS;
      try {
        while (pending > 0 && Date.now() < deadline) {
          await Promise.race([cycle, sleep(250)]);
          await recount();
          progress.textContent = t("Sending… {n} left", { n: pending });
          if (finished && waitsForCycle && pending > 0) {
            // A whole cycle ended with documents left: the box is out of reach or refused them.
            break;
          }
        }
      } finally {
        syncButton.disabled = false;
        progress.textContent = pending > 0
          ? t("{n} still waiting. The shop box may be out of reach; you can go on anyway.", { n: pending })
          : t("Everything is at the shop box.");
      }
    }
    function done(goOnAnyway) {
      dialog.remove();
      resolve(goOnAnyway);
    }
  });
}
