// Coinflip's only script besides htmx. A household's time zone is the phone's own at sign-up: the hidden field
// is filled here. Without JavaScript the server's default (COINFLIP_TIMEZONE) applies; Settings changes it.
for (const field of document.querySelectorAll("input[data-browser-time-zone]")) {
  try {
    field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    field.value = "";
  }
}
