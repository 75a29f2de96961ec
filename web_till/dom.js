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

/**
 * Make `parent`'s children exactly `nodes`, in order, touching only what differs: a node already in
 * its place stays (and keeps its focus), so a list drawn again per tap costs only its changed rows.
 */
export function setChildren(parent, nodes) {
  const keep = new Set(nodes);
  for (const child of [...parent.childNodes]) if (!keep.has(child)) child.remove();
  nodes.forEach((node, i) => {
    const there = parent.childNodes[i];
    if (there !== node) parent.insertBefore(node, there || null);
  });
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

/**
 * Run `work` once the frame now being drawn has painted, at low priority: what follows a checkout
 * (counts, the push, printing) never delays the receipt. A hidden tab draws no frames: a timer
 * stands in, so that work still happens.
 */
export function afterPaint(work) {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    const post = globalThis.scheduler && globalThis.scheduler.postTask;
    if (post) globalThis.scheduler.postTask(work, { priority: "background" }).catch((err) => console.error(err));
    else setTimeout(work, 0);
  };
  requestAnimationFrame(() => setTimeout(run, 0));
  setTimeout(run, 250);
}
