// Live connection to the server's /board Socket.IO namespace, shared by every page script.
// The client reconnects by itself; the server answers each (re)connect with a fresh snapshot,
// so a page only has to render what it receives.
import { io } from "../vendor/socket.io.esm.min.js";

/**
 * Connect and wire handlers.
 * @param {object} options
 * @param {object} options.auth - sent on every (re)connect: {stop} or {ticket}
 * @param {Object<string, Function>} options.on - event name -> handler(payload)
 * @param {Function} [options.onStatus] - called with "connected" | "reconnected" | "lost"
 * @param {boolean|number} [options.heartbeat] - kiosk and board pages: say "still here" every
 *   30 s (or this many seconds) while connected, so staff desks see the device as connected
 * @param {number} [options.reconnectionDelayMax] - the longest pause between two attempts (ms)
 * @param {boolean} [options.recover] - also follow the device itself: "lost" as soon as the
 *   browser goes offline, and try again at once when it is back online or the page is shown
 *   again (instead of waiting for the next attempt); "reconnected" if the connection survived
 * @returns {import("socket.io-client").Socket}
 */
export function connectLive({
  auth = {},
  on = {},
  onStatus = () => {},
  heartbeat = false,
  reconnectionDelayMax = 5000,
  recover = false,
}) {
  const socket = io("/board", {
    auth,
    // A random key per page, sent with every request of the connection: a reverse proxy in
    // front of several server processes keeps the page on one of them by it (Socket.IO's
    // polling transport needs that; deploy/nginx/popup-loket.conf hashes it).
    query: { route: routeKey() },
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax,
  });
  let everConnected = false;
  // The state is also kept on <body data-live>, for styling and for tests to wait on.
  const report = (status) => {
    document.body.dataset.live = status;
    onStatus(status);
  };
  socket.on("connect", () => {
    report(everConnected ? "reconnected" : "connected");
    everConnected = true;
  });
  socket.on("disconnect", () => report("lost"));
  socket.on("connect_error", () => report("lost"));
  for (const [name, handler] of Object.entries(on)) {
    socket.on(name, handler);
  }
  // The server's message queue was away (several processes): events may have been missed.
  // Connect again: the server answers every connect with the current state.
  socket.on("resync", () => socket.disconnect().connect());
  if (heartbeat) {
    const seconds = typeof heartbeat === "number" ? heartbeat : 30;
    window.setInterval(() => {
      if (socket.connected) socket.emit("heartbeat");
    }, seconds * 1000);
  }
  if (recover) {
    window.addEventListener("offline", () => report("lost"));
    const wake = () => {
      if (socket.connected) {
        // The connection lived through it; events may still have been missed meanwhile.
        if (document.body.dataset.live === "lost") report("reconnected");
      } else {
        reconnectNow(socket);
      }
    };
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") wake();
    });
  }
  return socket;
}

/** A new random key for this page's connection (not stored: nothing to follow a device by). */
function routeKey() {
  const bytes = new Uint8Array(12);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Try to connect now instead of after the pause before the next attempt (no-op if connected). */
export function reconnectNow(socket) {
  if (!socket || socket.connected) return;
  // disconnect() ends the waiting attempt (and its pause); connect() starts a fresh one, which
  // keeps trying by itself when it fails.
  socket.disconnect().connect();
}

/**
 * fetch() that gives up after `timeout` ms (an AbortError, like a network error), so a server
 * that went away in the middle of an answer never leaves a page waiting forever.
 */
export async function fetchWithTimeout(url, options = {}, timeout = 10000) {
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), timeout);
  try {
    return await fetch(url, { ...options, signal: controller.signal });
  } finally {
    window.clearTimeout(timer);
  }
}

/** The CSRF token the page was rendered with (for fetch calls with the session cookie). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/**
 * Show the connection state in an element with data-state and translated data-* texts; a
 * text's {name} placeholders are filled from `values` (e.g. {time}).
 */
export function showConnection(element, status, values = {}) {
  if (!element) return;
  element.dataset.state = status;
  const text = (element.dataset[status] || "").replace(/\{(\w+)\}/g, (match, name) =>
    name in values ? String(values[name]) : match
  );
  element.textContent = text;
  element.hidden = status === "connected" || text === "";
  if (status === "reconnected") {
    window.setTimeout(() => {
      if (element.dataset.state === "reconnected") element.hidden = true;
    }, 4000);
  }
}
