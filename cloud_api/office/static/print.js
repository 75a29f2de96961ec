// The statement's Print button (no inline script: the pages' CSP allows only scripts from here).
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
