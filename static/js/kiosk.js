// Kiosk touchscreen: one ticket (or booking) per tap, a barcode scanner that works on every
// screen, the keypads, an idle timer that returns to the (Dutch) start screen with a visible
// countdown, a live refresh when staff open or close the stop, and a screen that stays ours
// when the server is away. For every resident: the screen read aloud in the chosen language
// (speech.js, loaded when first needed), larger text and more contrast for this resident only, and
// a warning before the screen starts afresh that is shown and spoken, with one tap for more time.
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
  newResident();
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
    warningSeconds: Number(data.idleWarningSeconds || 20),
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
  const parts = ["#main", "body > header", "body > footer", "#idle-warning"];
  for (const element of parts.map((selector) => document.querySelector(selector))) {
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
  if (target.closest("#idle-extend") || target.closest("#idle-more")) {
    resetIdle();
    return;
  }
  if (toolClick(target)) return;
  if (target.closest("[data-new-resident]")) newResident();
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
// The start screen in Dutch, as the last resident left it, is the resting state; every other
// screen counts down. The last `warningSeconds` (at least 20 s) are a warning, shown and spoken:
// one tap anywhere ("Ja, meer tijd") gives the full time again. Larger text gives more time.
const LARGE_TEXT_TIME = 1.5;
let idleTimer = 0;
let idleLeft = 0;
let warned = false;
let focusBeforeWarning = null;

function idleTotal() {
  const quiet = Math.max(screen.idleSeconds - screen.warningSeconds, 1);
  const factor = preference("large") ? LARGE_TEXT_TIME : 1;
  return Math.round(quiet * factor) + screen.warningSeconds;
}

function showIdle() {
  const left = String(Math.max(idleLeft, 0));
  const counter = document.getElementById("idle-seconds");
  if (counter) counter.textContent = left;
  const warning = document.getElementById("idle-warning-seconds");
  if (warning && warned) warning.textContent = left;
}

function showWarning(shown) {
  const warning = document.getElementById("idle-warning");
  if (!warning || warned === shown) return;
  warned = shown;
  warning.hidden = !shown;
  document.body.dataset.idleWarning = shown ? "shown" : "";
  if (shown) {
    showIdle();
    focusBeforeWarning = document.activeElement;
    document.getElementById("idle-more")?.focus();
    // Two channels: on screen, and spoken (EAA Annex I §2(o)).
    const title = document.getElementById("idle-warning-title");
    const text = document.getElementById("idle-warning-text");
    say([title, text].map((part) => (part ? part.textContent.trim() : "")).join(" "));
  } else {
    stopSaying();
    if (focusBeforeWarning instanceof HTMLElement && focusBeforeWarning.isConnected) {
      focusBeforeWarning.focus();
    }
    focusBeforeWarning = null;
  }
}

function resetIdle() {
  idleLeft = idleTotal();
  showWarning(false);
  showIdle();
}

function startIdle() {
  window.clearInterval(idleTimer);
  idleTimer = 0;
  warned = false;
  if (screen.resting && screen.dutch && !personalised()) return;
  resetIdle();
  idleTimer = window.setInterval(() => {
    if (requests.pending) return; // a request is on its way: its answer decides
    idleLeft -= 1;
    if (idleLeft <= screen.warningSeconds && idleLeft > 0) showWarning(true);
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

// -- this resident's preferences: larger text, more contrast ---------------------------------
// Kept in sessionStorage while one resident uses the kiosk (each screen is a new page in the
// same document), dropped when the idle timer or "Klaar" starts afresh.
const PREFERENCES = { large: "is-large", contrast: "is-contrast" };
const TOGGLES = { large: "toggle-large", contrast: "toggle-contrast" };
const KEPT_TICKET = "kiosk-ticket";

function preference(name) {
  try {
    return window.sessionStorage.getItem(`kiosk-${name}`) === "1";
  } catch {
    return false;
  }
}

function setPreference(name, on) {
  try {
    if (on) window.sessionStorage.setItem(`kiosk-${name}`, "1");
    else window.sessionStorage.removeItem(`kiosk-${name}`);
  } catch {
    // No storage: the choice holds for this screen only.
  }
}

function personalised() {
  return Object.keys(PREFERENCES).some((name) => preference(name));
}

function applyPreferences() {
  const root = document.documentElement;
  for (const [name, className] of Object.entries(PREFERENCES)) {
    const on = preference(name);
    root.classList.toggle(className, on);
    document.getElementById(TOGGLES[name])?.setAttribute("aria-pressed", String(on));
  }
}

function newResident() {
  for (const name of Object.keys(PREFERENCES)) setPreference(name, false);
  try {
    window.sessionStorage.removeItem(KEPT_TICKET);
  } catch {
    // nothing kept
  }
  stopSaying();
}

function toolClick(target) {
  const tool = target.closest(".kiosk-tool");
  if (!tool) return false;
  if (tool.id === "read-aloud") {
    readScreen(tool);
    return true;
  }
  const name = Object.keys(TOGGLES).find((key) => TOGGLES[key] === tool.id);
  if (!name) return false;
  setPreference(name, !preference(name));
  applyPreferences();
  if (name === "large") resetIdle(); // more time with larger text, from now on
  // On the resting start screen a choice starts the idle timer: it must be undone at idle.
  if (screen.resting) startIdle();
  return true;
}

// -- read aloud -------------------------------------------------------------------------------
// speech.js plays speech made on the server (the kiosk's Chromium may have no voices) and falls
// back to the browser's own. It is imported when first needed: a kiosk whose speech fails still
// works in every other way. Only texts marked data-read are read: never a name or an e-mail.
let speech = null;
let reading = 0;

function speechModule() {
  if (!speech) {
    speech = import("./speech.js").catch((error) => {
      speech = null; // try again next time
      throw error;
    });
  }
  return speech;
}

function say(text) {
  const lang = document.documentElement.lang || "nl";
  if (!text) return Promise.resolve();
  return speechModule()
    .then(({ speak }) => speak(text, lang))
    .catch(() => {});
}

function stopSaying() {
  reading += 1;
  const button = document.getElementById("read-aloud");
  if (button) button.setAttribute("aria-pressed", "false");
  if (speech) speech.then(({ stopSpeaking }) => stopSpeaking()).catch(() => {});
}

/**
 * The screen's main text, in reading order: what is marked data-read and shown, one phrase per
 * element. Each phrase is its own audio on the server, so a screen's fixed texts are made once
 * (`loket speech prerender` makes them ahead) and only the parts with a number are new.
 */
function screenPhrases() {
  const parts = [];
  for (const element of document.querySelectorAll("main [data-read]")) {
    if (element.closest("[hidden]") || element.getClientRects().length === 0) continue;
    const text = element.innerText.replace(/\s+/g, " ").trim();
    if (text) parts.push(text);
  }
  return parts;
}

function readScreen(button) {
  if (button.getAttribute("aria-pressed") === "true") {
    stopSaying();
    return;
  }
  stopSaying();
  const mine = reading;
  button.setAttribute("aria-pressed", "true");
  screenPhrases()
    .reduce((before, phrase) => before.then(() => mine === reading && say(phrase)), Promise.resolve())
    .finally(() => {
      if (mine === reading) button.setAttribute("aria-pressed", "false");
    });
}

// A product button reached by keyboard (or a keypad that moves the focus) reads itself.
document.addEventListener("focusin", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  const product = target.closest(".product-button");
  if (!product || !product.matches(":focus-visible")) return;
  stopSaying();
  say(product.innerText.replace(/\s+/g, " ").trim());
});

// -- the number stays in view after the survey ------------------------------------------------
// The survey never learns the ticket (kiosk/research/survey.py): the confirmation leaves its
// number and QR code on this kiosk only, and the thank-you screen shows them.
function keepTicket() {
  const label = document.getElementById("ticket-label");
  const qr = document.getElementById("ticket-qr");
  try {
    if (label && qr) {
      const kept = { label: label.textContent.trim(), qr: qr.getAttribute("src"), alt: qr.alt };
      window.sessionStorage.setItem(KEPT_TICKET, JSON.stringify(kept));
      return;
    }
    const shown = document.getElementById("kept-ticket");
    const kept = JSON.parse(window.sessionStorage.getItem(KEPT_TICKET) || "null");
    if (!shown || !kept || !kept.label) return;
    document.getElementById("kept-label").textContent = kept.label;
    const image = document.getElementById("kept-qr");
    image.src = kept.qr;
    image.alt = kept.alt;
    shown.hidden = false;
  } catch {
    // no storage: nothing to show
  }
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
  if (!((screen.resting && screen.dutch && !personalised()) || screen.closed)) return;
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
  stopSaying();
  applyPreferences();
  keepTicket();
  rememberLanguage(document.documentElement.lang);
  followLive();
  startIdle();
  startResting();
  showConnection();
  const field = document.getElementById("code-input") || document.getElementById("postcode-input");
  if (field && !(field.id === "code-input" && field.value)) field.focus();
}

initScreen();
