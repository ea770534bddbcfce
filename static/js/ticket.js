// A ticket's status page on a phone: follows its own ticket live. Its own steps arrive as
// `ticket_updated`; when the stop's queue moves, the page asks for its new place. The server
// renders the text (in the resident's language); this script only swaps it in.
//
// Without a connection (the phone's network, or the server) the page keeps the last place it
// knew and says so in words, with the time of that place; it asks again as soon as the phone
// is back online, the page is shown again, or the live connection is back.
import { connectLive, fetchWithTimeout, showConnection } from "./live.js";

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
// Western digits in every language, as the server writes its times (Arabic too: "14:05").
const lang = `${document.documentElement.lang || "nl"}-u-nu-latn`;
const timeFormat = (() => {
  const options = { hour: "2-digit", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(lang, { ...options, timeZone: body.dataset.timezone || undefined });
  } catch {
    return new Intl.DateTimeFormat(lang, options);
  }
})();

let inFlight = false;
let again = false;
let lastRefresh = 0;
let socket = null;
let online = true; // as far as this page knows
let knownAt = new Date(); // when the place on screen was last known to be right

function status() {
  const card = document.getElementById("ticket-status");
  return card ? card.dataset.status : "";
}

function showOnline(state) {
  online = state !== "lost";
  showConnection(connection, state, { time: timeFormat.format(knownAt) });
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
    const response = await fetchWithTimeout(
      liveUrl, { headers: { Accept: "text/html" }, cache: "no-store" }, 10000
    );
    if (response.ok) {
      holder.innerHTML = await response.text();
      knownAt = new Date();
      if (!online) showOnline("lost"); // still without the live connection: a newer time
      announceTurn(before, status());
    }
  } catch (error) {
    // Offline for a moment: what is on screen stays; the next reconnect asks again.
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
  knownAt = new Date();
  const wait = Math.max(0, 2000 - (Date.now() - lastRefresh));
  window.setTimeout(refresh, wait);
}

if (!FINAL.has(status())) {
  const handlers = {
    ticket_updated: () => {
      knownAt = new Date();
      refresh();
    },
  };
  for (const name of QUEUE_EVENTS) handlers[name] = queueMoved;
  socket = connectLive({
    auth: { ticket: token },
    on: handlers,
    reconnectionDelayMax: 2500,
    recover: true,
    onStatus: (state) => {
      // Up to the moment the connection went, the page heard of every change.
      if (state === "lost" && online) knownAt = new Date();
      showOnline(state);
      if (state === "reconnected") refresh();
    },
  });
  // A phone in a pocket: back online, or the page shown again, means "ask now".
  window.addEventListener("online", () => refresh());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
}

// The device keeps this page and its assets (the service worker), where the browser allows one.
import("./offline-support.js").then((support) => support.registerWorker()).catch(() => {});
