// A ticket's status page on a phone: follows its own ticket live. Its own steps arrive as
// `ticket_updated`; when the stop's queue moves, the page asks for its new place. The server
// renders the text (in the resident's language); this script only swaps it in.
//
// "Ik ga weg" asks in a dialog, then leaves through the API; the one-tap questions of a
// finished ticket go through the API too, and the page shows the next question. Without this
// script the same forms post to the server (with its own confirmation page).
//
// Without a connection (the phone's network, or the server) the page keeps the last place it
// knew and says so in words, with the time of that place; it asks again as soon as the phone
// is back online, the page is shown again, or the live connection is back.
import { connectLive, csrfToken, fetchWithTimeout, showConnection } from "./live.js";

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
let ended = false; // the ticket ended and the page let its live connection go

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
  if (FINAL.has(now) && socket && !ended) {
    // The ticket ended: nothing more to follow. Closing the connection is no lost connection.
    ended = true;
    socket.disconnect();
  }
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
      if (ended) return;
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

// -- "Ik ga weg" and the one-tap questions ----------------------------------------------------
const apiUrl = body.dataset.apiUrl;
const notice = document.getElementById("status-notice");
const dialog = document.getElementById("leave-dialog");
const leaveError = document.getElementById("leave-error");
let sending = false;

function say(text) {
  if (!notice || !text) return;
  notice.textContent = text;
  notice.hidden = false;
}

async function post(path, payload) {
  return fetchWithTimeout(
    `${apiUrl}/${path}`,
    {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(payload),
      cache: "no-store",
    },
    10000,
  );
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !apiUrl) return;
  if (form.id === "leave-form" && dialog?.isConnected && typeof dialog.showModal === "function") {
    event.preventDefault();
    if (leaveError) leaveError.hidden = true;
    dialog.showModal();
    document.getElementById("leave-no")?.focus();
    return;
  }
  const kind = form.dataset.feedback;
  if (!kind || !event.submitter) return;
  event.preventDefault();
  answer(kind, event.submitter.value, form);
});

async function answer(kind, value, form) {
  if (sending) return;
  sending = true;
  form.classList.add("is-busy");
  for (const button of form.querySelectorAll("button")) button.setAttribute("aria-disabled", "true");
  const payload = kind === "rating" ? { rating: Number(value) } : { wish: value || null };
  try {
    const response = await post("feedback", payload);
    // 409: answered before (another tab): the page shows what is left to ask all the same.
    if (response.ok || response.status === 409) say(notice?.dataset.thanks);
    else say(notice?.dataset.failed);
    await refresh();
  } catch {
    say(notice?.dataset.failed);
    form.classList.remove("is-busy");
    for (const button of form.querySelectorAll("button")) button.removeAttribute("aria-disabled");
  } finally {
    sending = false;
  }
}

document.getElementById("leave-no")?.addEventListener("click", () => dialog?.close());
document.getElementById("leave-yes")?.addEventListener("click", async () => {
  if (sending) return;
  sending = true;
  const yes = document.getElementById("leave-yes");
  yes?.setAttribute("aria-disabled", "true");
  try {
    const response = await post("leave", {});
    // 409: the ticket ended meanwhile (called and served, or left in another tab).
    if (response.ok || response.status === 409) {
      dialog?.close();
      if (response.ok) say(notice?.dataset.left);
      await refresh();
    } else if (leaveError) {
      leaveError.hidden = false;
    }
  } catch {
    if (leaveError) leaveError.hidden = false;
  } finally {
    sending = false;
    yes?.removeAttribute("aria-disabled");
  }
});

// The device keeps this page and its assets (the service worker), where the browser allows one.
import("./offline-support.js").then((support) => support.registerWorker()).catch(() => {});
