// The push worker (served at /t/push/worker.js, scope /t/push/: it controls no page). It shows
// what the server pushes: {"title", "body", "tag", "url"}; a tap opens the ticket's status page
// (or brings an open one to the front).
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Loket", {
      body: data.body || "",
      tag: data.tag || "loket",
      renotify: true,
      requireInteraction: true,
      data: { url: data.url || "/" },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => new URL(client.url).pathname === url.pathname);
      return open ? open.focus() : self.clients.openWindow(url.href);
    })
  );
});
