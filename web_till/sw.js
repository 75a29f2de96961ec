// The service worker: a versioned app shell, precached, so a reload with the gateway
// unreachable still opens the till. API requests always go to the network.
// The gateway fills in the version (a digest of the shell) and the file list.
const VERSION = "__SHELL_VERSION__";
const CACHE = `posline-shell-${VERSION}`;
const SHELL = "__SHELL_FILES__";

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
    event.respondWith(caches.match("/", { cacheName: CACHE }).then((shell) => shell || fetch(event.request)));
    return;
  }
  event.respondWith(caches.match(event.request, { cacheName: CACHE }).then((hit) => hit || fetch(event.request)));
});
