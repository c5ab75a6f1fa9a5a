// Reminders by Web Push, imported by the service worker (/sw.js). A push carries {title, body, url}: it is shown as
// the app's notification, and a tap opens url (the habit's card on Today, for the member it is meant for) in the
// app's window if one is open, else in a new one.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data.text() };
  }
  const scope = self.registration.scope;
  event.waitUntil(
    self.registration.showNotification(data.title || "Coinflip", {
      body: data.body || "",
      icon: new URL("static/icon-192.png", scope).href,
      badge: new URL("static/icon-192.png", scope).href,
      tag: data.url || "coinflip", // one notification per habit: a newer cue replaces the older
      data: { url: data.url || scope },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const scope = self.registration.scope;
  const target = new URL(event.notification.data?.url || scope, scope).href;
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const ours = open.find((client) => client.url.startsWith(scope));
      if (ours) {
        await ours.focus();
        if ("navigate" in ours) await ours.navigate(target);
        return;
      }
      await self.clients.openWindow(target);
    })(),
  );
});
