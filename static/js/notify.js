// "Stuur mij een bericht als ik bijna aan de beurt ben" on a ticket's status page. The phone
// and e-mail forms work without this script; it only adds the browser push button when the
// browser can push (a secure context, a service worker, the Push API), and hides the panel once
// the ticket no longer waits (ticket.js swaps the live part of the page).
//
// Push: ask permission, register the push worker (its own scope /t/push/, which holds no page,
// so the offline worker keeps the page), subscribe with the server's VAPID key, and send the
// subscription to the API. Every request has a timeout; a failure says so and changes nothing.
const panel = document.getElementById("notify");
const TIMEOUT_MS = 10000;

function say(text) {
  const status = document.getElementById("notify-status");
  if (!status) return;
  status.textContent = text;
  status.hidden = false;
}

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function activated(registration) {
  if (registration.active) return Promise.resolve(registration);
  const worker = registration.installing || registration.waiting;
  return new Promise((resolve, reject) => {
    if (!worker) {
      reject(new Error("no worker"));
      return;
    }
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve(registration);
      if (worker.state === "redundant") reject(new Error("worker redundant"));
    });
  });
}

async function subscribePush(button) {
  button.disabled = true;
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say(panel.dataset.denied);
      return;
    }
    const scope = panel.dataset.worker.replace(/[^/]*$/, "");
    const registration = await activated(await navigator.serviceWorker.register(panel.dataset.worker, { scope }));
    const subscription =
      (await registration.pushManager.getSubscription()) ||
      (await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(panel.dataset.key),
      }));
    const controller = new AbortController();
    const timer = window.setTimeout(() => controller.abort(), TIMEOUT_MS);
    const response = await fetch(panel.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ push: subscription.toJSON(), language: panel.dataset.lang }),
      signal: controller.signal,
    }).finally(() => window.clearTimeout(timer));
    if (!response.ok) throw new Error(`status ${response.status}`);
    say(panel.dataset.done);
    document.getElementById("notify-push").hidden = true;
  } catch (error) {
    say(panel.dataset.failed);
  } finally {
    button.disabled = false;
  }
}

function watchStatus() {
  // The live part is replaced as the queue moves: once the ticket is called or has ended,
  // the panel has nothing left to offer.
  const live = document.getElementById("ticket-live");
  if (!live) return;
  const check = () => {
    const card = document.getElementById("ticket-status");
    if (card && card.dataset.status !== "waiting") panel.hidden = true;
  };
  new MutationObserver(check).observe(live, { childList: true, subtree: true });
}

if (panel) {
  const push = document.getElementById("notify-push");
  const button = document.getElementById("notify-push-button");
  const canPush =
    window.isSecureContext && "serviceWorker" in navigator && "PushManager" in window &&
    "Notification" in window && panel.dataset.key;
  if (push && button && canPush && Notification.permission !== "denied") {
    push.hidden = false;
    button.addEventListener("click", () => subscribePush(button));
  }
  watchStatus();
}
