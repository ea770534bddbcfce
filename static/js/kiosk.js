// Kiosk touchscreen: one ticket (or booking) per tap, a barcode scanner that works on every
// screen, the keypads, an idle timer that returns to the (Dutch) start screen with a visible
// countdown, a live refresh when staff open or close the stop, and a screen that stays ours
// when the server is away.
//
// Every screen change goes through kiosk-navigation.js (fetch, then the answer replaces the page
// in place), so this module runs once: what belongs to one screen is set up by initScreen()
// after each change; listeners on document and window are bound once, below.
import { connectLive } from "./live.js";
import { isKioskUrl, screenNavigator } from "./kiosk-navigation.js";
import { registerWorker, rememberLanguage, watchHealth } from "./offline-support.js";

// A resting start screen looks again now and then: a closed kiosk is in no stop's room yet, and a
// change made from the command line reaches no page when the server runs without a message queue.
const RESTING_REFRESH_MS = 60 * 1000;
// The outage notice as first rendered, for an answer without one (an error page).
const outageTemplate = document.getElementById("outage")?.cloneNode(true) ?? null;

let screen = describeScreen();

// -- requests and the server's health -------------------------------------------------------
const requests = screenNavigator({
  onAnswer: () => health.ok(false),
  onTrouble: () => {
    health.failed(true);
    showConnection();
  },
  onScreen: () => initScreen(),
});
const health = watchHealth({
  onChange: (online) => {
    // Back: a resting screen starts fresh (the stop may have changed); a request on its way
    // lands by itself.
    if (online && screen.resting && !requests.pending) refresh();
    if (online) keepWorker();
    showConnection();
  },
});

function refresh() {
  if (requests.pending) return;
  requests.go({ method: "GET", url: window.location.href, replace: true });
}

function goHome() {
  requests.go({ method: "GET", url: screen.homeUrl, replace: true });
}

function describeScreen() {
  const data = document.body.dataset;
  const home = data.screen === "home";
  return {
    home,
    closed: Boolean(data.closed),
    // The screens a resident finds the kiosk on: out of service shows on the whole screen.
    resting: home || Boolean(data.closed),
    dutch: document.documentElement.lang === "nl",
    confirmation: Boolean(data.confirmation),
    idleSeconds: Number(data.idleSeconds || 45),
    homeUrl: data.homeUrl || "/kiosk?lang=nl",
  };
}

// -- the outage notice ------------------------------------------------------------------------
function showConnection() {
  const body = document.body;
  const offline = !health.online;
  const pending = requests.pending;
  const retrying = Boolean(pending && pending.tries > 0);
  body.dataset.connection = offline ? "offline" : "online";
  if (retrying) body.dataset.request = "retrying";
  else delete body.dataset.request;

  let outage = document.getElementById("outage");
  if (!outage && outageTemplate) {
    outage = outageTemplate.cloneNode(true);
    body.append(outage);
  }
  const mode = retrying || (offline && screen.resting) ? "screen" : offline ? "band" : "";
  if (outage) {
    outage.dataset.mode = mode;
    outage.hidden = mode === "";
    const parts = outage.querySelectorAll("[data-outage]");
    for (const part of parts) {
      const shown =
        part.dataset.outage === "tap"
          ? retrying && pending.method === "POST"
          : mode === "screen" && !retrying && screen.resting;
      part.hidden = !shown;
    }
  }
  // While the notice covers the screen, what is under it cannot be reached (nor by keyboard).
  for (const element of [document.getElementById("main"), document.querySelector("body > header")]) {
    if (element) element.inert = mode === "screen";
  }
  // No taps that cannot work: the buttons that send a form wait for the server.
  for (const button of document.querySelectorAll('main form button:not([type="button"])')) {
    if (offline && !button.disabled) {
      button.disabled = true;
      button.setAttribute("aria-disabled", "true");
      button.dataset.offline = "true";
    } else if (!offline && button.dataset.offline) {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      delete button.dataset.offline;
    }
  }
}

// -- links and forms: sent by script ----------------------------------------------------------
document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  if (keypadClick(target)) return;
  if (target.closest("#idle-extend")) {
    resetIdle();
    return;
  }
  const link = target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, window.location.href);
  if (!isKioskUrl(url)) return;
  const here = new URL(window.location.href);
  if (url.hash && url.pathname === here.pathname && url.search === here.search) return; // skip link
  event.preventDefault();
  requests.go({ method: "GET", url: url.href });
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const url = new URL(form.action, window.location.href);
  if (!isKioskUrl(url)) return;
  event.preventDefault();
  send(form, event.submitter);
});

/** Send a form by script; the pressed button's name and value go with it. */
function send(form, submitter) {
  const data = new FormData(form);
  if (submitter && submitter.name) data.append(submitter.name, submitter.value);
  const url = new URL(form.action, window.location.href);
  if (form.method.toLowerCase() === "get") {
    url.search = new URLSearchParams(data).toString();
    requests.go({ method: "GET", url: url.href });
    return;
  }
  // One tap, one request: a second tap while the first is on its way is dropped.
  if (!requests.go({ method: "POST", url: url.href, body: new URLSearchParams(data) })) return;
  for (const button of form.querySelectorAll("button")) {
    // The pressed button stays as it is: it shows what was chosen.
    if (button !== submitter) button.disabled = true;
    button.setAttribute("aria-disabled", "true");
  }
  form.classList.add("is-busy");
  const busy = document.getElementById("kiosk-busy");
  if (busy) busy.hidden = false;
}

window.addEventListener("popstate", () => {
  requests.go({ method: "GET", url: window.location.href, replace: true });
});

// -- the barcode scanner ---------------------------------------------------------------------
// A USB scanner types what it reads (a booking code, or the link on a slip) and Enter, like a
// keyboard. Outside a text field those keys land here: Enter checks the code in, on any screen.
let typed = "";
let lastKey = 0;
window.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  const scanForm = document.getElementById("scan-form");
  if (!scanForm) return;
  const now = Date.now();
  if (now - lastKey > 1500) typed = ""; // a scanner types fast; old keys are no part of it
  lastKey = now;
  if (event.key === "Enter") {
    if (typed.trim().length >= 6) {
      event.preventDefault(); // no click on a focused button
      scanForm.elements.code.value = typed.trim();
      send(scanForm, null);
    }
    typed = "";
  } else if (event.key.length === 1) {
    typed += event.key;
  }
});

// -- the keypads: a booking code, the four digits of a postcode ------------------------------
const formatCode = (raw) => {
  const plain = raw.replace(/[^0-9A-Za-z]/g, "").toUpperCase();
  return plain.length > 3 && plain.length <= 6 ? `${plain.slice(0, 3)}-${plain.slice(3)}` : plain;
};

// Keep the focus in the field: the keys do not take it, and a scanner's keys go there too.
document.addEventListener("mousedown", (event) => {
  if (event.target instanceof Element && event.target.closest(".keypad")) event.preventDefault();
});

function keypadClick(target) {
  const key = target.closest(".keypad [data-key]");
  const codeInput = document.getElementById("code-input");
  if (key && codeInput) {
    const plain = codeInput.value.replace(/[^0-9A-Za-z]/g, "");
    if (key.dataset.key === "back") codeInput.value = formatCode(plain.slice(0, -1));
    else if (key.dataset.key === "clear") codeInput.value = "";
    else if (plain.length < 6) codeInput.value = formatCode(plain + key.dataset.key);
    codeInput.removeAttribute("aria-invalid");
    return true;
  }
  const digit = target.closest("#survey-keypad [data-digit]");
  const postcode = document.getElementById("postcode-input");
  if (digit && postcode) {
    const digits = postcode.value.replace(/\D/g, "");
    if (digit.dataset.digit === "back") postcode.value = digits.slice(0, -1);
    else if (digits.length < 4) postcode.value = digits + digit.dataset.digit;
    postcode.removeAttribute("aria-invalid");
    return true;
  }
  return false;
}

// -- idle timer -----------------------------------------------------------------------------
// The start screen in Dutch is the resting state; every other screen counts down.
let idleTimer = 0;
let idleLeft = 0;

function showIdle() {
  const counter = document.getElementById("idle-seconds");
  if (counter) counter.textContent = String(Math.max(idleLeft, 0));
}

function resetIdle() {
  idleLeft = screen.idleSeconds;
  showIdle();
}

function startIdle() {
  window.clearInterval(idleTimer);
  idleTimer = 0;
  if (screen.resting && screen.dutch) return;
  resetIdle();
  idleTimer = window.setInterval(() => {
    if (requests.pending) return; // a request is on its way: its answer decides
    idleLeft -= 1;
    showIdle();
    if (idleLeft <= 0) {
      window.clearInterval(idleTimer);
      idleTimer = 0;
      goHome();
    }
  }, 1000);
}

for (const type of ["pointerdown", "keydown", "touchstart", "wheel"]) {
  window.addEventListener(type, () => resetIdle(), { passive: true });
}

// -- the slip: printing, printed, or a fault in plain words ----------------------------------
function showPrint(status, fault) {
  const notice = document.getElementById("print-notice");
  if (!notice) return;
  const state = status === "printed" ? "printed" : status === "queued" ? "printing" : "fault";
  // "printed" is final: a late retry report of an earlier attempt must not undo it.
  if (notice.dataset.state === "printed" || notice.dataset.state === "none") return;
  notice.dataset.state = state;
  notice.className = `print-notice print-notice--${state}`;
  document.getElementById("print-title").textContent = notice.dataset[`${state}Title`];
  const reasons = JSON.parse(notice.dataset.faultReasons);
  const reason = state === "fault" ? `${reasons[fault] || reasons.fault} ` : "";
  document.getElementById("print-text").textContent = reason + notice.dataset[`${state}Text`];
}

// -- live: the stop opened or closed; this ticket's slip -----------------------------------
// One connection for all screens; what it listens to (auth: the stop, a ticket, a booking)
// follows the screen, and changes by connecting again.
let socket = null;
let listening = "";
let liveStatus = "";
let rejoining = false;

function liveAuth() {
  const data = document.body.dataset;
  const auth = data.stop ? { stop: Number(data.stop) } : {};
  if (data.ticket) auth.ticket = data.ticket;
  if (data.booking) auth.booking = data.booking;
  return auth;
}

function onLiveStatus(status) {
  if (rejoining && status !== "lost") {
    // The first connection of this screen, whatever came before it.
    rejoining = false;
    document.body.dataset.live = "connected";
  } else if (status === "lost" && !rejoining) {
    health.check(); // at once: the server may be gone
  } else if (status === "reconnected") {
    // After the server was away, start fresh: the stop may have changed meanwhile.
    health.check();
    if (screen.resting) refresh();
  }
  liveStatus = document.body.dataset.live || "";
}

function followLive() {
  const auth = liveAuth();
  const wanted = JSON.stringify(auth);
  if (socket === null) {
    listening = wanted;
    socket = connectLive({
      auth,
      heartbeat: true, // desks show whether this kiosk is connected
      reconnectionDelayMax: 2000,
      on: {
        stop_updated: () => {
          if (!screen.confirmation) refresh();
        },
        print_status: (data) => showPrint(data && data.status, data && data.fault),
      },
      onStatus: onLiveStatus,
    });
    return;
  }
  if (liveStatus) document.body.dataset.live = liveStatus; // the new page has no such mark
  if (wanted === listening) return;
  listening = wanted;
  socket.auth = auth;
  if (socket.connected) {
    rejoining = true;
    socket.disconnect();
    socket.connect();
  }
  // Not connected: the next attempt sends the new auth.
}

// -- the service worker: keeps this screen's assets and the offline page ---------------------
let workers = 0;
let upgraded = false;
if ("serviceWorker" in navigator) {
  workers = navigator.serviceWorker.controller ? 1 : 0;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    workers += 1;
    // A newer worker took over: this page's scripts are old. Load it anew when it rests.
    if (workers > 1) upgraded = true;
  });
}
// Again after an outage and while resting: an install the server did not live through is
// tried anew (this page is never loaded again), and a newer worker is looked for.
function keepWorker() {
  registerWorker()
    .then((worker) => worker && worker.active && worker.update())
    .catch(() => {});
}
keepWorker();

let restTimer = 0;
function startResting() {
  window.clearInterval(restTimer);
  restTimer = 0;
  if (!((screen.resting && screen.dutch) || screen.closed)) return;
  restTimer = window.setInterval(() => {
    if (!health.online || requests.pending) return;
    if (upgraded) {
      window.location.reload();
      return;
    }
    keepWorker();
    refresh();
  }, RESTING_REFRESH_MS);
}

// -- each screen ------------------------------------------------------------------------------
function initScreen() {
  screen = describeScreen();
  rememberLanguage(document.documentElement.lang);
  followLive();
  startIdle();
  startResting();
  showConnection();
  const field = document.getElementById("code-input") || document.getElementById("postcode-input");
  if (field && !(field.id === "code-input" && field.value)) field.focus();
}

initScreen();
