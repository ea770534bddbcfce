// The kiosk's requests, sent by script: a tap, a link, the idle timer or a refresh becomes a
// fetch with a deadline, and the answer (a whole page) replaces the screen in place. A request
// without an answer (no server, a timeout, 502/503/504) is sent again, with the same
// Idempotency-Key, until one comes: one tap is one ticket, whatever fails, and the browser never
// shows its own error page.
import { fetchText, newIdempotencyKey, RETRY_STATUSES, retryDelay } from "./offline-support.js";

const POST_TIMEOUT_MS = 6000;
const GET_TIMEOUT_MS = 4000;
const RETRY_MS = 1500;

/** Whether an address is a kiosk screen (sent by script); others are left to the browser. */
export function isKioskUrl(url) {
  return (
    url.origin === window.location.origin &&
    (url.pathname === "/kiosk" || url.pathname.startsWith("/kiosk/"))
  );
}

/**
 * @param {object} hooks
 * @param {Function} hooks.onAnswer - the server answered (before the screen changes)
 * @param {Function} hooks.onTrouble - called with the request after each try without an answer
 * @param {Function} hooks.onScreen - a new screen is in place
 */
export function screenNavigator({ onAnswer, onTrouble, onScreen }) {
  let current = null;

  async function run(job) {
    while (current === job) {
      let delay = RETRY_MS;
      try {
        const { response, text } = await fetchText(job.url, job.init, job.timeout);
        if (current !== job) return;
        const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
        // A page is an answer, whatever its status (a refusal in plain words is a page too).
        if (html && !RETRY_STATUSES.has(response.status)) {
          current = null;
          onAnswer();
          show(job, response, text);
          return;
        }
        delay = retryDelay(response, RETRY_MS);
      } catch {
        if (current !== job) return;
      }
      job.tries += 1;
      onTrouble(job);
      await new Promise((resolve) => window.setTimeout(resolve, delay));
    }
  }

  function show(job, response, text) {
    const url = new URL(response.url || job.url);
    if (!isKioskUrl(url)) {
      window.location.assign(url.href); // e.g. the pairing page: not a kiosk screen
      return;
    }
    swapDocument(text);
    // The address follows GETs and redirects; a POST answered with a page keeps the address of
    // the screen it came from, so a reload never sends the form again.
    if (job.method === "GET" || response.redirected) {
      const same = url.href === window.location.href;
      window.history[job.replace || same ? "replaceState" : "pushState"]({ kiosk: true }, "", url);
    }
    onScreen();
  }

  return {
    /** The request being sent ({method, url, key, tries}), or null. */
    get pending() {
      return current;
    },
    /**
     * Send a request and show its answer. One at a time: a POST is never given up; a new
     * request replaces a GET still waiting.
     * @param {{method?: string, url: string, body?: URLSearchParams, replace?: boolean}} request
     * @returns {boolean} whether it was taken
     */
    go({ method = "GET", url, body = null, replace = false }) {
      if (current && current.method === "POST") return false;
      if (current) current.abort.abort();
      const abort = new AbortController();
      const headers = { Accept: "text/html" };
      const key = method === "POST" ? newIdempotencyKey() : null;
      if (key) headers["Idempotency-Key"] = key; // made once per tap, sent with every try
      const job = {
        method,
        url: String(url),
        key,
        replace,
        tries: 0,
        abort,
        timeout: method === "POST" ? POST_TIMEOUT_MS : GET_TIMEOUT_MS,
        init: {
          method,
          body,
          headers,
          credentials: "same-origin",
          cache: "no-store",
          redirect: "follow",
          referrerPolicy: "no-referrer",
          signal: abort.signal,
        },
      };
      current = job;
      run(job);
      return true;
    },
  };
}

/** Put a page (HTML text) in place of this one: <html> attributes, title, body. */
function swapDocument(text) {
  const next = new DOMParser().parseFromString(text, "text/html");
  const root = document.documentElement;
  for (const name of ["lang", "dir", "class"]) {
    const value = next.documentElement.getAttribute(name);
    if (value === null) root.removeAttribute(name);
    else root.setAttribute(name, value);
  }
  document.title = next.title;
  const token = next.querySelector('meta[name="csrf-token"]');
  const ours = document.querySelector('meta[name="csrf-token"]');
  if (token && ours) ours.content = token.content;
  for (const link of next.head.querySelectorAll('link[rel="stylesheet"]')) {
    const href = link.getAttribute("href");
    if (!document.head.querySelector(`link[rel="stylesheet"][href="${CSS.escape(href)}"]`)) {
      document.head.append(document.importNode(link, true));
    }
  }
  const body = document.body;
  for (const attribute of [...body.attributes]) body.removeAttribute(attribute.name);
  for (const attribute of next.body.attributes) body.setAttribute(attribute.name, attribute.value);
  // This module runs already; a parsed page's scripts would not run anyway.
  for (const script of next.body.querySelectorAll("script")) script.remove();
  const nodes = Array.from(next.body.childNodes); // a copy: adopting takes each out of the list
  body.replaceChildren(...nodes.map((node) => document.adoptNode(node)));
  window.scrollTo(0, 0);
}
