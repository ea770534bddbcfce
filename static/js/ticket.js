// A ticket's status page on a phone: follows its own ticket live. Its own steps arrive as
// `ticket_updated`; when the stop's queue moves, the page asks for its new place. The server
// renders the text (in the resident's language); this script only swaps it in.
import { connectLive, showConnection } from "./live.js";

const body = document.body;
const token = body.dataset.token;
const liveUrl = body.dataset.liveUrl;
const holder = document.getElementById("ticket-live");
const connection = document.getElementById("connection");
const originalTitle = document.title;
const FINAL = new Set(["done", "no_show", "cancelled"]);
const QUEUE_EVENTS = [
  "ticket_issued", "ticket_called", "ticket_recalled", "ticket_finished",
  "ticket_no_show", "ticket_cancelled", "ticket_transferred",
];

let inFlight = false;
let again = false;
let lastRefresh = 0;
let socket = null;

function status() {
  const card = document.getElementById("ticket-status");
  return card ? card.dataset.status : "";
}

async function refresh() {
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  lastRefresh = Date.now();
  const before = status();
  try {
    const response = await fetch(liveUrl, { headers: { Accept: "text/html" }, cache: "no-store" });
    if (response.ok) {
      holder.innerHTML = await response.text();
      announceTurn(before, status());
    }
  } catch (error) {
    // Offline for a moment: the socket's reconnect brings a fresh state.
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

function announceTurn(before, now) {
  const called = now === "called" || now === "serving";
  if (called && before !== now && navigator.vibrate) {
    navigator.vibrate([400, 150, 400, 150, 400]);
  }
  document.title = called ? `${body.dataset.turnTitle} – ${originalTitle}` : originalTitle;
  if (FINAL.has(now) && socket) socket.disconnect();
}

// Others' steps move the queue: ask again, at most once every two seconds.
function queueMoved() {
  const wait = Math.max(0, 2000 - (Date.now() - lastRefresh));
  window.setTimeout(refresh, wait);
}

if (!FINAL.has(status())) {
  const handlers = { ticket_updated: refresh };
  for (const name of QUEUE_EVENTS) handlers[name] = queueMoved;
  socket = connectLive({
    auth: { ticket: token },
    on: handlers,
    onStatus: (state) => {
      showConnection(connection, state);
      if (state === "reconnected") refresh();
    },
  });
}
