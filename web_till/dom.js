// A tiny element builder: h("button", {onclick}, "Pay"). Text is always set as text, never as HTML.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A form's submit handler that disables its button while `work` runs (no double submits). */
export function onSubmit(button, work, after = () => { button.disabled = false; }) {
  return async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await work();
    } finally {
      after();
    }
  };
}
