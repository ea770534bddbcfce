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
 * @returns {import("socket.io-client").Socket}
 */
export function connectLive({ auth = {}, on = {}, onStatus = () => {}, heartbeat = false }) {
  const socket = io("/board", {
    auth,
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
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
  if (heartbeat) {
    const seconds = typeof heartbeat === "number" ? heartbeat : 30;
    window.setInterval(() => {
      if (socket.connected) socket.emit("heartbeat");
    }, seconds * 1000);
  }
  return socket;
}

/** The CSRF token the page was rendered with (for fetch calls with the session cookie). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** Show the connection state in an element with data-state and translated data-* texts. */
export function showConnection(element, status) {
  if (!element) return;
  element.dataset.state = status;
  const text = element.dataset[status] || "";
  element.textContent = text;
  element.hidden = status === "connected" || text === "";
  if (status === "reconnected") {
    window.setTimeout(() => {
      if (element.dataset.state === "reconnected") element.hidden = true;
    }, 4000);
  }
}
