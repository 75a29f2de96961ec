// The service worker: a versioned app shell, precached, so a reload with the gateway
// unreachable still opens the till. API requests always go to the network.
// The gateway fills in the version (a digest of the shell) and the file list: pairs of
// [the path the page asks for, the URL to fetch it from]. The latter names the file's content
// (`/app.js?v=<hash>`), so the box lets the HTTP cache keep it for good: a new version fetches
// only the files that changed, and can never pick up a stale copy of one that did.
const VERSION = "__SHELL_VERSION__";
const CACHE = `posline-shell-${VERSION}`;
const SHELL = "__SHELL_FILES__";
const TILL_PAGES = new Set(["/", "/index.html"]);
// The box answers with `Vary: Accept-Encoding`; the cache holds one decoded copy per path, right
// whatever encoding the page's request would accept, so the match ignores Vary.
const MATCH = { cacheName: CACHE, ignoreVary: true };

async function precache() {
  const cache = await caches.open(CACHE);
  await Promise.all(SHELL.map(async ([path, source]) => {
    // "/" has no versioned twin: no-cache makes the HTTP cache revalidate it (a 304 when unchanged).
    const response = await fetch(source, { cache: path === source ? "no-cache" : "default" });
    if (!response.ok) throw new Error(`precache ${source}: ${response.status}`);
    await cache.put(path, response);
  }));   // one failed file fails the install: this version never serves a partial shell
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("posline-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// A page still loading when the activation's claim ran (a second load while the first was still
// installing this worker), or one a hard reload kept from the worker, stays uncontrolled until its
// next load. Such a page asks, and is claimed.
self.addEventListener("message", (event) => {
  if (event.data === "claim") event.waitUntil(self.clients.claim());
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
    event.respondWith(caches.match("/", MATCH).then((shell) => shell || fetch(event.request)));
    return;
  }
  event.respondWith(caches.match(event.request, MATCH).then((hit) => hit || fetch(event.request)));
});
