// Display board in the waiting room: renders every board_state the server sends on (re)connect,
// applies the stop's ticket events, and announces each call: a flash, a chime, then the call
// spoken in the page's language (and the stop's second language, if set) with the server's
// speech (static/js/speech.js). Every call is announced, in order, none dropped; each within a
// bounded time (see "sound" below). Sound can be turned off and on with the button in the
// footer; with sound off or blocked by the browser the board keeps working silently and tells
// the server, so staff see it as muted in the desk's device list.
//
// Every desk with a called or served ticket is on screen (the latest call largest; board.css
// sizes the others by how many there are), then the calls that ended, as far as there is room.
// Without the server the board keeps its last state, greyed out, says since when, tries again
// by itself for as long as it takes; it never reloads into the browser's own error page.
//
// Between calls it rotates the information slides coordinators wrote (never while a call is
// new or being announced: the call wins), shows the time, and, on a paired board of an open
// stop that allows it, the QR code for taking a ticket on a phone, fetched anew every minute
// and hidden as soon as the server is away (see "join QR" below).
import { connectLive, fetchWithTimeout, showConnection } from "./live.js";
import { speak, stopSpeaking } from "./speech.js";

const body = document.body;
const lang = body.dataset.lang || document.documentElement.lang || "nl";
const maxEarlier = Number(body.dataset.maxEarlier || 6);
const renderedStop = body.dataset.stop ? Number(body.dataset.stop) : null;
const liveStop = body.dataset.liveStop ? Number(body.dataset.liveStop) : null;
const timeFormat = (() => {
  const options = { hour: "2-digit", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(lang, { ...options, timeZone: body.dataset.timezone || undefined });
  } catch {
    return new Intl.DateTimeFormat(lang, options); // an unknown zone: the device's own
  }
})();

const $ = (id) => document.getElementById(id);
const connection = $("board-connection");
const soundButton = $("board-sound");

// How long a new call stays highlighted (the animation itself runs shorter).
const HIGHLIGHT_MS = 8000;
// The most announcements a reconnect may catch up on (the rest is on screen).
const CATCH_UP = 3;

// -- speech text ------------------------------------------------------------------------------

/** "A012" -> {letter: "A", number: "12"}: spoken as a letter and a plain number. */
function splitLabel(label) {
  const match = /^([A-Za-z]+)0*(\d+)$/.exec(label || "");
  if (!match) return { letter: label || "", number: "" };
  return { letter: match[1].toUpperCase(), number: String(Number(match[2])) };
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : ""));
}

/** "Balie 2" -> "balie 2" inside a sentence; names in capitals ("ICT") stay as they are. */
function inSentence(name) {
  return /^\p{Lu}\p{Ll}/u.test(name) ? name[0].toLowerCase() + name.slice(1) : name;
}

function deskName(call) {
  return call.desk ? call.desk.name : "";
}

/**
 * What is said for a call in one language: "Nummer A12, balie 2". The letter goes right before
 * the number: espeak-ng reads "A12" as the letter A and twelve in all six voices, where a lone
 * "A" would be the English article.
 */
function spokenText(call, template) {
  const { letter, number } = splitLabel(call.label);
  const text = fill(template || "{letter} {number}, {desk}", {
    letter: `${letter}${number}`,
    number: "",
    desk: inSentence(deskName(call)),
  });
  return text.replace(/\s+/g, " ").replace(/\s+([,.،])/g, "$1").trim();
}

function productName(product) {
  if (!product) return "";
  const names = product.names || {};
  return names[lang] || names.nl || product.code || "";
}

const callKey = (call) => `${call.label}|${call.called_at || ""}`;

// -- sound: chime and speech, one announcement at a time --------------------------------------
//
// Every call is announced, in the order the calls came, none dropped (recalls too): the queue
// has no cap. The longest an announcement takes is bounded: a full chime (CHIME_MS) when the
// board was quiet, a short one (SHORT_CHIME_MS) between announcements of a backlog, then each
// language's phrase, cut off after PHRASE_MAX_MS (loading included). So the k-th call of a
// burst starts being announced at most (k - 1) x ANNOUNCEMENT_MAX_MS after the first.

const CHIME_MS = 1100;
const SHORT_CHIME_MS = 450;
const PHRASE_MAX_MS = 6000;
// The languages of the announcement: the page's, then the stop's second one (if any).
const voices = [{ lang, say: body.dataset.say }];
if (body.dataset.alsoLang && body.dataset.alsoLang !== lang) {
  voices.push({ lang: body.dataset.alsoLang, say: body.dataset.alsoSay || body.dataset.say });
}
const ANNOUNCEMENT_MAX_MS = CHIME_MS + voices.length * PHRASE_MAX_MS;

const SOUND_KEY = "board-sound";
let audioContext = null;
let soundBlocked = false;
let soundOff = (() => {
  try {
    return window.localStorage.getItem(SOUND_KEY) === "off";
  } catch {
    return false;
  }
})();

const pause = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

// What the board did, for tests and for whoever looks at the screen's console:
// window.loketBoard.log has one entry per announcement ({label, texts, queuedAt, startedAt,
// endedAt, outcomes}); <body data-announced> counts the finished ones.
const record = { log: [], announcementMaxMs: ANNOUNCEMENT_MAX_MS, phraseMaxMs: PHRASE_MAX_MS };
window.loketBoard = record;

function audio() {
  if (audioContext) return audioContext;
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  try {
    audioContext = new Context();
  } catch {
    return null;
  }
  return audioContext;
}

/** A soft two-tone chime (E5, then C5, with a quiet octave for warmth), made on the spot;
 * `short`: the second tone only, quicker, between the announcements of a backlog. */
async function chime(short = false) {
  const context = audio();
  if (!context) return;
  if (context.state !== "running") {
    try {
      await Promise.race([context.resume(), pause(300)]);
    } catch {
      // A refused resume is handled below like a suspended context.
    }
  }
  if (context.state !== "running") {
    setBlocked(true);
    return;
  }
  const start = context.currentTime + 0.05;
  const notes = short ? [[523.25, 0, 0.4]] : [
    [659.25, 0, 1.1],
    [523.25, 0.5, 1.1],
  ];
  for (const [frequency, offset, length] of notes) {
    for (const [multiple, level] of [
      [1, 0.28],
      [2, 0.06],
    ]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      const at = start + offset;
      oscillator.type = "sine";
      oscillator.frequency.value = frequency * multiple;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(level, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + length + 0.05);
    }
  }
  // Speech starts as the (last) tone fades.
  await pause(short ? SHORT_CHIME_MS : CHIME_MS);
}

const queue = [];
let announcing = false;

function announce(call) {
  // No cap: every call is said (all of them are on screen too, but not everyone can see).
  queue.push({
    label: call.label,
    texts: voices.map((v) => ({ lang: v.lang, text: spokenText(call, v.say) })),
    queuedAt: performance.now(),
  });
  if (!announcing) runAnnouncements();
}

async function runAnnouncements() {
  announcing = true;
  let backlog = false; // this one waited for the one before: a short chime
  while (queue.length > 0) {
    const item = queue.shift();
    const entry = { ...item, startedAt: performance.now(), outcomes: [] };
    record.log.push(entry);
    if (!soundOff) {
      await chime(backlog);
      for (const { lang: speechLang, text } of item.texts) {
        const outcome = await speak(text, speechLang, { maxMs: PHRASE_MAX_MS });
        entry.outcomes.push(outcome);
        if (outcome === "blocked") setBlocked(true);
        else if (outcome === "played" || outcome === "cut") setBlocked(false);
      }
    }
    entry.endedAt = performance.now();
    body.dataset.announced = String(record.log.length);
    backlog = queue.length > 0;
  }
  announcing = false;
  renderSlides();
}

// -- sound on/off, and telling staff when this board is muted ---------------------------------

let reportSound = () => {};

function renderSound() {
  const muted = soundOff || soundBlocked;
  body.dataset.sound = soundOff ? "off" : soundBlocked ? "blocked" : "on";
  if (soundButton) {
    soundButton.hidden = renderedStop === null;
    soundButton.textContent = muted ? soundButton.dataset.on : soundButton.dataset.off;
    soundButton.classList.toggle("is-muted", muted);
  }
  reportSound();
}

function setBlocked(value) {
  if (soundBlocked === value) return;
  soundBlocked = value;
  renderSound();
}

if (soundButton) {
  soundButton.addEventListener("click", () => {
    if (soundOff || soundBlocked) {
      // A tap is the user gesture browsers want before they play sound.
      soundOff = false;
      const context = audio();
      if (context) context.resume().catch(() => {});
      soundBlocked = false;
    } else {
      soundOff = true;
      stopSpeaking();
    }
    try {
      window.localStorage.setItem(SOUND_KEY, soundOff ? "off" : "on");
    } catch {
      // Without storage the choice lasts until the page reloads.
    }
    renderSound();
  });
}

// -- screen-reader announcement ---------------------------------------------------------------

const announcer = $("board-announcer");

function tellScreenReaders(call) {
  if (!announcer) return;
  const line = document.createElement("p");
  line.textContent = fill(body.dataset.announce || "{label}, {desk}", {
    label: call.label,
    desk: deskName(call),
  });
  // Each call is a new line (so a recall with the same words is read again); keep a few.
  announcer.append(line);
  while (announcer.childElementCount > 3) announcer.firstElementChild.remove();
}

// -- rendering --------------------------------------------------------------------------------

let calls = []; // every ticket called or served at a desk now, newest call first
let earlier = []; // calls that ended (done, no-show), newest first
let waiting = []; // [{product, count}] in the stop's product order
let highlightTimer = 0;

function fromTemplate(id) {
  const template = $(id);
  return template.content.firstElementChild.cloneNode(true);
}

function setField(element, name, value) {
  const field = element.querySelector(`[data-field="${name}"]`);
  if (field) field.textContent = value;
}

/** The product's pictogram (decorative), or none. */
function setIcon(element, product) {
  const icon = element.querySelector('[data-field="icon"]');
  if (!icon) return;
  const name = product && product.icon;
  icon.hidden = !name;
  if (name) icon.src = `${body.dataset.icons || "/static/vendor/icons/"}${name}.svg`;
  else icon.removeAttribute("src");
}

function callElement(templateId, call) {
  const element = fromTemplate(templateId);
  element.dataset.key = callKey(call);
  element.dataset.label = call.label;
  setField(element, "label", call.label);
  setField(element, "desk", deskName(call));
  setField(element, "product", productName(call.product));
  return element;
}

/**
 * The side column has the room the layout gives it (on a wall screen: what is left under the
 * header), whatever is in it. When its content is taller, take whole items off the end: the
 * next stops first, then the oldest calls that ended; a panel left without items goes. On a
 * page that flows (zoomed in, a narrow window) nothing overflows and all of it stays.
 */
function fitSide() {
  const side = document.querySelector(".board-side");
  if (!side) return;
  const panels = [document.querySelector(".board-panel--next"), $("board-earlier-panel")].filter(
    Boolean
  );
  // What a panel can give up, the first to go last: the calls that ended; the next stops'
  // places (each under its name) after their later dates, so a place keeps its first date
  // as long as another place is still shown.
  const itemsOf = (panel) => {
    const places = [...panel.querySelectorAll(":scope > ul > li, :scope > ol > li")];
    const laterDates = [...panel.querySelectorAll(".board-next__dates > li:not(:first-child)")];
    return [...places, ...laterDates];
  };
  for (const panel of panels) {
    panel.classList.remove("is-full");
    for (const item of panel.querySelectorAll("li")) item.hidden = false;
  }
  const overflows = () => side.scrollHeight > side.clientHeight + 1;
  for (const panel of panels) {
    const items = itemsOf(panel);
    const any = items.length > 0;
    while (overflows() && items.length > 0) items.pop().hidden = true;
    if (overflows() || (any && items.length === 0)) {
      panel.classList.add("is-full");
    }
  }
}

function renderEarlier() {
  const list = $("board-earlier");
  const panel = $("board-earlier-panel");
  if (!list) return;
  list.replaceChildren(
    ...earlier.map((call) => callElement("board-previous-template", call))
  );
  if (panel) panel.hidden = earlier.length === 0;
  fitSide();
}

// -- information slides: between calls, never over one -------------------------------------
//
// The band under the calls shows one slide at a time, the next every SLIDE_MS. It is hidden
// (the calls get all the room) while a call is new (CALL_FIRST_MS after it came) or any call is
// being announced, and when more desks call than leave room for it. <body data-slide> names the
// slide on screen ("" for none), for tests and for whoever looks at the page.

const SLIDE_MS = 12000;
const CALL_FIRST_MS = HIGHLIGHT_MS;
const SLIDES_UP_TO_CALLS = 3;
const alsoLang = body.dataset.alsoLang && body.dataset.alsoLang !== lang ? body.dataset.alsoLang : null;
let slides = [];
let slideIndex = 0;
let slideTimer = 0;
let callFirstUntil = 0;
let callFirstTimer = 0;

function slideElement(slide) {
  const element = fromTemplate("board-slide-template");
  const texts = slide.texts || {};
  const own = texts[lang];
  const main = own || texts.nl || "";
  element.dataset.slide = String(slide.id);
  const icon = element.querySelector('[data-field="icon"]');
  if (icon) {
    icon.hidden = !slide.icon;
    if (slide.icon) icon.src = `${body.dataset.icons || "/static/vendor/icons/"}${slide.icon}.svg`;
  }
  const text = element.querySelector('[data-field="text"]');
  text.textContent = main;
  text.lang = own ? lang : "nl";
  const also = element.querySelector('[data-field="also"]');
  const other = alsoLang ? texts[alsoLang] : "";
  also.textContent = other || "";
  also.lang = alsoLang || "";
  also.hidden = !other || other === main;
  return element;
}

/** A new list of slides (board_state, board_slides): keep showing the same one if it stayed. */
function setSlides(list) {
  const band = $("board-slides");
  if (!band || !Array.isArray(list)) return;
  const shown = band.querySelector(".board-slide:not([hidden])");
  const shownId = shown ? shown.dataset.slide : null;
  slides = list;
  band.replaceChildren(...slides.map(slideElement));
  const again = slides.findIndex((slide) => String(slide.id) === shownId);
  slideIndex = again >= 0 ? again : 0;
  renderSlides();
}

/** Room for a slide now? Not while a call is new or being said, nor with many desks calling. */
function slideMayShow() {
  return (
    slides.length > 0 &&
    !announcing &&
    queue.length === 0 &&
    Date.now() >= callFirstUntil &&
    calls.length <= SLIDES_UP_TO_CALLS
  );
}

function renderSlides() {
  const band = $("board-slides");
  if (!band) return;
  const show = slideMayShow();
  const items = [...band.querySelectorAll(".board-slide")];
  if (slideIndex >= items.length) slideIndex = 0;
  items.forEach((item, index) => {
    item.hidden = !show || index !== slideIndex;
  });
  band.hidden = !show;
  body.dataset.slide = show && items[slideIndex] ? items[slideIndex].dataset.slide : "";
  if (show) fitSlide(band);
  window.clearTimeout(slideTimer);
  if (show && items.length > 1) {
    slideTimer = window.setTimeout(() => {
      slideIndex = (slideIndex + 1) % items.length;
      renderSlides();
    }, SLIDE_MS);
  }
  window.requestAnimationFrame(fitSide);
}

/**
 * A slide's text is short (the admin allows MAX_TEXT characters), but in two languages on a
 * small screen it may still need more room than the band has: then it is set a little smaller,
 * step by step, rather than cut off.
 */
function fitSlide(band) {
  band.style.removeProperty("font-size");
  for (let scale = 0.95; scale >= 0.6 && band.scrollHeight > band.clientHeight + 1; scale -= 0.05) {
    band.style.setProperty("font-size", `${scale}em`);
  }
}

/** The QR code came or went, or the window changed: the slide's room changed too. */
function refit() {
  window.requestAnimationFrame(() => {
    const band = $("board-slides");
    if (band && !band.hidden) fitSlide(band);
    fitSide();
  });
}
window.addEventListener("resize", refit);

/** A call came: the calls take the whole room at once, for a while and while it is said. */
function callFirst() {
  callFirstUntil = Date.now() + CALL_FIRST_MS;
  window.clearTimeout(callFirstTimer);
  callFirstTimer = window.setTimeout(renderSlides, CALL_FIRST_MS + 50);
  renderSlides();
}

function renderCalls({ highlight = false } = {}) {
  const current = $("board-current");
  const previous = $("board-previous");
  const empty = $("board-empty");
  if (!current || !previous) return;
  for (const old of current.querySelectorAll(".board-call")) old.remove();
  if (calls.length > 0) {
    const element = callElement("board-current-template", calls[0]);
    current.insertBefore(element, empty);
  }
  if (empty) empty.hidden = calls.length > 0;
  previous.replaceChildren(
    ...calls.slice(1).map((call) => callElement("board-previous-template", call))
  );
  current.classList.remove("is-new");
  window.clearTimeout(highlightTimer);
  if (highlight && calls.length > 0) {
    void current.offsetWidth; // restart the animation for a call that follows quickly
    current.classList.add("is-new");
    highlightTimer = window.setTimeout(() => current.classList.remove("is-new"), HIGHLIGHT_MS);
  }
  renderEarlier();
}

function renderWaiting() {
  const list = $("board-waiting");
  if (!list) return;
  window.requestAnimationFrame(fitSide); // a product more or less moves the panels below
  list.replaceChildren(
    ...waiting.map((item) => {
      const element = fromTemplate("board-waiting-template");
      element.dataset.code = item.product.code;
      setField(element, "prefix", item.product.prefix);
      setIcon(element, item.product);
      setField(element, "product", productName(item.product));
      setField(element, "count", String(item.count));
      return element;
    })
  );
}

/** Counts from an event: {product_code: count}; a product missing from it has nobody waiting. */
function updateWaiting(counts) {
  if (!counts || typeof counts !== "object") return;
  waiting = waiting.map((item) => ({ ...item, count: counts[item.product.code] || 0 }));
  const list = $("board-waiting");
  if (!list) return;
  for (const item of waiting) {
    const row = list.querySelector(`[data-code="${CSS.escape(item.product.code)}"]`);
    if (row) setField(row, "count", String(item.count));
  }
}

function renderStatus(status) {
  const notice = $("board-notice");
  if (!notice || !status) return;
  body.dataset.status = status;
  notice.dataset.status = status;
  let shown = false;
  for (const text of notice.querySelectorAll("[data-when]")) {
    text.hidden = text.dataset.when !== status;
    shown = shown || !text.hidden;
  }
  notice.hidden = !shown;
}

// Until when what is on screen was certainly current: the last news from the server, or the
// moment the connection went (everything up to then did reach the board).
let currentUntil = new Date();
let stale = false;

function setStale(value) {
  stale = value;
  body.classList.toggle("is-stale", value);
  const note = $("board-stale");
  if (note) note.hidden = !value;
  const since = $("board-stale-since");
  if (since && value) {
    since.textContent = (since.dataset.text || "{time}").replace(
      "{time}",
      timeFormat.format(currentUntil)
    );
  }
}

function heard() {
  if (!stale) currentUntil = new Date();
}

/** One call of the rendered page, read back (for events that come before the first snapshot). */
function readCall(element) {
  const text = (name) => (element.querySelector(`[data-field="${name}"]`) || {}).textContent;
  return {
    label: element.dataset.label,
    called_at: element.dataset.key.slice(element.dataset.label.length + 1),
    desk: { name: text("desk") || "" },
    product: { code: "", names: { [lang]: text("product") || "" } },
  };
}

// The calls on screen when the page loaded were rendered by the server: no announcement.
const shownKeys = new Set(
  [...document.querySelectorAll("#board-current .board-call, #board-previous [data-key]")].map(
    (element) => element.dataset.key
  )
);

function remember() {
  shownKeys.clear();
  for (const call of calls) shownKeys.add(callKey(call));
}

// -- socket handlers --------------------------------------------------------------------------

let socket = null;
const RELOADED_KEY = "board-reloaded-at";

let reloading = false;

/**
 * Load the page again, but only once the server answers for it: a board on a wall has no
 * address bar, and a reload while the server is away would leave it on the browser's error
 * page for good. Until then it keeps what it shows and asks again, more slowly each time.
 */
async function reloadWhenServed(delay = 2000, again = false) {
  if (reloading && !again) return; // one such wait at a time
  reloading = true;
  try {
    const response = await fetchWithTimeout(
      window.location.href,
      { headers: { Accept: "text/html" }, cache: "no-store", credentials: "same-origin" },
      8000
    );
    if (response.ok || response.status === 404) {
      window.location.reload();
      return;
    }
  } catch {
    // No answer: try again below.
  }
  window.setTimeout(() => reloadWhenServed(Math.min(delay * 2, 30000), true), delay);
}

/** The server now shows another stop (or none): load the page for it, but never in a loop. */
function followServer() {
  let last = 0;
  try {
    last = Number(window.sessionStorage.getItem(RELOADED_KEY) || 0);
    window.sessionStorage.setItem(RELOADED_KEY, String(Date.now()));
  } catch {
    // Without storage a reload loop cannot be seen: keep to the page's stop instead.
    last = Date.now();
  }
  if (Date.now() - last > 60 * 1000) {
    reloadWhenServed();
  } else if (renderedStop !== null && socket) {
    // Page and socket disagree again right after a reload: keep to the stop on the page.
    socket.auth = { stop: renderedStop };
    socket.disconnect().connect();
  }
}

const sameCall = (a, b) => a.label === b.label;
const sameDesk = (a, b) => Boolean(a.desk && b.desk && a.desk.id && a.desk.id === b.desk.id);

function onBoardState(state) {
  if (!state) {
    // No open stop (any more): the server renders that page, with the next dates.
    if (renderedStop !== null) followServer();
    return;
  }
  if (renderedStop === null || state.stop.id !== renderedStop) {
    // A stop opened, or a following board moved on: render the new stop's page.
    followServer();
    return;
  }
  const fresh = (state.calls || []).filter((call) => !shownKeys.has(callKey(call)));
  calls = state.calls || [];
  earlier = (state.earlier || []).slice(0, maxEarlier);
  waiting = state.waiting || [];
  renderStatus(state.stop.status);
  renderWaiting();
  if (fresh.length > 0) callFirst();
  renderCalls({ highlight: fresh.length > 0 && fresh[0] === calls[0] });
  remember();
  setStale(false);
  heard();
  setSlides(state.slides || []);
  fetchJoinCode();
  // Calls made while the board was away: say them, oldest first.
  for (const call of fresh.slice(0, CATCH_UP).reverse()) {
    tellScreenReaders(call);
    announce(call);
  }
}

function onCalled({ ticket, waiting: counts }) {
  heard();
  // One ticket per desk: a call replaces whatever this desk had (should its end have been missed).
  calls = [ticket, ...calls.filter((call) => !sameCall(call, ticket) && !sameDesk(call, ticket))];
  earlier = earlier.filter((call) => !sameCall(call, ticket));
  callFirst();
  renderCalls({ highlight: true });
  remember();
  updateWaiting(counts);
  tellScreenReaders(ticket);
  announce(ticket);
}

function onStarted({ ticket, waiting: counts }) {
  heard();
  calls = calls.map((call) => (sameCall(call, ticket) ? { ...call, ...ticket } : call));
  remember();
  updateWaiting(counts);
}

/** Finished or not come: from the desks to the calls that ended (the newest first). */
function onEnded({ ticket, waiting: counts }) {
  heard();
  const before = calls.length;
  calls = calls.filter((call) => !sameCall(call, ticket));
  if (ticket.called_at && maxEarlier > 0) {
    earlier = [ticket, ...earlier.filter((call) => !sameCall(call, ticket))].slice(0, maxEarlier);
  }
  if (calls.length !== before || ticket.called_at) {
    renderCalls();
    remember();
    renderSlides();
  }
  updateWaiting(counts);
}

/** Cancelled or sent back to the queue: off the desks, and not a call that ended. */
function onGone({ ticket, waiting: counts }) {
  heard();
  const before = calls.length;
  calls = calls.filter((call) => !sameCall(call, ticket));
  if (calls.length !== before) {
    renderCalls();
    remember();
    renderSlides();
  }
  updateWaiting(counts);
}

function onCounts({ waiting: counts }) {
  heard();
  updateWaiting(counts);
}

if (renderedStop !== null) {
  // Start from what the server rendered, in case an event comes before the first snapshot.
  const rendered = document.querySelectorAll("#board-current .board-call, #board-previous [data-key]");
  calls = [...rendered].map(readCall);
  earlier = [...document.querySelectorAll("#board-earlier [data-key]")].map(readCall);
  // The slides as rendered: shown now (no call is new on a page just loaded).
  slides = [...document.querySelectorAll("#board-slides .board-slide")].map((element) => ({
    id: element.dataset.slide,
  }));
  renderSlides();
  fitSide();
  const side = document.querySelector(".board-side");
  if (side && typeof window.ResizeObserver === "function") {
    // The side column's room changes with the screen only (not with what is in it).
    new window.ResizeObserver(() => fitSide()).observe(side);
  }
}

socket = connectLive({
  auth: liveStop !== null ? { stop: liveStop } : {},
  // A paired board says it is still there, so staff see it as connected.
  heartbeat: true,
  // After a restart of the server every board is back within a few seconds; the random
  // spread of the attempts keeps a room full of boards from arriving all at once.
  reconnectionDelayMax: 2500,
  recover: true,
  on: {
    board_state: onBoardState,
    ticket_called: onCalled,
    ticket_recalled: onCalled,
    ticket_started: onStarted,
    ticket_finished: onEnded,
    ticket_no_show: onEnded,
    ticket_cancelled: onGone,
    ticket_transferred: onGone,
    ticket_issued: onCounts,
    stop_updated: (stop) => {
      heard();
      if (stop && stop.id === renderedStop) {
        renderStatus(stop.status);
        fetchJoinCode(); // opened or closed: the QR code shows or goes at once
      }
    },
    board_slides: (data) => {
      heard();
      if (data && data.stop_id === renderedStop) setSlides(data.slides);
    },
  },
  onStatus: (status) => {
    // While away, what is on screen may be old: grey it out, say since when. The next
    // board_state (sent on every reconnect, before "connect" fires) replaces it all.
    if (status === "lost" && !stale) {
      heard();
      setStale(true);
    }
    // A code is no use while the server is away (the phone could not take a ticket); the next
    // board_state (on reconnect) fetches a fresh one.
    if (status === "lost") hideJoinCode();
    showConnection(connection, status);
    if (status !== "lost") reportSound();
  },
});

// Without an open stop the board is in no stop's room: look again every minute (once the
// server answers: a board must never end up on the browser's error page).
if (renderedStop === null) {
  window.setInterval(() => reloadWhenServed(), 60 * 1000);
}

// -- the clock --------------------------------------------------------------------------------
//
// The local time of the stop (as all times on the board), to the minute. Redrawn just after
// each minute turns, and checked again every few seconds and whenever the page is shown again:
// after the device slept its timers come late, and the clock must not stay behind.

const clock = $("board-clock");
const clockFormat = (() => {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    return new Intl.DateTimeFormat(lang, { ...options, timeZone: body.dataset.timezone || undefined });
  } catch {
    return new Intl.DateTimeFormat(lang, options);
  }
})();
let clockTimer = 0;

function tick() {
  if (!clock) return;
  const now = new Date();
  const text = clockFormat.format(now);
  if (clock.textContent !== text) clock.textContent = text;
  clock.dateTime = now.toISOString();
  window.clearTimeout(clockTimer);
  clockTimer = window.setTimeout(tick, 60000 - (now.getTime() % 60000) + 50);
}

tick();
window.setInterval(() => {
  tick();
  checkJoinCode();
}, 5000);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    tick();
    checkJoinCode();
  }
});

// -- join QR ----------------------------------------------------------------------------------
//
// A paired board of an open stop that allows it shows a QR code to /join/<code>: a code is made
// for one minute and accepted for two, so the board asks for the next one when the server says
// the minute is over (its `seconds_left`, on the server's clock). The code is hidden when the
// stop closes or its phone join is switched off (the server says so), when the server does not
// answer, and when a code has outlived its two minutes (a device that slept).

const joinUrl = body.dataset.joinQr || null;
const joinPanel = $("board-join");
const joinImage = $("board-join-qr");
const JOIN_RETRY_MS = 10000;
let joinTimer = 0;
let joinValidUntil = 0;
let joinAsking = false;
let joinAgain = false;

function hideJoinCode() {
  if (!joinPanel) return;
  joinPanel.hidden = true;
  body.dataset.joinCode = "";
  joinValidUntil = 0;
  refit();
}

function showJoinCode(answer) {
  const parsed = new DOMParser().parseFromString(answer.svg, "image/svg+xml");
  const svg = parsed.documentElement;
  if (!svg || svg.nodeName.toLowerCase() !== "svg") {
    hideJoinCode();
    return;
  }
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  joinImage.replaceChildren(document.importNode(svg, true));
  joinPanel.hidden = false;
  body.dataset.joinCode = answer.url;
  refit();
}

function scheduleJoin(ms) {
  window.clearTimeout(joinTimer);
  joinTimer = window.setTimeout(fetchJoinCode, Math.max(250, ms));
}

async function fetchJoinCode() {
  if (!joinUrl || !joinPanel) return;
  if (joinAsking) {
    joinAgain = true; // a change came while asking: ask once more after this answer
    return;
  }
  joinAsking = true;
  try {
    const response = await fetchWithTimeout(
      joinUrl,
      { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" },
      8000
    );
    if (!response.ok) throw new Error(`join code: ${response.status}`);
    const answer = await response.json();
    const left = Math.max(0, Number(answer.seconds_left) || 0) * 1000;
    if (answer.shown && answer.svg) {
      // Accepted during its own minute and the next: never shown past that.
      joinValidUntil = Date.now() + left + 60000;
      showJoinCode(answer);
    } else {
      hideJoinCode();
    }
    scheduleJoin(left + 200);
  } catch {
    hideJoinCode();
    scheduleJoin(JOIN_RETRY_MS);
  } finally {
    joinAsking = false;
    if (joinAgain) {
      joinAgain = false;
      fetchJoinCode();
    }
  }
}

/** After a sleep: a code past its two minutes goes at once, and a fresh one is asked for. */
function checkJoinCode() {
  if (joinValidUntil && Date.now() > joinValidUntil) {
    hideJoinCode();
    fetchJoinCode();
  }
}

if (joinUrl) fetchJoinCode();

// Staff see a board without sound as muted in the desk's device list: say so on every
// (re)connect (the server keeps only the latest word) and on every change.
reportSound = () => {
  if (socket && socket.connected && renderedStop !== null) {
    socket.emit("board_sound", { muted: soundOff || soundBlocked });
  }
};
renderSound();

// Let a page with sound blocked say so at once, not only at the first call.
if (renderedStop !== null && !soundOff && audio() && audioContext.state !== "running") {
  audioContext.resume().then(
    () => setBlocked(audioContext.state !== "running"),
    () => setBlocked(true)
  );
  window.setTimeout(() => {
    if (audioContext.state !== "running") setBlocked(true);
  }, 1000);
}

// The device keeps this page and its assets (the service worker), where the browser allows one.
import("./offline-support.js").then((support) => support.registerWorker()).catch(() => {});

// -- BEGIN paused desks (H3, #15) --------------------------------------------------------------
// A desk that staff paused calls nobody: the board says so in words ("Balie 2: gesloten"), not
// by colour alone. board_state carries `desks` [{id, name, paused}]; desk_updated brings every
// pause and resume at once. The markup is rendered first by templates/display/board.html.
function renderPausedDesks(desks) {
  const box = document.getElementById("board-desks-closed");
  if (!box || !Array.isArray(desks)) return;
  const text = box.dataset.text || "{desk}";
  const paused = desks.filter((desk) => desk.paused);
  box.replaceChildren(
    ...paused.map((desk) => {
      const line = document.createElement("p");
      line.className = "board-notice__text";
      const words = document.createElement("strong");
      words.textContent = text.replace("{desk}", desk.name);
      line.append(words);
      return line;
    })
  );
  box.hidden = paused.length === 0;
}

if (socket) {
  socket.on("board_state", (state) => {
    if (state && state.stop && state.stop.id === renderedStop) renderPausedDesks(state.desks);
  });
  socket.on("desk_updated", (payload) => {
    if (payload) renderPausedDesks(payload.desks);
  });
}
// -- END paused desks ---------------------------------------------------------------------------
