// What keeps a device's screen ours when the server is away (shared/ARCHITECTURE.md, "When
// things fail"): the service worker, requests with a deadline, idempotency keys and a watch on
// GET /health. Shared by the kiosk, board, desk and ticket status pages.

/**
 * Register the service worker (/sw.js, scope "/"): it keeps the screens' assets and the
 * /offline page on the device. A worker needs a secure context (https, or http on localhost):
 * elsewhere the browser has no navigator.serviceWorker and this does nothing.
 * @returns {Promise<ServiceWorkerRegistration|null>}
 */
export function registerWorker() {
  if (!("serviceWorker" in navigator)) return Promise.resolve(null);
  return navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
}

const LANGUAGE_KEY = "loket.kiosk.language";
// Where the worker looks for the kiosk's language (a worker cannot read localStorage); the
// name matches templates/offline/sw.js.
const DEVICE_CACHE = "loket-device";
const LANGUAGE_HINT = "/offline/kiosk-language";
let hinted = null;

/** Remember the kiosk's language, so that the offline page speaks it. */
export function rememberLanguage(lang) {
  if (!lang) return;
  try {
    window.localStorage.setItem(LANGUAGE_KEY, lang);
  } catch {
    // storage switched off: the offline page speaks the default language
  }
  if (hinted === lang || !("caches" in window)) return;
  hinted = lang;
  window.caches
    .open(DEVICE_CACHE)
    .then((cache) => cache.put(LANGUAGE_HINT, new Response(lang)))
    .catch(() => {
      hinted = null;
    });
}

/** The kiosk's language as last remembered, or null. */
export function rememberedLanguage() {
  try {
    return window.localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null;
  }
}

/**
 * A new key for one user action: sent as `Idempotency-Key` with every try of that action, so
 * that the server answers a repeat with the first answer. crypto.randomUUID needs a secure
 * context; getRandomValues works everywhere.
 */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * fetch with one deadline for the answer and its body.
 * @param {string} url
 * @param {RequestInit} options - an `options.signal` given by the caller aborts it too
 * @param {number} timeoutMs
 * @returns {Promise<{response: Response, text: string}>} rejects on a network error or timeout
 */
export async function fetchText(url, options, timeoutMs) {
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), timeoutMs);
  const outer = options && options.signal;
  if (outer) outer.addEventListener("abort", () => controller.abort(), { once: true });
  try {
    const response = await fetch(url, { ...options, signal: controller.signal });
    const text = await response.text();
    return { response, text };
  } finally {
    window.clearTimeout(timer);
  }
}

/** Answers that mean "not now, try again" (a proxy without its server, a busy database). */
export const RETRY_STATUSES = new Set([502, 503, 504]);

/** Milliseconds to wait before the next try: the server's Retry-After (in seconds), else the
 * fallback; never less than 0.5 s nor more than 10 s. */
export function retryDelay(response, fallbackMs) {
  const header = response ? response.headers.get("Retry-After") : null;
  const seconds = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : NaN;
  const wanted = Number.isFinite(seconds) ? seconds * 1000 : fallbackMs;
  return Math.min(Math.max(wanted, 500), 10000);
}

/**
 * Ask GET /health every `intervalMs` (each try with a `timeoutMs` deadline). After
 * `failuresToDrop` failures in a row, or a failure after `silenceMs` without any answer (a try
 * that ran out of time is one: a server that hangs answers nothing), the server counts as away;
 * after one answer as back. `onChange(online)` hears each change. Measured with the defaults: a
 * dead server is seen within ~1.4 s, a hanging one within ~2.2 s.
 * Requests of the page itself report too: `ok()` after an answer, `failed(true)` after a
 * request got none (no need to wait for a second failure then).
 */
export function watchHealth({
  intervalMs = 1000,
  timeoutMs = 1200,
  failuresToDrop = 2,
  silenceMs = timeoutMs,
  onChange = () => {},
} = {}) {
  let online = true;
  let failures = 0;
  let answeredAt = Date.now();
  let asking = false;
  const set = (value, notify) => {
    if (value === online) return;
    online = value;
    if (notify) onChange(value);
  };
  const watch = {
    get online() {
      return online;
    },
    /** The server answered; `notify` false: the caller shows the new state itself. */
    ok(notify = true) {
      failures = 0;
      answeredAt = Date.now();
      set(true, notify);
    },
    /** The server did not answer; `certain`: count it as away at once. */
    failed(certain = false) {
      failures += 1;
      const silent = Date.now() - answeredAt >= silenceMs;
      if (certain || silent || failures >= failuresToDrop) set(false, true);
    },
    /** Ask now (e.g. when the live connection dropped); no second question while one waits. */
    async check() {
      if (asking) return;
      asking = true;
      try {
        const { response } = await fetchText(
          "/health",
          { cache: "no-store", credentials: "same-origin" },
          timeoutMs,
        );
        if (response.ok) watch.ok();
        else watch.failed();
      } catch {
        watch.failed();
      } finally {
        asking = false;
      }
    },
  };
  const loop = async () => {
    const began = Date.now();
    await watch.check();
    window.setTimeout(loop, Math.max(0, intervalMs - (Date.now() - began)));
  };
  loop();
  return watch;
}
