importScripts("/static/sw-push.js");
// Coinflip's service worker, served at /sw.js with the sub-path, the shell's versioned files and a version written
// in (app/routes/manifest.py). The shell is kept for offline use; Today too, as last seen online, and only for
// whoever was picked then: any page shown to someone else (another person, or nobody after logging out) drops it,
// so a shared phone never opens one person's Today for another.
const ROOT = "__ROOT__";
const SHELL = ["__SHELL__"];
const CACHE = "coinflip-__VERSION__";
const TODAY = `${ROOT}/`;
const OFFLINE = `${ROOT}/offline`; // in the language of the page it was kept with (app/routes/manifest.py)
const HTML = { headers: { "Content-Type": "text/html; charset=utf-8" } };

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL).then(() => keepOffline(cache))).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith("coinflip-") && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (request.mode === "navigate") event.respondWith(navigate(event));
  else if (url.pathname.startsWith(`${ROOT}/static/`)) event.respondWith(fromShell(request));
});

const whoOf = (page) => (page.match(/data-who="([^"]*)"/) || [])[1] ?? "";

async function navigate(event) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(event.request);
    event.waitUntil(remember(cache, response.clone()));
    return response;
  } catch (error) {
    const today = new URL(event.request.url).pathname === TODAY && (await cache.match(TODAY));
    if (today) return new Response((await today.text()).replace("<body ", "<body data-offline "), HTML);
    const offline = await cache.match(OFFLINE);
    return offline || new Response("No signal.", HTML);
  }
}

// Pages are sent with `Vary: *` (never reused by the HTTP cache), which the Cache API refuses: Today is kept as
// its text, under its own name.
async function remember(cache, response) {
  if (!response.ok || !(response.headers.get("Content-Type") || "").startsWith("text/html")) return;
  const page = await response.text();
  const who = whoOf(page);
  const url = new URL(response.url);
  if (url.pathname === TODAY && !url.search && /^\d+\.\d+$/.test(who)) {
    await cache.put(TODAY, new Response(page, HTML));
    // The offline page anew with it, in Today's language (a member's choice may have changed it).
    await keepOffline(cache);
    return;
  }
  const kept = await cache.match(TODAY);
  if (kept && whoOf(await kept.text()) !== who) await cache.delete(TODAY);
}

// The page for a page not kept, in the language of the moment (kept as its text, like Today): never in the way.
async function keepOffline(cache) {
  try {
    const offline = await fetch(OFFLINE);
    if (offline.ok) await cache.put(OFFLINE, new Response(await offline.text(), HTML));
  } catch (error) {}
}

async function fromShell(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  try {
    return await fetch(request);
  } catch (error) {
    return (await cache.match(request, { ignoreSearch: true })) || Response.error();
  }
}

// A flip or a reflection made on Today (htmx swaps it in place, no navigation): Today is kept anew as it is now.
self.addEventListener("message", (event) => {
  if (event.data === "keep-today") {
    event.waitUntil(caches.open(CACHE).then(async (cache) => remember(cache, await fetch(TODAY))).catch(() => {}));
  }
});

// Background Sync: flips revealed offline (and their reflections) wait in the "outbox" cache (static/offline.js);
// once the phone has signal again they are sent from here, the app open or not, for whoever Today was kept for.
// A page that is open sends them too: a reveal or a reflection sent twice is the same flip, the same reflection.
self.addEventListener("sync", (event) => {
  if (event.tag === "coinflip-outbox") event.waitUntil(sendOutbox());
});

async function sendOutbox() {
  const box = await caches.open("outbox");
  const kept = await box.match(`${ROOT}/outbox`);
  const today = await (await caches.open(CACHE)).match(TODAY);
  if (!kept || !today) return;
  const who = whoOf(await today.text());
  let sent = false;
  for (const entry of (await kept.json()).filter((e) => e.who === who)) {
    const headers = { "Content-Type": "application/json", "X-CSRF-Token": entry.csrf };
    const { commitment, coin, enhancers, revealed_at } = entry;
    const body = JSON.stringify({ commitment, coin, enhancers, revealed_at });
    const response = await fetch(entry.url, { method: "POST", headers, body });
    if (response.status >= 500 || response.status === 401 || response.status === 403) throw new Error("later");
    const flip = await response.json();
    if (response.ok && entry.reflection) {
      const url = `${ROOT}/api/v1/flips/${flip.id}/reflection`;
      const saved = await fetch(url, { method: "PUT", headers, body: JSON.stringify(entry.reflection) });
      if (saved.status >= 500) throw new Error("later");
      if (!saved.ok) continue; // saved meanwhile from another phone: the page shows this one, never over that one
    }
    const left = (await (await box.match(`${ROOT}/outbox`)).json()).filter((e) => e.commitment !== commitment);
    await box.put(`${ROOT}/outbox`, new Response(JSON.stringify(left)));
    sent = true;
  }
  if (!sent) return;
  await remember(await caches.open(CACHE), await fetch(TODAY));
  for (const page of await self.clients.matchAll()) page.postMessage("outbox-sent");
}
