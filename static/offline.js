// No signal at the gym (loaded by static/app.js). A habit's card on Today carries its sealed verdict out of sight
// ([data-sealed-flip]). Offline, Flip reveals that verdict here, and the flip and a reflection written meanwhile wait
// in this phone's storage, for whoever was picked, until they can be sent: when the phone is back online, on the
// next page load, or when Background Sync says so. The server takes only that sealed verdict. Verdict pages' seal
// lines ("Sealed at 07:02 as 3f2a…; revealed at 07:15") are finished here too: "; the seal matches".
const root = document.body.dataset.root || "/";
const who = document.body.dataset.who ?? "";
// The outbox lives in the Cache API, which the service worker reads too: it sends by itself (Background Sync) once
// the phone has signal again, even with the app closed. (localStorage where there is no Cache API: plain http.)
const OUTBOX = `${root}outbox`;
// Its words are app.js's: base.html's #words, in the page's language (English if the page has none).
const said = (name, english, values = {}) =>
  Object.entries(values).reduce((text, [key, value]) => text.replace(`{${key}}`, () => value), words[name] ?? english);
const COIN = { heads: ["H", "Heads"], tails: ["T", "Tails"], mixed: ["½", "Mixed"] };

async function outbox() {
  try {
    if (!globalThis.caches) return JSON.parse(localStorage.getItem("coinflip-outbox") || "[]");
    const kept = await (await caches.open("outbox")).match(OUTBOX);
    return kept ? await kept.json() : [];
  } catch (error) {
    return [];
  }
}

async function keep(entries) {
  if (!globalThis.caches) return localStorage.setItem("coinflip-outbox", JSON.stringify(entries));
  await (await caches.open("outbox")).put(OUTBOX, new Response(JSON.stringify(entries)));
}

const revealed = new Map(); // by commitment: what this page revealed, should the outbox have sent it meanwhile
const typing = (where) => [...where.querySelectorAll("form[data-offline-reflection]")].some((form) =>
  [...new FormData(form).values()].some((value) => value));
const csrf = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
const sealOf = (card) => JSON.parse(card.querySelector("[data-sealed-flip]").textContent);

function element(tag, className = "", text = "") {
  const made = document.createElement(tag);
  made.className = className;
  made.textContent = text;
  return made;
}

// "at 07:02" today, "on Tue, 24 Nov 2026, 07:02" another day, as the seal line on a verdict's page says them: in
// the page's language, in the household's time zone.
function atTime(iso) {
  const zone = document.body.dataset.zone;
  const locale = language === "en" ? "en-GB" : language;
  const day = (moment) => moment.toLocaleDateString("en-GB", { timeZone: zone });
  const moment = new Date(iso);
  const time = moment.toLocaleTimeString(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit" });
  if (day(moment) === day(new Date())) return said("at", `at ${time}`, { time });
  const date = moment.toLocaleDateString(locale, { timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric" });
  return said("on", `on ${date}, ${time}`, { moment: `${date}, ${time}` });
}

function sayOffline() {
  const offline = !navigator.onLine || document.body.hasAttribute("data-offline");
  let notice = document.getElementById("offline-notice");
  if (offline && !notice) {
    notice = element("p", "notice offline", said("offline", "No signal: your flip still works and will be sent when you’re back online."));
    notice.id = "offline-notice";
    notice.setAttribute("role", "status");
    document.getElementById("main")?.prepend(notice);
  } else if (!offline) {
    notice?.remove();
  }
}

// "Sealed at 07:02 as 3f2a…; revealed at 07:15" is finished here: the seal made again from the verdict, compared.
async function finishSealLine(line, seal, sealed) {
  if (line.dataset.checked || !seal || sealed === undefined) return;
  line.dataset.checked = "yes";
  const end = line.querySelector("[data-seal-said]") || line.appendChild(element("span"));
  if (!globalThis.crypto?.subtle) {
    end.textContent = said("sealLineInsecure", "; this browser checks the seal only over https (see “Check that this flip is fair”)");
    return;
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sealed));
  const matches = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("") === seal;
  line.classList.add(matches ? "matches" : "differs");
  end.textContent = matches
    ? said("sealLineMatches", "; the seal matches")
    : said("sealLineDiffers", "; the seal does NOT match: this verdict was changed after it was sealed");
}

function finishSealLines(where) {
  for (const line of where.querySelectorAll("[data-seal-line]")) {
    const verdict = line.closest("article");
    finishSealLine(line, verdict.querySelector("[data-seal]")?.textContent.trim(), verdict.querySelector("[data-sealed]")?.textContent);
  }
}

function showRevealed(card, sealed, revealedAt, reflection) {
  const [letter, word] = sealed.coin_shown ?? COIN[sealed.coin]; // in the page's language (flips/_card.html)
  const verdict = element("section", `verdict verdict-${sealed.coin} fresh offline-revealed`);
  verdict.setAttribute("aria-live", "polite");
  const disc = element("div", `coin coin-${sealed.coin}`);
  disc.setAttribute("aria-hidden", "true");
  disc.append(element("span", "", letter));
  verdict.append(disc, element("h3", "coin-word", word));
  for (const [allowed, title, mark] of [[true, said("comesAlong", "Comes along:"), "✓"], [false, said("notThisTime", "Not this time:"), "✕"]]) {
    const these = sealed.enhancers.filter((e) => e.allowed === allowed);
    if (!these.length) continue;
    const list = element("ul", `enhancers ${allowed ? "yes" : "no"}`);
    list.setAttribute("role", "list");
    for (const e of these) list.append(element("li", "", `${mark} ${e.name}`));
    const heading = element("p");
    heading.append(element("strong", "", title));
    verdict.append(heading, list);
  }
  const times = { sealed: atTime(sealed.sealed_at), hash: `${sealed.commitment.slice(0, 4)}…`, revealed: atTime(revealedAt) };
  const line = element("p", "seal-line", said("sealedRevealed", `Sealed ${times.sealed} as ${times.hash}; revealed ${times.revealed}`, times));
  verdict.append(line, element("p", "meta", said("keptHere", "Kept on this phone until it can be sent: the verdict is final.")));
  finishSealLine(line, sealed.commitment, sealed.text);
  card.querySelector(".seal-note")?.remove();
  card.querySelector("form[data-reveal]").replaceWith(verdict);
  if (reflection) {
    verdict.after(element("p", "notice", said("reflectionKeptHere", "Reflection saved on this phone; it is sent with the flip.")));
  } else {
    const form = document.getElementById("offline-reflection").content.firstElementChild.cloneNode(true);
    form.querySelector("label[for=note]").textContent = sealed.prompt;
    verdict.after(form);
  }
}

async function revealHere(form) {
  const card = form.closest("article");
  const sealed = sealOf(card);
  const revealedAt = new Date().toISOString();
  const entry = { who, csrf: csrf(), habit: card.id, url: form.dataset.reveal, commitment: sealed.commitment,
    coin: sealed.coin, enhancers: sealed.enhancers, revealed_at: revealedAt, reflection: null };
  showRevealed(card, sealed, revealedAt, null);
  revealed.set(entry.commitment, entry);
  await keep([...(await outbox()).filter((e) => e.commitment !== sealed.commitment), entry]);
  navigator.serviceWorker?.ready.then((worker) => worker.sync?.register("coinflip-outbox")).catch(() => {});
}

async function keepReflection(form) {
  const data = new FormData(form);
  const reflection = { effort: Number(data.get("effort")), enjoyment: Number(data.get("enjoyment")),
    followed: data.get("followed"), note: data.get("note") || "" };
  if (!reflection.effort || !reflection.enjoyment || !reflection.followed) {
    form.querySelector(".missing")?.remove();
    form.prepend(element("p", "notice warn missing", said("reflectionMissing", "Please pick your effort, your enjoyment and whether you followed the coin.")));
    return;
  }
  const commitment = sealOf(form.closest("article")).commitment;
  // Its flip may have been sent meanwhile: sent again with the reflection, it is the same flip.
  const others = (await outbox()).filter((e) => e.commitment !== commitment);
  await keep([...others, { ...revealed.get(commitment), reflection }]);
  form.replaceWith(element("p", "notice", said("reflectionKeptHere", "Reflection saved on this phone; it is sent with the flip."))); // once it is
  sendOutbox();
}

let sending = false;

async function sendOutbox() {
  if (sending || !navigator.onLine) return;
  sending = true;
  try {
    for (const entry of (await outbox()).filter((e) => e.who === who)) {
      // A reflection being written here is sent with its flip once saved, never swapped away half typed.
      const card = document.getElementById(entry.habit);
      if (card && typing(card)) continue;
      if (!(await send(entry))) break;
      await keep((await outbox()).filter((e) => e.commitment !== entry.commitment));
    }
  } finally {
    sending = false;
  }
}

// Sends one revealed flip and its reflection; false: try again later (no signal yet, or the server is away).
async function send(entry) {
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf() };
  const { commitment, coin, enhancers, revealed_at } = entry;
  const told = [];
  let flip;
  try {
    const response = await fetch(entry.url, { method: "POST", headers, body: JSON.stringify({ commitment, coin, enhancers, revealed_at }) });
    if (response.status >= 500 || response.status === 401 || response.status === 403) return false;
    flip = await response.json();
    // The API's reason is English (for scripts): the page's own words for it, where it has them.
    const reason = words.revealRefusals?.[flip.detail] ?? flip.detail;
    if (!response.ok) told.push(said("flipNotKept", `This phone’s flip was not kept: ${reason}`, { reason }));
    if (response.ok && entry.reflection) {
      const saved = await fetch(`${root}api/v1/flips/${flip.id}/reflection`, { method: "PUT", headers, body: JSON.stringify(entry.reflection) });
      if (saved.status >= 500) return false;
      // Never over a reflection saved meanwhile from another phone: that one stays, this one is shown to copy.
      const note = entry.reflection.note;
      if (saved.status === 409) told.push(said("reflectionKeptOut", `A reflection was already saved from another phone, so this one was kept out: “${note}”`, { note }));
    }
  } catch (error) {
    return false;
  }
  const card = document.getElementById(entry.habit);
  if (card && globalThis.htmx) {
    await htmx.ajax("GET", flip.id ? `${root}flips/${flip.id}` : root, flip.id ? { target: card, swap: "outerHTML" } : { target: "#main", select: "#main", swap: "outerHTML" });
  }
  for (const message of told) document.getElementById(entry.habit)?.querySelector(".verdict, header")?.after(element("p", "notice warn", message));
  return true;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches?.("form[data-reveal]") && !navigator.onLine) {
    event.preventDefault();
    event.stopPropagation(); // before htmx sends it
    revealHere(form);
  } else if (form.matches?.("form[data-offline-reflection]")) {
    event.preventDefault();
    keepReflection(form);
  }
}, true);
// Online by the phone's word, but the request found no server (a gym's Wi-Fi that goes nowhere): offline after all.
document.addEventListener("htmx:sendError", (event) => {
  const form = event.detail.elt;
  if (form?.matches?.("form[data-reveal]") && document.contains(form)) revealHere(form);
});
document.addEventListener("htmx:load", (event) => finishSealLines(event.detail.elt));
document.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.successful && event.detail.requestConfig?.verb !== "get") navigator.serviceWorker?.controller?.postMessage("keep-today");
});
addEventListener("offline", sayOffline);
addEventListener("online", () => {
  document.body.removeAttribute("data-offline");
  sayOffline();
  sendOutbox();
});

// Sent by the service worker meanwhile: Today as the server has it now.
function sentMeanwhile(event) {
  if (event.data !== "outbox-sent" || !document.querySelector(".offline-revealed") || typing(document)) return;
  htmx.ajax("GET", root, { target: "#main", select: "#main", swap: "outerHTML" });
}

(async () => {
  for (const entry of (await outbox()).filter((e) => e.who === who)) {
    const card = document.getElementById(entry.habit);
    const form = card?.querySelector("form[data-reveal]");
    if (form && sealOf(card).commitment === entry.commitment) {
      revealed.set(entry.commitment, entry);
      showRevealed(card, sealOf(card), entry.revealed_at, entry.reflection);
    }
  }
  sendOutbox();
})();
sayOffline();
finishSealLines(document);
navigator.serviceWorker?.addEventListener("message", sentMeanwhile);
