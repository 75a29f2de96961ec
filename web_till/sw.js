// The service worker: a versioned app shell, precached, so a reload with the gateway
// unreachable still opens the till. API requests always go to the network.
// The gateway fills in the version (a digest of the shell) and the file list.
const VERSION = "__SHELL_VERSION__";
const CACHE = `posline-shell-${VERSION}`;
const SHELL = "__SHELL_FILES__";
const TILL_PAGES = new Set(["/", "/index.html"]);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("posline-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/") || event.request.method !== "GET") {
    return;   // the network, untouched
  }
  if (event.request.mode === "navigate") {
    // Only the till itself is answered from the shell. The box's own pages (/admin, /setup,
    // /ca.crt) live on the same origin and must reach the box, even on a tablet that runs the till.
    if (!TILL_PAGES.has(url.pathname)) return;
    event.respondWith(caches.match("/", { cacheName: CACHE }).then((shell) => shell || fetch(event.request)));
    return;
  }
  event.respondWith(caches.match(event.request, { cacheName: CACHE }).then((hit) => hit || fetch(event.request)));
});
