// The sync loop: push pending documents in seq order, learn what the cloud holds, pull the
// catalog. "Online" is decided from these real requests, never from navigator.onLine.
import { ApiError, Unreachable, call, clockOffset, sayWhy } from "./api.js";
import { withHash } from "./canonical.js";
import { state, update } from "./store.js";

const BUSY_MS = 1500;      // documents still on their way
const IDLE_MS = 5000;
const MAX_BACKOFF_MS = 10000;
const REMOVED_NOTICE = "This tablet was removed from the shop box. Ask the owner for a new pairing code.";

export function startSync(journal) {
  let timer = null;
  let running = false;
  let again = false;
  let failures = 0;

  async function cycle() {
    if (running) { again = true; return; }
    running = true;
    try {
      const token = state.identity && state.identity.token;
      if (token) {
        await push(journal, token);
        await learnAcks(journal, token);
        await pullCatalog(journal, token);
      }
      const status = await call("status", { token });   // an unpaired till still learns its link
      failures = 0;
      update({ link: status.json.wan === "online" ? "online" : "cloud_offline" });
    } catch (err) {
      failures += 1;
      if (err instanceof ApiError && err.status === 401) {
        // The box refuses this tablet's token (the owner revoked it, or this is a new box): forget
        // the token, keep the device's identity and every document, and ask for a new code.
        await forgetToken(journal);
        update({ link: "offline", notice: REMOVED_NOTICE, identity: null, cashier: null, cart: null,
                 screen: "pairing" });
      } else if (err instanceof Unreachable) {
        update({ link: "offline" });
      } else if (err instanceof ApiError && (err.code === "storage_full" || err.status === 507)) {
        // The box is up but cannot keep more: say that, not "Offline". Sales stay pending here.
        update({ link: "box_full" });
      } else {
        console.error("sync failed", err);
        update({ link: "offline", notice: sayWhy(err) });
      }
    } finally {
      running = false;
      update({ unsynced: await journal.countUnsynced() });
      schedule(again ? 0 : nextDelay());
      again = false;
    }
  }

  function nextDelay() {
    if (failures > 0) {
      const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
      return ceiling / 2 + Math.random() * ceiling / 2;   // jitter: tablets do not retry in lockstep
    }
    return state.unsynced > 0 ? BUSY_MS : IDLE_MS;
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(cycle, ms);
  }

  // The browser's online event is only a hint to try now; the requests decide.
  window.addEventListener("online", () => schedule(0));
  schedule(0);
  return { now: () => { failures = 0; schedule(0); } };
}

/** Set the token aside; keep device_id, device_code and the old token (as previous_identity) so pairing
 *  again keeps the numbering: the box gives an identity back only to whoever proves it with that token. */
async function forgetToken(journal) {
  const { device_id: deviceId, device_code: deviceCode, name, token } = state.identity || {};
  if (deviceId) await journal.setMeta("previous_identity", { device_id: deviceId, device_code: deviceCode, name, token });
  await journal.setMeta("identity", null);
  sessionStorage.removeItem("posline-cashier");
}

async function push(journal, token) {
  for (;;) {
    const pending = await journal.byState("pending", 200);
    if (pending.length === 0) return;
    const documents = await Promise.all(pending.map((row) => withHash(row.document)));
    const answer = await call("journal:batch", { method: "POST", token, body: { documents } });
    if (answer.json.results.length !== pending.length) {
      // Never guess which result is whose: keep them all pending and try again later.
      throw new Error(`gateway answered ${answer.json.results.length} results for ${pending.length} documents`);
    }
    update({ clockOffsetMs: clockOffset(answer.json.server_time, answer.rtt) });
    await journal.setMeta("clock_offset_ms", state.clockOffsetMs);
    const delivered = [];
    const dead = [];
    const reasons = {};
    answer.json.results.forEach((result, i) => {
      const id = pending[i].id;
      if (result.status === "stored" || result.status === "duplicate") delivered.push(id);
      else { dead.push(id); reasons[id] = `${result.status}: ${result.reason || ""}`; }
    });
    await journal.setState(delivered, "at_gateway");
    await journal.setState(dead, "dead", reasons);
  }
}

async function learnAcks(journal, token) {
  const held = await journal.byState("at_gateway", 1000);
  if (held.length === 0) return;
  const answer = await call("journal:acks", { method: "POST", token, body: { ids: held.map((row) => row.id) } });
  const { in_cloud: inCloud, rejected, unknown } = answer.json;
  await journal.setState(inCloud, "in_cloud");
  const reasons = Object.fromEntries(rejected.map((r) => [r.id, r.reason]));
  await journal.setState(rejected.map((r) => r.id), "dead", reasons);
  // The gateway does not hold these (a replaced box): send them again.
  await journal.setState(unknown, "pending");
}

async function pullCatalog(journal, token) {
  const stored = await journal.getCatalog();
  let answer;
  try {
    answer = await call("catalog", { token, etag: stored && stored.etag });
  } catch (err) {
    if (err instanceof ApiError && err.code === "not_provisioned") return;   // not yet from the cloud
    throw err;
  }
  if (answer.status === 304) return;
  await journal.putCatalog(answer.etag, answer.json);
  update({ catalog: answer.json });
}
