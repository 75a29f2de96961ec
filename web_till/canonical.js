// Canonical JSON and the document hash; must give the very bytes cloud_api/contract.py gives:
// keys sorted, no spaces, non-ASCII kept, integers only. Pure apart from crypto.subtle.

export function canonicalJson(value) {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    return String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  // Our keys are ASCII field names, where UTF-16 order (JS sort) and code point order (Python) agree.
  const keys = Object.keys(value).filter((key) => value[key] !== undefined).sort();
  return "{" + keys.map((key) => JSON.stringify(key) + ":" + canonicalJson(value[key])).join(",") + "}";
}

export async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The document with its hash: SHA-256 over the canonical JSON of everything but `hash`. */
export async function withHash(document) {
  const { hash: _ignored, ...body } = document;
  return { ...body, hash: await sha256Hex(canonicalJson(body)) };
}
