// The words this script shows, in the page's language (base.html's #words): English if the page has none.
const words = (() => {
  try {
    return JSON.parse(document.getElementById("words")?.textContent || "{}");
  } catch (error) {
    return {};
  }
})();
const language = document.documentElement.lang || "en";
const plurals = new Intl.PluralRules(language);
// A sentence with a number: its plural form for the language, the number written as the language writes it.
const counted = (forms, n, english) =>
  (forms?.[plurals.select(n) === "one" ? "one" : "other"] ?? english).replace("{n}", number(n));
const number = (n) => n.toLocaleString(language);

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
      button.textContent = words.copied ?? "Copied";
    } catch (error) {
      getSelection().selectAllChildren(source);
      button.textContent = words.selected ?? "Selected: copy it";
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

// A field with a limit (data-limit) counts its characters as they are typed, as the server counts them (code
// points: an emoji is one; a line break one). Past the limit the count says by how much and the field is marked
// invalid; the server refuses it too, and keeps the text. Screen readers hear the count once typing pauses.
const spoken = document.createElement("p");
spoken.className = "visually-hidden";
spoken.setAttribute("aria-live", "polite");
document.body.append(spoken);
let pause;


function count(field) {
  const shown = field.closest(".field")?.querySelector("[data-limit-of]");
  if (!shown) return;
  const limit = Number(field.dataset.limit);
  const used = [...field.value].length;
  const over = used - limit;
  const too = over > 0 ? ` · ${counted(words.tooMany, over, "{n} too many")}` : "";
  shown.textContent = `${number(used)} / ${number(limit)}${too}`;
  shown.classList.toggle("over", over > 0);
  if (over > 0) field.setAttribute("aria-invalid", "true");
  else if (!field.closest(".field").querySelector(".error:not([hidden])")) field.removeAttribute("aria-invalid");
  clearTimeout(pause);
  pause = setTimeout(() => {
    spoken.textContent = over > 0
      ? counted(words.charactersTooMany, over, "{n} characters too many")
      : counted(words.charactersLeft, limit - used, "{n} characters left");
  }, 800);
}

// A message from the server beside a field goes once the field is changed: it was about what was there before.
function forget(field) {
  const box = field.closest(".field");
  const error = box?.querySelector(".error");
  if (!error || error.hidden) return;
  error.hidden = true;
  for (const element of [box, field]) {
    element.removeAttribute("aria-invalid");
    const rest = (element.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== error.id);
    if (rest.length) element.setAttribute("aria-describedby", rest.join(" "));
    else element.removeAttribute("aria-describedby");
  }
}

// On the document, so forms htmx swaps in later count too.
document.addEventListener("input", (event) => {
  const field = event.target;
  if (!(field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement || field instanceof HTMLSelectElement)) return;
  forget(field);
  if (field.dataset.limit) count(field);
});

// A setting that applies at once (the appearance): saved as soon as it is picked, no button to find.
for (const form of document.querySelectorAll("form[data-save-on-change]")) {
  for (const button of form.querySelectorAll("button[type=submit]")) button.hidden = true;
  form.addEventListener("change", () => form.requestSubmit());
}

// "Check that this flip is fair": when it opens, the seal kept when the coin fell is made again from the verdict
// and its secret, here in the browser, and the two compared. Web Crypto is there only in a secure context
// (https, or the computer itself): over plain http on a home network it is not, and the page says so.
const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

async function checkSeal(fairness) {
  const said = fairness.querySelector("[data-seal-check]");
  const seal = fairness.querySelector("[data-seal]")?.textContent.trim();
  const sealed = fairness.querySelector("[data-sealed]")?.textContent;
  if (!said || seal === undefined || sealed === undefined) return;
  if (!globalThis.crypto?.subtle) {
    said.textContent = words.sealInsecure;
    return;
  }
  const remade = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sealed)));
  const matches = remade === seal;
  said.classList.toggle("matches", matches);
  said.classList.toggle("differs", !matches);
  said.textContent = matches ? words.sealMatches : words.sealDiffers;
}

// Verdicts arrive with htmx too, so this listens on the document ("toggle" does not bubble: caught on the way down).
document.addEventListener("toggle", (event) => {
  if (event.target instanceof HTMLDetailsElement && event.target.open && event.target.matches(".fairness")) {
    checkSeal(event.target);
  }
}, true);

// A pleasure check: tapping a chip empties the field for a new name, and typing a new name unpicks the chip, so
// what is shown is what is logged. (Without JavaScript the server lets a typed name win over a chip.)
document.addEventListener("input", (event) => {
  const field = event.target;
  if (!(field instanceof HTMLInputElement) || !field.closest(".pleasure-names")) return;
  if (field.type === "radio") {
    const other = field.form.elements.namedItem("other_name");
    other.value = "";
    count(other);
  } else if (field.value.trim()) {
    for (const chip of field.form.querySelectorAll(".pleasure-names input[type=radio]")) chip.checked = false;
  }
});

// No signal at the gym: the service worker (/sw.js) keeps the shell and Today for offline use, and static/offline.js
// reveals a sealed flip with no signal and sends it later. That script comes once the page is up, where there is a
// seal to reveal or check, or no signal: Today's first load stays light.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(`${document.body.dataset.root}sw.js`, { scope: document.body.dataset.root }).catch(() => {});
}
if (document.querySelector("[data-sealed-flip], [data-seal-line]") || !navigator.onLine) {
  const script = document.createElement("script");
  script.src = document.body.dataset.offlineJs;
  document.body.append(script);
}
