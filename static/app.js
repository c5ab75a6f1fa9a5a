// Coinflip's only script besides htmx. A household's time zone is the phone's own at sign-up: the hidden field
// is filled here. Without JavaScript the server's default (COINFLIP_TIMEZONE) applies; Settings changes it.
for (const field of document.querySelectorAll("input[data-browser-time-zone]")) {
  try {
    field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    field.value = "";
  }
}

// A token shown once: a Copy button beside it (shown only where the clipboard can be written to).
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch (error) {
      getSelection().selectAllChildren(source);
      button.textContent = "Selected: copy it";
    }
  });
}

// Back and Forward show a page kept in memory (the back/forward cache) as it was left, a verdict swapped in
// included. It belongs to whoever was picked on this device when it was shown: if someone else has been picked
// since, or the device logged out, it is asked for again, so one person's Back never opens another's journal.
addEventListener("pageshow", (event) => {
  const who = document.body.dataset.who ?? "";
  try {
    if (event.persisted && localStorage.getItem("coinflip-who") !== who) {
      location.reload();
    } else {
      localStorage.setItem("coinflip-who", who);
    }
  } catch (error) {
    if (event.persisted) location.reload(); // no storage to compare with: ask the server
  }
});

// A PIN is four digits: the fourth sends it, as on a phone's lock screen.
for (const field of document.querySelectorAll("input[data-submit-when-full]")) {
  field.addEventListener("input", () => {
    if (field.value.length === field.maxLength && field.checkValidity()) field.form.requestSubmit();
  });
}
