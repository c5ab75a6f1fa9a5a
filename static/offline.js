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

function atTime(iso) {
  const zone = document.body.dataset.zone;
  const day = (moment) => moment.toLocaleDateString("en-GB", { timeZone: zone });
  const moment = new Date(iso);
  const time = moment.toLocaleTimeString("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" });
  if (day(moment) === day(new Date())) return `at ${time}`;
  return `on ${moment.toLocaleDateString("en-GB", { timeZone: zone, weekday: "short", day: "numeric", month: "short" })}, ${time}`;
}

function sayOffline() {
  const offline = !navigator.onLine || document.body.hasAttribute("data-offline");
  let notice = document.getElementById("offline-notice");
  if (offline && !notice) {
    notice = element("p", "notice offline", "No signal: your flip still works and will be sent when you're back online.");
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
  const said = line.querySelector("[data-seal-said]") || line.appendChild(element("span"));
  if (!globalThis.crypto?.subtle) {
    said.textContent = "; this browser checks the seal only over https (see “Check that this flip is fair”)";
    return;
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sealed));
  const matches = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("") === seal;
  line.classList.add(matches ? "matches" : "differs");
  said.textContent = matches ? "; the seal matches" : "; the seal does NOT match: this verdict was changed after it was sealed";
}

function finishSealLines(where) {
  for (const line of where.querySelectorAll("[data-seal-line]")) {
    const verdict = line.closest("article");
    finishSealLine(line, verdict.querySelector("[data-seal]")?.textContent.trim(), verdict.querySelector("[data-sealed]")?.textContent);
  }
}

function showRevealed(card, sealed, revealedAt, reflection) {
  const [letter, word] = COIN[sealed.coin];
  const verdict = element("section", `verdict verdict-${sealed.coin} fresh offline-revealed`);
  verdict.setAttribute("aria-live", "polite");
  const disc = element("div", `coin coin-${sealed.coin}`);
  disc.setAttribute("aria-hidden", "true");
  disc.append(element("span", "", letter));
  verdict.append(disc, element("h3", "coin-word", word));
  for (const [allowed, title, mark] of [[true, "Comes along:", "✓"], [false, "Not this time:", "✕"]]) {
    const these = sealed.enhancers.filter((e) => e.allowed === allowed);
    if (!these.length) continue;
    const list = element("ul", `enhancers ${allowed ? "yes" : "no"}`);
    list.setAttribute("role", "list");
    for (const e of these) list.append(element("li", "", `${mark} ${e.name}`));
    const heading = element("p");
    heading.append(element("strong", "", title));
    verdict.append(heading, list);
  }
  const line = element("p", "seal-line", `Sealed ${atTime(sealed.sealed_at)} as ${sealed.commitment.slice(0, 4)}…; revealed ${atTime(revealedAt)}`);
  verdict.append(line, element("p", "meta", "Kept on this phone until it can be sent: the verdict is final."));
  finishSealLine(line, sealed.commitment, sealed.text);
  card.querySelector(".seal-note")?.remove();
  card.querySelector("form[data-reveal]").replaceWith(verdict);
  if (reflection) {
    verdict.after(element("p", "notice", "Reflection saved on this phone; it is sent with the flip."));
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
    form.prepend(element("p", "notice warn missing", "Please pick your effort, your enjoyment and whether you followed the coin."));
    return;
  }
  const commitment = sealOf(form.closest("article")).commitment;
  // Its flip may have been sent meanwhile: sent again with the reflection, it is the same flip.
  const others = (await outbox()).filter((e) => e.commitment !== commitment);
  await keep([...others, { ...revealed.get(commitment), reflection }]);
  form.replaceWith(element("p", "notice", "Reflection saved on this phone; it is sent with the flip.")); // once it is
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
  const said = [];
  let flip;
  try {
    const response = await fetch(entry.url, { method: "POST", headers, body: JSON.stringify({ commitment, coin, enhancers, revealed_at }) });
    if (response.status >= 500 || response.status === 401 || response.status === 403) return false;
    flip = await response.json();
    if (!response.ok) said.push(`This phone's flip was not kept: ${flip.detail}`);
    if (response.ok && entry.reflection) {
      const saved = await fetch(`${root}api/v1/flips/${flip.id}/reflection`, { method: "PUT", headers, body: JSON.stringify(entry.reflection) });
      if (saved.status >= 500) return false;
      // Never over a reflection saved meanwhile from another phone: that one stays, this one is shown to copy.
      if (saved.status === 409) said.push(`A reflection was already saved from another phone, so this one was kept out: “${entry.reflection.note}”`);
    }
  } catch (error) {
    return false;
  }
  const card = document.getElementById(entry.habit);
  if (card && globalThis.htmx) {
    await htmx.ajax("GET", flip.id ? `${root}flips/${flip.id}` : root, flip.id ? { target: card, swap: "outerHTML" } : { target: "#main", select: "#main", swap: "outerHTML" });
  }
  for (const words of said) document.getElementById(entry.habit)?.querySelector(".verdict, header")?.after(element("p", "notice warn", words));
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
