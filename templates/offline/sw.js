// popup-loket's service worker, served as /sw.js by kiosk/views/offline.py (which fills in the
// four constants below). It keeps the device's screens ours when the server is away:
// - install: keep the screens' assets and the /offline page in every language (one cache per
//   VERSION, a hash of all of them: any change installs a new worker);
// - activate: drop the caches of older versions, take over the open pages;
// - navigations to /kiosk…, /board, /t/<token>, /desk…: the network first, for at most a few
//   seconds; without an answer the last good copy (/board and /t/<token> only) or /offline in
//   the screen's language, never the browser's error page;
// - the kept assets: from the device first.
// Never kept: /a/… (private), /admin…, /api/…, /login, /health, anything but GET.
"use strict";

const VERSION = {{ version|tojson }};
const PRECACHE = {{ precache|tojson }};
const LANGUAGES = {{ languages|tojson }};
const DEFAULT_LANGUAGE = {{ default_language|tojson }};

const SHELL = `loket-shell-${VERSION}`;
// The last good copy of the board and of status pages (not per version: their HTML names the
// same assets whatever the version).
const PAGES = "loket-pages";
const KEEP_PAGES = 20;
// Small facts the pages leave for the worker: the kiosk's language (static/js/offline-support.js).
const DEVICE = "loket-device";
const LANGUAGE_HINT = "/offline/kiosk-language";
const NAVIGATION_TIMEOUT_MS = 4000;
const RETRY_STATUSES = [502, 503, 504];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      // Without cookies: the kept pages are the same for everyone, and fetching /offline?lang=
      // must not touch the device's session. "reload": past the browser's HTTP cache.
      await cache.addAll(
        PRECACHE.map((url) => new Request(url, { credentials: "omit", cache: "reload" })),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("loket-shell-") && name !== SHELL) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    const kind = screenOf(url.pathname);
    if (kind === null) return;
    if (request.method === "GET") event.respondWith(navigate(request, url, kind));
    else if (request.method === "POST") event.respondWith(submit(request, url, kind));
    return;
  }
  if (request.method === "GET" && url.pathname.startsWith("/static/")) {
    // Pages ask for /static/x?v=<hash>, a script's imports for /static/x: the same kept file.
    event.respondWith(
      caches.match(request, { cacheName: SHELL, ignoreSearch: true }).then((kept) => kept || fetch(request)),
    );
  }
});

/** Which screen an address is, or null for pages this worker leaves alone. */
function screenOf(path) {
  if (path === "/kiosk" || path.startsWith("/kiosk/")) return "kiosk";
  if (path === "/board") return "board";
  if (/^\/t\/[^/]+$/.test(path)) return "ticket";
  if (path === "/desk" || path.startsWith("/desk/")) return "desk";
  if (path === "/offline") return "offline";
  return null;
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function navigate(request, url, kind) {
  if (kind === "offline") {
    const lang = url.searchParams.get("lang");
    const kept = await offlinePage(LANGUAGES.includes(lang) ? lang : DEFAULT_LANGUAGE);
    return kept || fetch(request).catch(plainOffline);
  }
  try {
    const response = await withTimeout(fetch(request), NAVIGATION_TIMEOUT_MS);
    if (!RETRY_STATUSES.includes(response.status)) {
      if ((kind === "board" || kind === "ticket") && response.ok && response.type === "basic") {
        keep(request, response.clone());
      }
      return response;
    }
  } catch {
    // no answer in time: the device's own copy below
  }
  if (kind === "board" || kind === "ticket") {
    const kept = await caches.match(request, { cacheName: PAGES });
    if (kept) return kept;
  }
  return (await offlinePage(await languageOf(kind))) || plainOffline();
}

// A form sent without script (the screens send theirs by script): never sent twice by the
// worker; without an answer, the offline page, which goes back to the screen's start.
async function submit(request, url, kind) {
  try {
    const response = await fetch(request);
    if (!RETRY_STATUSES.includes(response.status)) return response;
  } catch {
    // the server is away
  }
  const start = kind === "kiosk" || kind === "desk" ? `/${kind}` : url.pathname;
  const lang = await languageOf(kind);
  const target = new URL(`/offline?lang=${lang}&next=${encodeURIComponent(start)}`, url);
  return Response.redirect(target.href, 303);
}

async function keep(request, response) {
  try {
    const cache = await caches.open(PAGES);
    await cache.put(request.url, response);
    const keys = await cache.keys();
    for (const old of keys.slice(0, Math.max(0, keys.length - KEEP_PAGES))) await cache.delete(old);
  } catch {
    // a full disk: the offline page will do
  }
}

function offlineUrl(lang) {
  return new URL(`/offline?lang=${lang}`, self.location.origin).href;
}

async function offlinePage(lang) {
  return (
    (await caches.match(offlineUrl(lang), { cacheName: SHELL })) ||
    (await caches.match(offlineUrl(DEFAULT_LANGUAGE), { cacheName: SHELL }))
  );
}

/** The kiosk speaks the language it last showed, the board the default language, a phone or a
 * desk the browser's. */
async function languageOf(kind) {
  if (kind === "kiosk") {
    try {
      const hint = await caches.match(LANGUAGE_HINT, { cacheName: DEVICE });
      const lang = hint ? (await hint.text()).trim() : "";
      if (LANGUAGES.includes(lang)) return lang;
    } catch {
      // no hint kept
    }
    return DEFAULT_LANGUAGE;
  }
  if (kind !== "board") {
    for (const tag of self.navigator.languages || []) {
      const lang = tag.toLowerCase().split("-")[0];
      if (LANGUAGES.includes(lang)) return lang;
    }
  }
  return DEFAULT_LANGUAGE;
}

// Only if the kept pages are gone (storage cleared): a bare page that tries again by itself.
function plainOffline() {
  const html =
    '<!doctype html><html lang="nl"><meta charset="utf-8"><meta http-equiv="refresh" content="5">' +
    "<title>Geen verbinding</title><p>Even geduld, de verbinding is weg. Wij proberen het opnieuw.</p>";
  return new Response(html, {
    status: 503,
    headers: { "Content-Type": "text/html; charset=utf-8", "Retry-After": "5" },
  });
}
