// A quantity field: how many of a line (the cart's, a return's). A text field announced as a spinbutton,
// not <input type="number">: Chromium's number field drops Urdu digits (۳) keystroke by keystroke, so on
// an Urdu till a cashier typing a quantity got an empty field. Every other field that takes a figure
// reads Urdu digits (money.js westernDigits); this one now does too.

import { h } from "./dom.js";
import { westernDigits } from "./money.js";

/** The field, 0 at least and at most `max` when one is set (setMax); ↑ and ↓ step it, as a spinbutton's do. */
export function quantityInput(props) {
  const input = h("input", { ...props, role: "spinbutton", inputmode: "numeric", autocomplete: "off",
                             "aria-valuemin": "0" });
  input.addEventListener("input", () => announce(input));
  // A tap selects what is there ("0" on a return), so the digits typed replace it rather than join it.
  input.addEventListener("focus", () => input.select());
  input.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    // Shift+↑ selects text and an Urdu keyboard may be composing: only a bare arrow steps.
    if (event.shiftKey || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    event.preventDefault();
    const now = readQuantity(input);
    const max = input.hasAttribute("max") ? Number(input.getAttribute("max")) : Infinity;
    const next = Math.min(max, Math.max(0, (Number.isSafeInteger(now) ? now : 0) + (event.key === "ArrowUp" ? 1 : -1)));
    setQuantity(input, next);
    input.dispatchEvent(new Event("input", { bubbles: true }));   // the screen's own oninput hears it
  });
  announce(input);
  return input;
}

/** What a screen reader is told the field holds: its whole number, or nothing while it holds none. */
function announce(input) {
  const n = readQuantity(input);
  if (Number.isSafeInteger(n)) input.setAttribute("aria-valuenow", String(n));
  else input.removeAttribute("aria-valuenow");
}

/** Put `n` in the field, as typing it would. */
export function setQuantity(input, n) {
  input.value = String(n);
  announce(input);
}

/** The most the field may hold (a return: what is left of the line to return). */
export function setMax(input, max) {
  input.setAttribute("max", String(max));
  input.setAttribute("aria-valuemax", String(max));
}

/** The whole number typed (Urdu and Arabic digits read as 0-9): null for an empty field, NaN for anything
 *  but digits. */
export function readQuantity(input) {
  const text = westernDigits(input.value).trim();
  if (text === "") return null;
  return /^\d+$/.test(text) ? Number(text) : NaN;
}
