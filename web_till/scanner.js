// A barcode scanner is a keyboard that types a code in a burst and ends it with Enter. Caught here,
// before the focused element sees the Enter: otherwise a tile tapped a moment ago is "clicked" again
// (tap Coca-Cola, scan Tapal, get Coca-Cola x2).

const KEY_GAP_MS = 50;      // a person does not type characters this close together
const ENTER_GAP_MS = 100;   // some scanners pause a little before their Enter
const MIN_LENGTH = 4;
// A scanner presses Shift before each capital letter (TAPAL-190): a modifier is not the end of a burst.
const MODIFIERS = new Set(["Shift", "CapsLock"]);

/** Feed key presses ({ key, time }); answers the code when a burst ends with Enter, else null. Pure. */
export function burstReader() {
  let code = "";
  let last = -Infinity;
  return (key, time) => {
    if (MODIFIERS.has(key)) return null;   // its gap says nothing: the letter that follows counts
    const gap = time - last;
    last = time;
    if (key === "Enter") {
      const scanned = code.length >= MIN_LENGTH && gap < ENTER_GAP_MS ? code : null;
      code = "";
      return scanned;
    }
    if (key.length !== 1) { code = ""; return null; }
    code = gap < KEY_GAP_MS ? code + key : key;
    return null;
  };
}

/**
 * Listen on the whole page; `onScan(code)` answers true when it took the code (the selling screen is
 * open). Then the Enter goes no further and the burst's characters are taken back out of whatever
 * text field had the focus.
 */
export function listenForScans(onScan) {
  const read = burstReader();
  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const code = read(event.key, event.timeStamp);
    if (code === null || !onScan(code)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const field = document.activeElement;
    if (field && field.tagName === "INPUT" && field.value.endsWith(code)) {
      field.value = field.value.slice(0, -code.length);
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }, true);
}
