// Printing through the shop box (gateway/print_api.py): a receipt, a duplicate, the Z-report. Asked for
// after the receipt is on screen, never on a sale's path; what happened is said on the receipt screen.
// A tablet without a printer on the box (or a box out of reach) prints through the browser as before.
import { ApiError, call } from "./api.js";
import { ctx } from "./context.js";
import { h } from "./dom.js";
import { currentLanguage, t } from "./i18n.js";
import { state, update } from "./store.js";

let turn = 0;   // the newest request; an older one stops asking after its job
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** This tablet's printer on the box ({printer_id, name} or null), as the box's status names it
 *  (sync.js), kept for a reload. */
export async function keepPrinter(journal, printer) {
  const found = printer ? { printer_id: printer.printer_id, name: printer.name } : null;
  if (JSON.stringify(found) === JSON.stringify(state.printer || null)) return;
  update({ printer: found });
  await journal.setMeta("printer", found);
}

/** The same from a box whose status does not name it (GET /api/v1/printer); asked at sign-in, when the
 *  catalog changes and now and then (sync.js printerDue). A 404 (no_printer) is "no printer", quietly. */
export async function pullPrinter(journal, token) {
  let found = null;
  try {
    found = (await call("printer", { token })).json;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status === 401) throw err;
    if (err.status !== 404) return;   // a hiccup: keep what was known
  }
  await keepPrinter(journal, found);
}

/**
 * Ask the box to print (`body` as POST /api/v1/print takes it) and follow the job a while, its outcome
 * in state.printing {key, outcome}: printing | printed | paper_out | offline, or (print here) browser |
 * expired | failed. Polled about two minutes: a job still unsettled then, or a box gone out of reach,
 * gives the browser's Print (the box drops a receipt's job after print_job_expiry_s anyway).
 */
export async function boxPrint(key, body) {
  if (!state.printer || !ctx.sync) return;
  const me = ++turn;
  const say = (outcome) => { if (me === turn) update({ printing: { key, outcome } }); };
  say("printing");
  const token = state.identity.token;
  let job;
  try {
    for (let i = 0; ; i += 1) {
      // The box prints from the documents it holds: the journal goes first.
      if (i || body.copy !== "duplicate") await ctx.sync.now();
      try {
        job = (await call("print", { method: "POST", token, body: { ...body, language: currentLanguage() } })).json;
        break;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === "not_at_box" && i < 3)) throw err;
      }
    }
  } catch (err) {
    if (err instanceof ApiError && err.code === "no_printer") update({ printer: null });
    say("browser");
    return;
  }
  for (let n = 0; n < 50 && me === turn; n += 1) {
    if (job.status === "printed") { say("printed"); return; }
    if (job.status === "failed") { say(job.problem === "expired" ? "expired" : "failed"); return; }
    say(job.problem === "paper_out" || job.problem === "offline" ? job.problem : "printing");
    await sleep(n < 10 ? 1000 : 3000);
    try {
      job = (await call(`print/${job.job_id}`, { token })).json;
    } catch {
      break;   // the box went out of reach
    }
  }
  say("browser");   // not printed yet (a receipt's job expires on the box): the browser's Print
}

/** "Open drawer" followed on the box: "opened" once its kick went, "shut" when the printer could not kick
 * (off) within a few seconds, null when the box could not be asked. */
export async function followDrawer(id) {
  const token = state.identity.token;
  let job;
  try {
    job = (await call("print", { method: "POST", token, body: { what: "drawer", document_id: id } })).json;
    for (let n = 0; n < 15 && job.status !== "printed" && job.status !== "failed" && job.problem !== "offline"; n += 1) {
      await sleep(400);
      job = (await call(`print/${job.job_id}`, { token })).json;
    }
  } catch {
    return null;
  }
  return job.status === "printed" ? "opened" : "shut";
}

/** A sale's, return's or khata payment's own receipt, once it is stored: the drawer opens with it when
 *  cash changed hands. */
export function printOriginal(doc) {
  boxPrint(doc.id, { document_id: doc.id, copy: "original", kick: doc.payments.some((p) => p.tender === "cash") });
}

export function printDuplicate(doc) {
  boxPrint(doc.id, { document_id: doc.id, copy: "duplicate" });
}

export function printZ(shiftId) {
  boxPrint(shiftId, { what: "z_report", shift_id: shiftId });
}

const words = (outcome) => ({ printed: t("Printed"), paper_out: t("Printer has no paper: load paper to print"),
  offline: t("Printer is off: turn it on to print"), browser: t("Not printed by the shop box: use Print."),
  expired: t("Not printed in time: use Print."), failed: t("Printing failed on the shop box: use Print.") }[outcome]
  || t("Printing…"));

/**
 * A receipt screen's printing: the outcome in words and one button, Reprint (through the box) when this
 * tablet has a printer there, else Print (the browser's, as before printing through the box existed).
 */
export function printControls(key, again) {
  const said = h("p", { class: "print-outcome no-print", "aria-live": "polite", "data-testid": "print-outcome" });
  let box = false;
  const button = h("button", { class: "big no-print", onclick: () => (box ? again() : window.print()) });
  // Text set only when it changes: refreshed on every state change, a receipt's first paint among them.
  const say = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  function refresh(s) {
    const outcome = s.printing && s.printing.key === key ? s.printing.outcome : "";
    say(said, outcome ? words(outcome) : "");
    said.hidden = !outcome;
    box = Boolean(s.printer) && !["browser", "expired", "failed"].includes(outcome);
    say(button, box ? t("Reprint") : t("Print"));
  }
  refresh(state);
  return { said, button, refresh };
}
