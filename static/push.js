// Notifications on this device, only on the Reminders page (templates/reminders/index.html loads this; Today's
// first load stays light). Its words come from the box's data attributes, in the page's language.
// Push needs a secure page (HTTPS, or localhost): on plain HTTP the page says so and points to Apprise instead.
const csrfToken = () => {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  } catch (error) {
    return "";
  }
};

const keyBytes = (base64url) => {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
};

for (const box of document.querySelectorAll("[data-push]")) {
  const button = box.querySelector("[data-push-subscribe]");
  const status = box.querySelector("[data-push-status]");
  const say = (text) => {
    status.textContent = text;
    status.hidden = false;
  };
  if (!window.isSecureContext) {
    box.querySelector("[data-push-insecure]").hidden = false;
    continue;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    say(
      box.dataset.unsupported ??
        "This browser can’t take notifications from a web app here. On an iPhone, add Coinflip to the home screen, open it from there and try again.",
    );
    continue;
  }
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = box.dataset.working ?? "Turning on notifications…";
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        say(
          box.dataset.notAllowed ??
            "This browser doesn’t allow notifications for this site. Allow them in its settings for this site, then try again.",
        );
        return;
      }
      const registration = await navigator.serviceWorker.register(box.dataset.worker, { scope: box.dataset.scope });
      await navigator.serviceWorker.ready;
      const subscription =
        (await registration.pushManager.getSubscription()) ||
        (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key) }));
      const response = await fetch(box.dataset.subscriptions, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify(subscription),
      });
      // The API's own words are English (for scripts): the page says what happened in its language.
      if (!response.ok) {
        const refused = box.dataset.refused ?? "Couldn’t turn on notifications here: the server answered {status}.";
        say(refused.replace("{status}", String(response.status)));
        return;
      }
      location.assign(box.dataset.done); // the page again, with this device counted and its test button
    } catch (error) {
      say((box.dataset.failed ?? "Couldn’t turn on notifications here: {reason}").replace("{reason}", error.message));
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}

