// Staff desk: the steps (buttons and shortcuts), the current ticket, the waiting list and the
// stop's devices. The server renders the first state; after that this script refetches the
// desk's JSON (GET /api/v1/desks/<id>) whenever the stop's room reports a change, and the
// devices (GET /api/v1/stops/<id>/devices) when one connects or goes away. The rules stay on
// the server: `actions` in the JSON says which steps are allowed, and a refused step shows the
// server's error code in the staff's words (the server's own English words only as a title).
//
// Without the server the page keeps what it shows and says so. A step clicked meanwhile is
// not lost and never done twice: each click gets its own Idempotency-Key, and the same
// request with the same key is sent again (after a pause, when the connection is back, or
// when the same button is pressed again) until the server answers it; the server gives a
// repeated key the first answer instead of taking the step again.
//
// The desk's own controls (#15: make a ticket, pause, open or close the stop, call a chosen
// ticket, undo a no-show) need the server's answer on the spot, so they are switched off while
// the connection is lost instead of being sent again later. Every confirmation is a <dialog>
// (focus inside, Esc closes it, focus returns), never window.confirm.
import { connectLive, csrfToken, fetchWithTimeout, showConnection } from "./live.js";

const root = document.getElementById("desk");
const texts = JSON.parse(root.dataset.texts);
const lang = document.documentElement.lang || "nl";
const timeZone = root.dataset.timezone;
const hhmm = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone });
const dayTime = new Intl.DateTimeFormat(lang, {
  day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone,
});
const dayKey = new Intl.DateTimeFormat("en-CA", { timeZone });

const QUEUE_EVENTS = [
  "ticket_issued", "ticket_called", "ticket_recalled", "ticket_started", "ticket_finished",
  "ticket_no_show", "ticket_cancelled", "ticket_transferred", "stop_updated", "desk_updated",
];
// The events that change today's figures (a ticket issued changes none of them).
const FIGURE_EVENTS = new Set(["ticket_called", "ticket_recalled", "ticket_finished",
  "ticket_no_show", "ticket_transferred"]);
// Key (lower case, " " for the space bar) -> step. Enter is left to the focused button.
const SHORTCUTS = { n: "call_next", " ": "call_next", r: "recall", s: "start", f: "finish",
  x: "no_show", t: "transfer", m: "issue", p: "pause", u: "undo" };
// Controls that are switched off while the server is away (see the top of this file).
const SERVER_ONLY = new Set(["issue", "pause", "resume", "open_stop", "close_stop"]);
const UNDO_MS = 10000;  // the server takes a no-show back for 10 s (UNDO_SECONDS)
const API_STEP = { recall: "recall", start: "start", finish: "finish", no_show: "no-show",
  transfer: "transfer" };
const STORAGE_KEY = "loket.desk.shortcuts";
const WAIT_TICK_MS = 5000;
const DEVICE_POLL_MS = 30000;  // a device that goes silent turns "not connected" after 90 s
const READ_TIMEOUT_MS = 10000;
const STEP_TIMEOUT_MS = 10000;
// Answers that mean "not done (or not known to be done): the same request may come again".
const RETRY_STATUS = new Set([408, 429, 502, 503, 504]);
const RETRY_PAUSES_MS = [1000, 2000, 4000, 5000];  // then every 5 s, for as long as it takes

const el = {
  current: document.getElementById("current"),
  currentTitle: document.getElementById("current-title"),
  ticket: document.getElementById("current-ticket"),
  empty: document.getElementById("current-empty"),
  feedback: document.getElementById("desk-feedback"),
  error: document.getElementById("desk-error"),
  queue: document.getElementById("queue-list"),
  queueCount: document.getElementById("queue-count"),
  queueEmpty: document.getElementById("queue-empty"),
  devices: document.getElementById("device-list"),
  checkInPauses: document.getElementById("check-in-pauses"),
  prints: document.getElementById("print-list"),
  printsCount: document.getElementById("prints-count"),
  printsEmpty: document.getElementById("prints-empty"),
  reprintForm: document.getElementById("reprint-form"),
  reprintLabel: document.getElementById("reprint-label"),
  devicesEmpty: document.getElementById("devices-empty"),
  connection: document.getElementById("connection"),
  shortcuts: document.getElementById("shortcuts"),
  dialog: document.getElementById("transfer-dialog"),
  transferForm: document.getElementById("transfer-form"),
  transferProduct: document.getElementById("transfer-product"),
  transferCancel: document.getElementById("transfer-cancel"),
  transferDesk: document.getElementById("transfer-desk"),
  stopNotice: document.getElementById("stop-closed-notice"),
  pausedNotice: document.getElementById("paused-notice"),
  stopStatus: document.getElementById("stop-status"),
  stopWaiting: document.getElementById("stop-waiting"),
  figures: document.getElementById("figures"),
  undo: document.getElementById("desk-undo"),
  undoButton: document.getElementById("undo-button"),
  undoText: document.getElementById("undo-text"),
  noShowDialog: document.getElementById("noshow-dialog"),
  noShowForm: document.getElementById("noshow-form"),
  noShowText: document.getElementById("noshow-text"),
  callDialog: document.getElementById("call-dialog"),
  callForm: document.getElementById("call-form"),
  callText: document.getElementById("call-text"),
  callReason: document.getElementById("call-reason"),
  callNote: document.getElementById("call-note"),
  callError: document.getElementById("call-error"),
  issueDialog: document.getElementById("issue-dialog"),
  issueForm: document.getElementById("issue-form"),
  madeDialog: document.getElementById("made-dialog"),
  madeLabel: document.getElementById("made-label"),
  madeQr: document.getElementById("made-qr"),
  madeText: document.getElementById("made-text"),
  madePrint: document.getElementById("made-print"),
  closeDialog: document.getElementById("close-dialog"),
  closeForm: document.getElementById("close-form"),
  closeText: document.getElementById("close-text"),
};
const buttons = {};
for (const button of root.querySelectorAll("button[data-action]")) {
  buttons[button.dataset.action] = button;
}

let state = JSON.parse(root.dataset.state);  // the last desk JSON, first as rendered
let waitedBase = performance.now();  // when the waited_seconds on screen were true
let busy = false;
let online = true;  // false while the connection to the server is lost

// -- small helpers --------------------------------------------------------------------------

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

function productName(product) {
  return (product && (product.names[lang] || product.names.nl || product.code)) || "";
}

function clock(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  const today = dayKey.format(new Date()) === dayKey.format(moment);
  return (today ? hhmm : dayTime).format(moment);
}

function field(node, name) {
  return node.querySelector(`[data-field="${name}"]`);
}

function say(message) {
  el.error.textContent = "";
  el.error.removeAttribute("title");
  el.feedback.textContent = message;
}

/** Show a refusal in the staff's words; the server's own (English) words, if any, only as
 * the title behind them. */
function complain(message, detail = "") {
  el.feedback.textContent = "";
  // The same words again are not news (a screen reader would read the alert once more).
  if (el.error.textContent !== message) el.error.textContent = message;
  if (detail && detail !== message) el.error.title = detail;
  else el.error.removeAttribute("title");
}

/** A key for one click: random, 8 to 100 plain characters (crypto.randomUUID needs HTTPS). */
function newKey() {
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return `desk-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// -- rendering ------------------------------------------------------------------------------

function renderCurrent(ticket) {
  el.current.dataset.status = ticket ? ticket.status : "none";
  el.ticket.hidden = !ticket;
  el.empty.hidden = Boolean(ticket);
  if (!ticket) return;
  field(el.ticket, "label").textContent = ticket.label;
  field(el.ticket, "product").textContent = productName(ticket.product);
  field(el.ticket, "status").textContent = texts.status[ticket.status] || ticket.status;
  field(el.ticket, "since").textContent = ticket.status === "serving"
    ? fill(texts.servingSince, { time: clock(ticket.started_at) })
    : fill(texts.calledAt, { time: clock(ticket.called_at) });
  const recalls = field(el.ticket, "recalls");
  recalls.hidden = !ticket.recall_count;
  recalls.textContent = fill(texts.recalls, { n: ticket.recall_count });
}

function renderActions(actions) {
  for (const [name, button] of Object.entries(buttons)) {
    button.disabled = !actions[name] || (!online && SERVER_ONLY.has(name));
  }
  // Pause or resume, open or close: one of each pair is shown.
  buttons.pause.hidden = !actions.pause;
  buttons.close_stop.hidden = !actions.close_stop;
  for (const button of el.queue.querySelectorAll("[data-field=call]")) {
    button.disabled = !actions.call_chosen || !online;
  }
  renderUndo();
}

function renderStop(next) {
  const stop = next.stop;
  el.stopNotice.hidden = stop.status === "open";
  el.stopStatus.dataset.status = stop.status;
  el.stopStatus.textContent = texts.stopStatus[stop.status] || stop.status;
  el.stopWaiting.textContent = String(stop.waiting);
  el.pausedNotice.hidden = !next.desk.paused;
  root.dataset.paused = next.desk.paused ? "true" : "false";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return texts.none;
  if (seconds < 60) return texts.underMinute;
  return fill(texts.minutes, { n: Math.round(seconds / 60) });
}

function renderFigures(figures) {
  for (const row of el.figures.querySelectorAll("[data-figure]")) {
    const name = row.dataset.figure;
    for (const cell of row.querySelectorAll("[data-of]")) {
      const value = figures[cell.dataset.of][name];
      cell.textContent = name.endsWith("_seconds") ? duration(value) : String(value);
    }
  }
}

function renderQueue(queue) {
  const template = document.getElementById("queue-item-template");
  const items = queue.map((ticket) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.waitedSeconds = String(ticket.waited_seconds);
    item.classList.toggle("queue-item--priority", ticket.priority > 0);
    field(item, "label").textContent = ticket.label;
    field(item, "product").textContent = productName(ticket.product);
    field(item, "source").textContent = texts.source[ticket.source] || ticket.source;
    field(item, "priority").hidden = !(ticket.priority > 0);
    field(item, "transferred").hidden = !(ticket.transfer_count > 0);
    field(item, "target").hidden = ticket.target_desk_id !== Number(root.dataset.deskId);
    const call = field(item, "call");
    call.dataset.token = ticket.token;
    call.dataset.label = ticket.label;
    field(item, "call-label").textContent = ` ${ticket.label}`;
    return item;
  });
  el.queue.replaceChildren(...items);
  el.queueCount.textContent = String(queue.length);
  el.queueEmpty.hidden = queue.length > 0;
  waitedBase = performance.now();
  renderWaits();
}

function renderWaits() {
  const elapsed = (performance.now() - waitedBase) / 1000;
  for (const item of el.queue.children) {
    const seconds = Number(item.dataset.waitedSeconds || 0) + elapsed;
    const minutes = Math.floor(seconds / 60);
    field(item, "waited").textContent = minutes < 1 ? texts.waitedNew : fill(texts.waited, { n: minutes });
  }
}

const PRINTER_FAULTS = new Set(["paper_out", "offline", "config_error"]);

function renderPrinter(node, printer) {
  node.hidden = printer == null;
  if (printer == null) {
    node.textContent = "";
    return;
  }
  node.textContent = texts.printer[printer.state] || printer.state;
  node.classList.toggle("device__printer--fault", PRINTER_FAULTS.has(printer.state));
  if (printer.detail) node.title = printer.detail;
  else node.removeAttribute("title");
}

/** Why a slip did not come out, in plain words with what to do (as fault_words in
 * templates/desk/_items.html); a job without a known word gets the general one. */
function faultWords(job) {
  const kind = job.fault && Object.hasOwn(texts.fault, job.fault) ? job.fault : "fault";
  if (job.status === "retrying" && Object.hasOwn(texts.faultRetrying, kind)) {
    return texts.faultRetrying[kind];
  }
  return texts.fault[kind];
}

function renderPrints(jobs) {
  const template = document.getElementById("print-item-template");
  const items = jobs.filter((job) => job.ticket || job.appointment).map((job) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.className = `print-item print-item--${job.status}`;
    field(item, "label").textContent = job.ticket
      ? job.ticket.label
      : fill(texts.booking, { code: job.appointment.code });
    field(item, "state").textContent = job.status === "retrying"
      ? fill(texts.print.retrying, { n: job.attempts })
      : texts.print[job.status] || job.status;
    // The plain words first; the printer's own (English) words only behind them.
    const words = field(item, "fault");
    words.textContent = faultWords(job);
    if (job.error) words.title = job.error;
    else words.removeAttribute("title");
    field(item, "details").hidden = !job.error;
    field(item, "error").textContent = job.error || "";
    if (job.ticket) field(item, "reprint").dataset.token = job.ticket.token;
    else field(item, "reprint").dataset.appointment = job.appointment.token;
    return item;
  });
  el.prints.replaceChildren(...items);
  el.printsCount.textContent = String(items.length);
  el.printsCount.hidden = items.length === 0;
  el.printsEmpty.hidden = items.length > 0;
}

function renderDevices(devices) {
  const template = document.getElementById("device-item-template");
  const items = devices.map((device) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.classList.toggle("device--ok", device.connected);
    item.classList.toggle("device--lost", !device.connected);
    field(item, "name").textContent = device.name;
    field(item, "kind").textContent = texts.kind[device.kind] || device.kind;
    let status = texts.neverSeen;
    if (device.connected) status = texts.connected;
    else if (device.last_seen_at) status = fill(texts.lostSince, { time: clock(device.last_seen_at) });
    field(item, "state").textContent = status;
    // A board without sound (turned off, or audio blocked): calls are shown, not heard.
    field(item, "muted").hidden = !(device.connected && device.muted);
    renderPrinter(field(item, "printer"), device.printer);
    return item;
  });
  el.devices.replaceChildren(...items);
  el.devicesEmpty.hidden = devices.length > 0;
}

// Kiosks that pause check-in after too many wrong codes: someone may be guessing codes.
function renderCheckInPauses(pauses) {
  el.checkInPauses.replaceChildren(...pauses.map((pause) => {
    const item = document.createElement("li");
    item.className = "notice";
    item.textContent = fill(texts.checkInPaused, {
      name: pause.name, n: pause.count, minutes: pause.minutes, time: clock(pause.until),
    });
    return item;
  }));
}

function render(next) {
  state = next;
  renderCurrent(next.current);
  renderQueue(next.queue);
  renderActions(next.actions);
  renderStop(next);
}

// -- fetching: one request at a time, and one more if something changed meanwhile ------------

function refresher(url, apply) {
  let inFlight = false;
  let again = false;
  let timer = null;
  async function run() {
    timer = null;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const response = await fetchWithTimeout(url, {
        headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
      }, READ_TIMEOUT_MS);
      if (response.ok) apply(await response.json());
      else if (response.status === 401) complain(texts.errors.unauthorized);
    } catch (error) {
      // Offline for a moment: the socket's reconnect asks again.
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        run();
      }
    }
  }
  // Events come in bursts (a call moves the queue of every desk): ask once per burst.
  run.soon = () => {
    if (timer === null) timer = window.setTimeout(run, 150);
  };
  return run;
}

const refreshDesk = refresher(root.dataset.stateUrl, render);
const refreshDevices = refresher(root.dataset.devicesUrl, renderDevices);
const refreshPrints = refresher(root.dataset.printJobsUrl, renderPrints);
const refreshCheckInPauses = refresher(root.dataset.checkInPausesUrl, renderCheckInPauses);
const refreshFigures = refresher(root.dataset.figuresUrl, renderFigures);

// -- steps ----------------------------------------------------------------------------------

function stepUrl(action) {
  if (action === "call_next") return root.dataset.callNextUrl;
  if (action === "call_chosen") return root.dataset.callUrl;
  const token = state && state.current ? state.current.token : null;
  return token ? root.dataset.ticketUrl.replace("TOKEN", encodeURIComponent(token)) + "/" + API_STEP[action] : null;
}

/** A refused step's answer -> [words for staff, the server's own words behind them]. */
async function errorMessage(response) {
  try {
    const body = await response.json();
    const error = body.error || {};
    const detail = error.message || "";
    // A refused or expired form (CSRF): the page must be loaded again.
    if ((error.code === "forbidden" && response.status === 403) || error.code === "csrf_failed") {
      return [texts.errors.forbidden, detail];
    }
    const known = error.code && Object.hasOwn(texts.errors, error.code);
    return [known ? texts.errors[error.code] : texts.errors.other, detail];
  } catch (error) {
    return [texts.errors.other, ""];
  }
}

/** POST with the click's Idempotency-Key; gives up (throws) after `timeout` ms. */
function postJson(url, body, key, timeout = STEP_TIMEOUT_MS) {
  return fetchWithTimeout(url, {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRFToken": csrfToken(),
      "Idempotency-Key": key,
    },
    body: JSON.stringify(body),
  }, timeout);
}

// -- reprinting a slip ---------------------------------------------------------------------

async function reprint(body) {
  try {
    // Not sent again by itself: a reprint that did arrive would print a second slip.
    const response = await postJson(root.dataset.reprintUrl, body, newKey());
    if (response.ok) {
      const job = await response.json();
      const label = job.ticket ? job.ticket.label : job.appointment ? job.appointment.code : "";
      say(fill(texts.reprinted, { label }));
      return true;
    }
    if (response.status === 404 && body.label) complain(texts.errors.reprint_unknown);
    else complain(...(await errorMessage(response)));
  } catch (error) {
    complain(texts.errors.network);
  } finally {
    refreshPrints.soon();
  }
  return false;
}

el.prints.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button") : null;
  if (!button) return;
  if (button.dataset.token) reprint({ ticket: button.dataset.token });
  else if (button.dataset.appointment) reprint({ appointment: button.dataset.appointment });
});

el.reprintForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const label = el.reprintLabel.value.trim();
  if (!label) {
    el.reprintLabel.focus();
    return;
  }
  if (await reprint({ label, stop: Number(root.dataset.stopId) })) el.reprintLabel.value = "";
});

// The step on its way (sent again until the server answers it), and how to hurry its retry.
let pending = null;
let wakeRetry = null;

/** Wait `ms` before the next try, or less: `retryNow()` ends the wait (connection back). */
function pauseBeforeRetry(ms) {
  return new Promise((resolve) => {
    const timer = window.setTimeout(done, ms);
    function done() {
      window.clearTimeout(timer);
      wakeRetry = null;
      resolve();
    }
    wakeRetry = done;
  });
}

function retryNow() {
  if (wakeRetry) wakeRetry();
}

/** How long to wait before sending the same step again: the server's Retry-After, if any. */
function retryPause(attempt, response) {
  const after = response ? Number(response.headers.get("Retry-After")) : NaN;
  if (after > 0) return Math.min(after, 30) * 1000;
  return RETRY_PAUSES_MS[Math.min(attempt, RETRY_PAUSES_MS.length - 1)];
}

/** The server itself said it is too busy (503 `busy`), rather than not answering at all. */
async function serverBusy(response) {
  if (!response || response.status !== 503) return false;
  try {
    const body = await response.json();
    return Boolean(body && body.error && body.error.code === "busy");
  } catch (error) {
    return false;  // a proxy's own 503 page: the server is away
  }
}

/** Send one step until the server answers it: every try carries the same key. */
async function send(step) {
  for (let attempt = 0; ; attempt += 1) {
    let response = null;
    try {
      response = await postJson(step.url, step.body, step.key);
    } catch (error) {
      // No answer (no connection, or none in time): the step may or may not have arrived.
    }
    if (response && !RETRY_STATUS.has(response.status)) return response;
    root.dataset.retrying = step.action;
    complain((await serverBusy(response)) ? texts.errors.retryBusy : texts.errors.retrying);
    await pauseBeforeRetry(retryPause(attempt, response));
  }
}

async function act(action, body) {
  if (busy) return;
  const url = stepUrl(action);
  if (!url) {
    complain(texts.notNow);
    return;
  }
  // One step at a time: a second key press while the first is on its way is ignored.
  busy = true;
  pending = { action, url, body: body || {}, key: newKey() };
  root.setAttribute("aria-busy", "true");
  try {
    const response = await send(pending);
    if (response.ok) {
      const ticket = await response.json();
      const done = texts.done[action] || texts.done.call_next;
      say(fill(done, { label: ticket.label, product: productName(ticket.product) }));
      if (action === "no_show") offerUndo(ticket);
      else if (undoable && undoable.token === ticket.token) forgetUndo();
    } else {
      complain(...(await errorMessage(response)));
    }
  } catch (error) {
    complain(texts.errors.other);
  } finally {
    busy = false;
    pending = null;
    delete root.dataset.retrying;
    root.removeAttribute("aria-busy");
    await refreshDesk();
    keepFocus();
  }
}

// A button that just became disabled would drop the focus to <body>: put it on the ticket
// instead (so the space bar stays "next" and a screen reader hears the new number).
function keepFocus() {
  const active = document.activeElement;
  if (!active || active === document.body || active.disabled) el.currentTitle.focus();
}

function request(action) {
  if (action === "pause" && state && state.desk.paused) action = "resume";
  if (action === "undo") {
    undo();
    return;
  }
  const button = buttons[action];
  if (!button) return;
  if (busy) {
    // The same step again while it waits for the connection: try now (same key, so once).
    if (pending && pending.action === action) retryNow();
    return;
  }
  el.error.textContent = "";
  if (button.disabled) {
    if (action === "call_next" && state && state.current) complain(texts.errors.desk_busy);
    else if (action === "call_next" && state && state.queue.length === 0) complain(texts.errors.queue_empty);
    else if (action === "call_next" && state && state.desk.paused) complain(texts.errors.desk_paused);
    else if (!online && SERVER_ONLY.has(action)) complain(texts.offline);
    else complain(texts.notNow);
    return;
  }
  if (action === "transfer") openTransfer();
  else if (action === "no_show") openNoShow();
  else if (action === "issue") openDialog(el.issueDialog);
  else if (action === "close_stop") openClose();
  else if (SERVER_ONLY.has(action)) control(action);
  else act(action);
}

for (const [action, button] of Object.entries(buttons)) {
  button.addEventListener("click", () => request(action));
}

// -- transfer dialog ------------------------------------------------------------------------

function option(value, text) {
  const item = document.createElement("option");
  item.value = value;
  item.textContent = text;
  return item;
}

/** The desks a ticket for `code` can be sent to: switched on, not paused, serving it. */
function desksFor(code) {
  return (state.desks || []).filter((d) => d.active && !d.paused && d.products.includes(code));
}

function fillTransferDesks() {
  const code = el.transferProduct.value;
  el.transferDesk.replaceChildren(
    option("", texts.anyDesk),
    ...desksFor(code).map((desk) => option(String(desk.id), desk.name)),
  );
}

function openTransfer() {
  const current = state && state.current;
  if (!current) {
    complain(texts.notNow);
    return;
  }
  const others = state.products.filter((p) => p.code !== current.product.code);
  const own = state.products.find((p) => p.code === current.product.code) || current.product;
  if (others.length === 0 && desksFor(own.code).length === 0) {
    complain(texts.noTarget);
    return;
  }
  const label = (product) => `${product.prefix} – ${productName(product)}`;
  el.transferProduct.replaceChildren(
    ...others.map((product) => option(product.code, label(product))),
    option(own.code, fill(texts.sameProduct, { product: label(own) })),
  );
  fillTransferDesks();
  el.dialog.showModal();
  el.transferProduct.focus();
}

el.transferProduct.addEventListener("change", fillTransferDesks);

el.transferForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = { product: el.transferProduct.value };
  if (el.transferDesk.value) body.desk = Number(el.transferDesk.value);
  el.dialog.close();
  act("transfer", body);
});
el.transferCancel.addEventListener("click", () => el.dialog.close());
el.dialog.addEventListener("close", () => {
  if (!buttons.transfer.disabled) buttons.transfer.focus();
  else keepFocus();
});

// -- dialogs: one way to open and close them ---------------------------------------------------

/** Open a modal dialog; its [autofocus] control (or its first field) gets the focus. */
function openDialog(dialog) {
  dialog.showModal();
  const first = dialog.querySelector("[autofocus]")
    || dialog.querySelector("input:checked, input, select, button");
  if (first) first.focus();
}

for (const dialog of root.querySelectorAll("dialog")) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close());
  }
  if (dialog !== el.dialog) dialog.addEventListener("close", () => keepFocus());
}

// -- the server's answer on the spot: switched off without a connection -----------------------

function setOnline(value) {
  if (online === value) return;
  online = value;
  if (state) renderActions(state.actions);
}

/** POST a desk control once (no retries: it is only offered while the server is there). */
async function sendOnce(url, body) {
  if (!online) {
    complain(texts.offline);
    return null;
  }
  try {
    const response = await postJson(url, body || {}, newKey());
    if (response.ok) return response.json();
    complain(...(await errorMessage(response)));
  } catch (error) {
    complain(texts.errors.network);
  }
  return null;
}

const CONTROL_URLS = {
  pause: root.dataset.pauseUrl,
  resume: root.dataset.resumeUrl,
  open_stop: root.dataset.openStopUrl,
  close_stop: root.dataset.closeStopUrl,
};

async function control(action) {
  if (busy) return;
  busy = true;
  try {
    const answer = await sendOnce(CONTROL_URLS[action]);
    if (answer) {
      if (action === "pause") say(fill(texts.paused, { name: state.desk.name }));
      else if (action === "resume") say(texts.resumed);
      else if (action === "open_stop") say(texts.stopOpened);
      else say(texts.stopClosed);
    }
  } finally {
    busy = false;
    await refreshDesk();
    keepFocus();
  }
}

// -- closing the stop: asks first, and says what happens to whoever waits ---------------------

function openClose() {
  el.closeText.textContent = fill(texts.closeAsk, { n: state.stop.waiting });
  openDialog(el.closeDialog);
}

el.closeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  el.closeDialog.close();
  control("close_stop");
});

// -- no-show: asked first, then undone within 10 s -------------------------------------------

let undoable = null;  // {token, label, until}
let undoTimer = null;

function openNoShow() {
  el.noShowText.textContent = fill(texts.noShowAsk, { label: state.current.label });
  openDialog(el.noShowDialog);
}

el.noShowForm.addEventListener("submit", (event) => {
  event.preventDefault();
  el.noShowDialog.close();
  act("no_show");
});

function offerUndo(ticket) {
  undoable = { token: ticket.token, label: ticket.label, until: performance.now() + UNDO_MS };
  window.clearInterval(undoTimer);
  undoTimer = window.setInterval(renderUndo, 500);
  renderUndo();
}

function forgetUndo() {
  undoable = null;
  window.clearInterval(undoTimer);
  renderUndo();
}

function renderUndo() {
  const left = undoable ? Math.ceil((undoable.until - performance.now()) / 1000) : 0;
  if (undoable && left <= 0) {
    forgetUndo();
    return;
  }
  el.undo.hidden = !undoable;
  el.undoButton.disabled = !online;
  if (undoable) el.undoText.textContent = fill(texts.undo, { label: undoable.label, n: left });
}

async function undo() {
  if (!undoable || busy) return;
  const { token } = undoable;
  busy = true;
  try {
    const url = `${root.dataset.ticketUrl.replace("TOKEN", encodeURIComponent(token))}/undo-no-show`;
    const ticket = await sendOnce(url);
    forgetUndo();
    if (ticket) say(fill(texts.undone, { label: ticket.label }));
  } finally {
    busy = false;
    await refreshDesk();
    keepFocus();
  }
}

el.undoButton.addEventListener("click", undo);

// -- calling a chosen ticket from the list, with a reason -------------------------------------

let chosen = null;

el.queue.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-field=call]") : null;
  if (!button || button.disabled) return;
  chosen = { token: button.dataset.token, label: button.dataset.label };
  el.callText.textContent = fill(texts.callAsk, { label: chosen.label });
  el.callReason.value = "";
  el.callNote.value = "";
  el.callError.textContent = "";
  el.callReason.removeAttribute("aria-invalid");
  el.callNote.removeAttribute("aria-invalid");
  openDialog(el.callDialog);
});

el.callForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const choice = el.callReason.value;
  const note = el.callNote.value.trim();
  const picked = choice && choice !== "other" ? el.callReason.selectedOptions[0].textContent.trim() : "";
  const reason = picked && note ? `${picked}: ${note}` : picked || (choice === "other" ? note : "");
  if (!reason) {
    el.callError.textContent = texts.reasonNeeded;
    const wrong = choice === "other" ? el.callNote : el.callReason;
    wrong.setAttribute("aria-invalid", "true");
    wrong.focus();
    return;
  }
  el.callDialog.close();
  act("call_chosen", { ticket: chosen.token, reason });
});

// -- a ticket for someone at the desk ---------------------------------------------------------

el.issueForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (busy) return;
  const form = new FormData(el.issueForm);
  const body = {
    product: form.get("product"),
    call: form.get("call") === "on",
    language: form.get("language") || "nl",
  };
  el.issueDialog.close();
  busy = true;
  try {
    const ticket = await sendOnce(root.dataset.issueUrl, body);
    if (ticket) showMade(ticket, body.call);
  } finally {
    busy = false;
    refreshDesk();
  }
});

function showMade(ticket, call) {
  let words = texts.made;
  if (call && ticket.status === "called") words = texts.madeCalled;
  else if (call) words = texts.madeWaits;
  say(fill(words, { label: ticket.label }));
  el.madeLabel.textContent = ticket.label;
  el.madeText.textContent = fill(words, { label: ticket.label });
  if (ticket.print_status === "failed") el.madePrint.textContent = texts.printFailed;
  else if (ticket.printer) el.madePrint.textContent = fill(texts.printing, { name: ticket.printer });
  else el.madePrint.textContent = texts.noPrinter;
  el.madeQr.src = root.dataset.qrUrl.replace("TOKEN", encodeURIComponent(ticket.token));
  el.madeQr.hidden = false;
  openDialog(el.madeDialog);
}

// -- keyboard shortcuts (can be switched off: WCAG 2.1.4) -----------------------------------

const NOT_TYPING = new Set(["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"]);

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.closest("textarea, select, [contenteditable]")) return true;
  return target instanceof HTMLInputElement && !NOT_TYPING.has(target.type);
}

function interactive(target) {
  return target instanceof Element
    && Boolean(target.closest("button, a[href], input, summary, label, [role=button]"));
}

function loadShortcutSetting() {
  try {
    el.shortcuts.checked = window.localStorage.getItem(STORAGE_KEY) !== "off";
  } catch (error) {
    // Storage blocked: shortcuts stay on for this page.
  }
}

el.shortcuts.addEventListener("change", () => {
  try {
    window.localStorage.setItem(STORAGE_KEY, el.shortcuts.checked ? "on" : "off");
  } catch (error) {
    // Storage blocked: the choice holds until the page reloads.
  }
});

document.addEventListener("keydown", (event) => {
  if (!el.shortcuts.checked || event.defaultPrevented || event.repeat) return;
  if (event.ctrlKey || event.altKey || event.metaKey || event.shiftKey || event.isComposing) return;
  if (document.querySelector("dialog[open]") || typing(event.target)) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const action = SHORTCUTS[key];
  if (!action) return;
  // The space bar keeps its own meaning on a focused button, link or checkbox.
  if (key === " " && interactive(event.target)) return;
  event.preventDefault();
  request(action);
});

// -- live -----------------------------------------------------------------------------------

const handlers = {
  devices_changed: refreshDevices.soon,
  check_in_failures: refreshCheckInPauses.soon,
  printer_changed: () => {
    refreshDevices.soon();
    refreshPrints.soon();
  },
};
for (const name of QUEUE_EVENTS) {
  handlers[name] = FIGURE_EVENTS.has(name)
    ? () => {
      refreshDesk.soon();
      refreshFigures.soon();
    }
    : refreshDesk.soon;
}

function refreshAll() {
  refreshDesk.soon();
  refreshFigures.soon();
  refreshDevices.soon();
  refreshCheckInPauses.soon();
  refreshPrints.soon();
}

connectLive({
  auth: { stop: Number(root.dataset.stopId) },
  on: handlers,
  reconnectionDelayMax: 2500,
  recover: true,
  onStatus: (status) => {
    showConnection(el.connection, status);
    setOnline(status !== "lost");
    if (status === "reconnected") {
      retryNow();
      refreshAll();
    }
  },
});
// Back from a lost network or a hidden tab: what the page shows may be old.
window.addEventListener("online", () => {
  retryNow();
  refreshAll();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refreshAll();
});

loadShortcutSetting();
render(state);
refreshFigures();
window.setInterval(renderWaits, WAIT_TICK_MS);
window.setInterval(refreshDevices, DEVICE_POLL_MS);
window.setInterval(refreshCheckInPauses, DEVICE_POLL_MS); // a pause ends by itself
// Back to this page from the browser's history: what it shows may be old.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) {
    refreshDesk();
    refreshDevices();
  }
});

// The device keeps this page and its assets (the service worker), where the browser allows one.
import("./offline-support.js").then((support) => support.registerWorker()).catch(() => {});
