// The device's own page for a lost server (/offline, kept on the device by the service worker).
// It asks /health every second; once the server answers it loads the page it stood in for. When
// the worker answered a navigation to X with this page, the address is still X, so a reload
// loads X for real; on /offline itself it goes to ?next= (a path of this site) or the start.
import { fetchText } from "./offline-support.js";

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 1200;

function target() {
  if (window.location.pathname !== "/offline") return null;
  const next = new URLSearchParams(window.location.search).get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

async function answered() {
  try {
    const { response } = await fetchText("/health", { cache: "no-store" }, TIMEOUT_MS);
    return response.ok;
  } catch {
    return false;
  }
}

async function watch() {
  const began = Date.now();
  if (await answered()) {
    document.body.dataset.connection = "online";
    const next = target();
    if (next === null) window.location.reload();
    else window.location.replace(next);
    return;
  }
  window.setTimeout(watch, Math.max(0, INTERVAL_MS - (Date.now() - began)));
}

watch();
