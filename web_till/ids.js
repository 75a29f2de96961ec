// Document ids: UUID version 7 (RFC 9562), in the contract's one spelling (lower-case 8-4-4-4-12 hex).
//
// Why not crypto.randomUUID (version 4): a version 7 id begins with the time it was made (48 bits of
// Unix milliseconds), so the journals that file documents by id (the box's, the cloud's) take each new
// one at the end of their id index. Random ids land on a random page of it: as a box's journal grew,
// every sale dirtied a page of its own, and the box wrote a batch twice as slowly after 60,000 sales
// (tests/bench/box.py). The 74 random bits make an id unique, as a version 4's 122 do in practice; a
// tablet whose clock is wrong files its ids out of place, never twice.
export function newId(now = Date.now()) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;   // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80;   // the RFC's variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
