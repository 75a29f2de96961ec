// Offline PIN check against the catalog's salted PBKDF2 hashes (cloud_api/credentials.py).

function hexToBytes(hex) {
  return new Uint8Array(hex.match(/../g).map((pair) => parseInt(pair, 16)));
}

async function pbkdf2Hex(pin, saltHex, iterations) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: hexToBytes(saltHex), iterations }, key, 256);
  return [...new Uint8Array(bits)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The cashier whose PIN this is, or null. */
export async function cashierForPin(cashiers, pin) {
  for (const cashier of cashiers) {
    if ((await pbkdf2Hex(pin, cashier.pin_salt, cashier.pin_iterations)) === cashier.pin_hash) return cashier;
  }
  return null;
}
