// Offline PIN check against the catalog's salted PBKDF2 hashes (cloud_api/credentials.py).
// Used only when the shop box cannot be reached: the box checks with attempt limits (gateway/cashier_pins.py).

function hexToBytes(hex) {
  return new Uint8Array(hex.match(/../g).map((pair) => parseInt(pair, 16)));
}

async function pbkdf2Hex(pin, saltHex, iterations) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: hexToBytes(saltHex), iterations }, key, 256);
  return [...new Uint8Array(bits)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether `pin` is this cashier's: one derivation, at the cashier's own iteration count. */
export async function pinMatches(cashier, pin) {
  return (await pbkdf2Hex(pin, cashier.pin_salt, cashier.pin_iterations)) === cashier.pin_hash;
}
