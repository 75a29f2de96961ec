// The gateway's LAN API (/api/v1). Errors: Unreachable (no answer) or ApiError (an answer that says no).

export class Unreachable extends Error {}

/** No answer in time, or an answer that is not the box's JSON: for the sync loop the box is not there,
 *  but something did answer (or may yet): a credit check does not take it for being cut off. */
export class NoAnswer extends Unreachable {}

export class ApiError extends Error {
  constructor(status, code, message, retryAfterS = null, body = null) {
    super(message);
    this.body = body;   // the whole JSON answer (e.g. a refused credit's balance and limit)
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;   // a 429's Retry-After, in seconds
  }
}

const TIMEOUT_MS = 8000;

export async function call(path, { method = "GET", token, body, etag, timeoutMs = TIMEOUT_MS } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (etag) headers["If-None-Match"] = etag;
  const started = Date.now();
  let response;
  try {
    response = await fetch(`/api/v1/${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // A timeout (AbortSignal.timeout) is a box that took too long; anything else, no way to it at all.
    if (err && err.name === "TimeoutError") throw new NoAnswer(`gateway did not answer in ${timeoutMs} ms`);
    throw new Unreachable(`gateway unreachable: ${err.message}`);
  }
  if (response.status === 304) return { status: 304, etag: response.headers.get("ETag") };
  let json = null;
  try {
    json = await response.json();
  } catch {
    throw new NoAnswer(`gateway answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    // {"error": {"code", "message"}}, or a bare message ({"error": "..."}).
    const error = json && typeof json.error === "string" ? { message: json.error } : (json && json.error) || {};
    const retryAfter = Number.parseInt(response.headers.get("Retry-After"), 10);
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText,
      Number.isFinite(retryAfter) ? retryAfter : null, json);
  }
  return { status: response.status, json, etag: response.headers.get("ETag"), rtt: [started, Date.now()] };
}

/** Clock offset (ms) of this device from the gateway, from one request's round trip. */
export function clockOffset(serverTime, [sent, received]) {
  // `|| 0`: Math.round of a small negative gives -0, which is not an integer to the contract's readers.
  return Math.round(Date.parse(serverTime) - (sent + received) / 2) || 0;
}

/** What to tell a cashier about a failure: plain words, never a raw server string or exception. */
export function sayWhy(err) {
  if (err instanceof Unreachable) return "Cannot reach the shop box. Is this tablet on the shop's Wi-Fi?";
  if (err instanceof ApiError) {
    if (err.status === 401) return "This tablet is not paired with the shop box. Ask the owner for a pairing code.";
    if (err.code === "storage_full" || err.status === 507) {
      return "The shop box's storage is full. Sales stay safe on this tablet; tell the owner.";
    }
    if (err.status === 429) return "Too many tries. Wait a minute and try again.";
    if (err.status >= 500) return "The shop box had a problem. Sales stay safe on this tablet; it will try again.";
    return "The shop box did not accept this request. Try again, or tell the owner.";
  }
  if (err && err.name === "QuotaExceededError") {
    return "This tablet's storage is full. Tell the owner before making more sales.";
  }
  return "Something went wrong on this tablet. Your completed sales are safe.";
}
