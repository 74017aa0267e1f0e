/* The door scanner (templates/checkin.html; docs/checkin.md, "The scanner page").

   Online, each code goes to POST /checkin/{id}/scan and the server answers. The page also
   keeps the concert's bundle (public key, tickets with seat and holder, revoked and admitted
   lists) in IndexedDB, so when the network is down it checks codes itself: the code's
   Ed25519 signature with the concert's public key, the revoked list, and the admissions it
   knows of (the server's as of the last bundle, plus this device's own). Offline scans are
   queued with their own scan id and synced when the network returns; the server records them
   (idempotent per scan id) and reports a ticket two offline devices both let in. */

import * as ed from "./vendor/noble-ed25519-3.2.0/index.js";
import { sha512 } from "./vendor/noble-hashes-2.4.0/sha2.js";

// noble's documented hook: a synchronous SHA-512 of its own, because crypto.subtle (its
// default, async) exists only in secure contexts and a venue's LAN page is often plain http.
ed.hashes.sha512 = sha512;

const root = document.getElementById("scanner");
const CONCERT = root.dataset.concertId;
const CSRF = root.dataset.csrf;
const URLS = { scan: root.dataset.scanUrl, bundle: root.dataset.bundleUrl, sync: root.dataset.syncUrl };
const BUNDLE_EVERY_MS = 30000;
const RETRY_EVERY_MS = 5000;
// An online answer slower than this falls back to checking on this device (the scan keeps
// its id, so if the server did record it the later sync changes nothing).
const ONLINE_TIMEOUT_MS = 2500;
// The bundle (a stadium's is megabytes) and a sync (100 scans, each recorded) get longer.
const BULK_TIMEOUT_MS = 30000;
// The server takes at most 100 scans (and 64 KiB) a sync; a scan is about 330 bytes.
const SYNC_BATCH = 100;
// The longest code there can be (tickets/codes.py, MAX_CODE_LENGTH); the field's maxlength.
const MAX_CODE = 206;
const CAMERA_REPEAT_MS = 3000;

const $ = (sel) => root.querySelector(sel);
const codeInput = $("#code");
const gateInput = $("#gate");
const panel = $(".js-result");

/* ---- storage: a small key-value store in IndexedDB (localStorage can't hold a stadium's
   ticket list), with localStorage for the two short settings ---------------------------- */

const store = (() => {
  let dbPromise = null;
  const open = () => {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open("ticketbook-scanner", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("kv");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  };
  const run = (mode, fn) => open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction("kv", mode);
    const req = fn(tx.objectStore("kv"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  }));
  return {
    get: (key) => run("readonly", (s) => s.get(key)).catch(() => undefined),
    set: (key, value) => run("readwrite", (s) => s.put(value, key)).catch(() => undefined),
    // Everything this page kept (every concert's lists): staff rights gone, or signed out.
    clear: () => run("readwrite", (s) => s.clear()).catch(() => undefined),
  };
})();

const KEY = {
  bundle: `bundle:${CONCERT}`,
  pending: `pending:${CONCERT}`,
  local: `local:${CONCERT}`,
  conflicts: `conflicts:${CONCERT}`,
  failed: `failed:${CONCERT}`,
};

function setting(name, fallback) {
  try { return localStorage.getItem(name) || fallback; } catch (e) { return fallback; }
}
function saveSetting(name, value) {
  try { localStorage.setItem(name, value); } catch (e) { /* private mode: not remembered */ }
}

// crypto.randomUUID exists only in secure contexts; getRandomValues everywhere.
function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return uuidOf(b);
}

const device = setting("tb.scanner.device", "") || (() => {
  const id = "dev-" + newId().slice(0, 8);
  saveSetting("tb.scanner.device", id);
  return id;
})();
$(".js-device").textContent = device;
gateInput.value = setting("tb.scanner.gate", gateInput.value);
gateInput.addEventListener("change", () => {
  gateInput.value = gateInput.value.trim() || "Main gate";
  saveSetting("tb.scanner.gate", gateInput.value);
  renderCounts();
});
// Enter in the gate field: named, back to scanning.
gateInput.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  gateInput.dispatchEvent(new Event("change"));
  codeInput.focus();
});
const gate = () => gateInput.value.trim() || "Main gate";

/* ---- state ---------------------------------------------------------------------------- */

let bundle = null;          // the server's bundle, as last fetched (with its etag, checkedAt)
let tickets = new Map();    // ticketId -> {seat, tier, holder, admissionKey}
let revoked = new Set();
// Keyed by admission, not ticket: a transfer's old and new codes carry one admission, and a
// device lets it in once. A ticket the bundle doesn't know yet is keyed by its id.
let admitted = new Map();   // admission key -> {gate, at, device}: the server's, then ours
let local = {};             // ticketId -> {gate, at, key}: let in by this device while offline
let pending = [];           // offline scans not yet synced
let failed = [];            // offline scans the server refused one by one: kept to be seen
let conflicts = [];
let online = navigator.onLine;
let lastGateCount = null;   // {gate, count} from the server's last answer
let rightsGone = false;     // a 401/403: nothing more is sent

function admissionOf(ticketId) {
  const t = tickets.get(ticketId);
  return t && t.admissionKey ? t.admissionKey : "t:" + ticketId;
}

function rebuild() {
  tickets = new Map((bundle ? bundle.tickets : []).map((t) => [t.ticketId, t]));
  revoked = new Set(bundle ? bundle.revoked : []);
  admitted = new Map((bundle ? bundle.admitted : []).map((a) => [a.admissionKey || "t:" + a.ticketId, a]));
  for (const [id, a] of Object.entries(local)) {
    // The key it was let in under: kept, since a transfer's bundle no longer lists the old ticket.
    const key = a.key || admissionOf(id);
    if (!admitted.has(key)) admitted.set(key, { gate: a.gate, at: a.at, device });
  }
}

// What a stored or fetched bundle must be before this page trusts it to check codes.
function validBundle(b) {
  return Boolean(b) && typeof b === "object" && b.concertId === CONCERT
    && typeof b.publicKey === "string" && b.publicKey.length > 0
    && Number.isInteger(b.keyVersion) && Array.isArray(b.tickets)
    && Array.isArray(b.revoked) && Array.isArray(b.admitted);
}

/* ---- the code: "TB" + base32(payload || signature), tickets/codes.py ------------------ */

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEADER = 1 + 2 + 8 + 16 + 4;
const SIG = 64;

function base32(text) {
  const out = [];
  let bits = 0, value = 0;
  for (const ch of text) {
    const v = B32.indexOf(ch);
    if (v < 0) return null;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function uuidOf(b) {
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function fromBase64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/* Check a code on this device: the same answers as the server, from the bundle. */
function checkLocally(code) {
  const text = code.toUpperCase();
  const raw = text.startsWith("TB") && text.length <= MAX_CODE ? base32(text.slice(2)) : null;
  if (!raw || raw.length < HEADER + SIG || raw[0] !== 1) {
    return { outcome: "INVALID", message: "Not a TicketBook ticket code." };
  }
  const payload = raw.subarray(0, raw.length - SIG);
  const signature = raw.subarray(raw.length - SIG);
  const keyVersion = (raw[1] << 8) | raw[2];
  const concertPrefix = hex(raw.subarray(3, 11));
  const ticketId = uuidOf(raw.subarray(11, 27));
  if (concertPrefix !== CONCERT.replace(/-/g, "").slice(0, 16)) {
    return { outcome: "WRONG_EVENT", message: "This ticket is for another concert." };
  }
  if (!bundle) {
    return { outcome: "INVALID", message: "Offline, and this device has no ticket list yet: can't check this ticket.", unchecked: true };
  }
  // As the server answers: a code under a rotated-out key is revoked, a newer one unknown.
  if (keyVersion < bundle.keyVersion) {
    return { outcome: "REVOKED", message: "This code was signed with a replaced key. The fan needs their current ticket." };
  }
  if (keyVersion > bundle.keyVersion) {
    return { outcome: "INVALID", message: "This code's key is newer than this device's ticket list." };
  }
  let valid = false;
  try {
    // zip215: false, the strict RFC 8032 checks OpenSSL (the server's verify) makes.
    valid = ed.verify(signature, payload, fromBase64url(bundle.publicKey), { zip215: false });
  } catch (e) {
    valid = false;
  }
  if (!valid) return { outcome: "INVALID", message: "This code's signature doesn't verify: it was altered or forged." };
  let seat = null;
  try {
    seat = new TextDecoder("utf-8", { fatal: true }).decode(raw.subarray(HEADER, raw.length - SIG)) || null;
  } catch (e) {
    return { outcome: "INVALID", message: "Not a TicketBook ticket code." };
  }
  // A ticket issued after the bundle was fetched is signed but not in the list yet.
  const known = tickets.get(ticketId);
  const ticket = known || { ticketId, seat, tier: null, holder: null };
  if (revoked.has(ticketId)) {
    return { outcome: "REVOKED", message: "This ticket was cancelled or transferred.", ticket };
  }
  const first = admitted.get(admissionOf(ticketId));
  if (first) {
    return { outcome: "ALREADY_USED", message: "This ticket was already used.", ticket, firstAdmitted: first };
  }
  return {
    outcome: "ADMIT",
    message: known ? "Let them in." : "Let them in. (Issued after this device's ticket list was updated.)",
    ticket,
  };
}

/* ---- network ---------------------------------------------------------------------------- */

class Unreadable extends Error {}

/* One call to the server. A network error, a timeout (the body's read included), a 502-504 or
   an answer that isn't JSON (a captive portal's HTML page, a body cut off) throws: as good as
   offline for the door. A 304 has no body. */
async function call(method, url, body, { timeout = ONLINE_TIMEOUT_MS, headers = {} } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  try {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": CSRF, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status >= 502) throw new Error("server unavailable: " + response.status);
    if (response.status === 304) return { status: 304, data: {}, etag: response.headers.get("ETag") };
    let data;
    try {
      data = await response.json();
    } catch (e) {
      throw new Unreadable(`unreadable answer (${response.status})`);
    }
    if (data === null || typeof data !== "object") throw new Unreadable("not a JSON object");
    return { status: response.status, data, etag: response.headers.get("ETag") };
  } finally {
    clearTimeout(timer);
  }
}

/* 401/403: this account may no longer scan (rights taken back, or signed out). Stop sending,
   and delete the ticket list (names, seats) and the admissions this device kept. The scans
   still waiting to sync stay: they are the record of who was let in, and go out once staff
   with rights sign in on this device again. */
async function loseRights(message) {
  rightsGone = true;
  bundle = null;
  local = {};
  failed = [];
  conflicts = [];
  await store.clear();
  if (pending.length) await store.set(KEY.pending, pending);
  rebuild();
  renderPending();
  renderFailed();
  renderConflicts();
  renderCounts();
  root.dataset.rights = "gone";
  delete root.dataset.bundle;
  $(".js-bundle-state").textContent = "This account's check-in rights for this concert are gone"
    + ` (${message || "refused"}). The offline ticket list was deleted from this device: sign in again.`
    + (pending.length ? ` ${pending.length} scans made here are kept until they can be synced.` : "");
}

function setOnline(value) {
  online = value;
  const net = $(".js-net");
  net.dataset.state = value ? "online" : "offline";
  net.className = "net js-net " + (value ? "net--online" : "net--offline");
  net.querySelector(".net__icon").textContent = value ? "●" : "○";
  $(".js-net-text").textContent = value ? "Online" : "Offline: checking tickets on this device";
}

async function refreshBundle() {
  if (rightsGone) return;
  if (!navigator.onLine) return setOnline(false);
  let answer;
  try {
    // The list this device holds, named by its ETag: 304 while nothing changed.
    const headers = bundle && bundle.etag ? { "If-None-Match": bundle.etag } : {};
    answer = await call("GET", URLS.bundle, undefined, { timeout: BULK_TIMEOUT_MS, headers });
  } catch (e) {
    setOnline(false);
    return;
  }
  setOnline(true);
  const { status, data, etag } = answer;
  if (status === 401 || status === 403) return loseRights(data.message);
  if (status === 304 && bundle) {
    bundle.checkedAt = new Date().toISOString();
  } else if (status === 200 && validBundle(data)) {
    bundle = { ...data, etag: etag || null, checkedAt: new Date().toISOString() };
    rebuild();
  } else {
    return showBundleState(`Couldn't update the ticket list (${data.message || status}).`);
  }
  await store.set(KEY.bundle, bundle);
  showBundleState();
  renderCounts();
}

function showBundleState(problem) {
  const el = $(".js-bundle-state");
  if (!bundle) {
    el.textContent = problem || "No ticket list on this device yet: offline checks need one.";
    return;
  }
  const at = timeText(bundle.checkedAt || bundle.generatedAt);
  const n = bundle.tickets.length;
  el.textContent = problem || `Ticket list for offline use: ${n} ${n === 1 ? "ticket" : "tickets"}, updated ${at}.`;
  root.dataset.bundle = "ready";
}

let syncing = null;
function sync() {
  if (!syncing) syncing = doSync().finally(() => { syncing = null; });
  return syncing;
}

async function doSync() {
  if (!pending.length || !navigator.onLine || rightsGone) return;
  while (pending.length) {
    if (await sendBatch(pending.slice(0, SYNC_BATCH)) !== "ok") return;
  }
  await refreshBundle();
}

/* Send one batch: "ok" (recorded, or refused scans set aside), "offline" or "stop". A scan
   leaves the queue only when its scanId is in the answer's `recorded`. A batch the server
   refuses as a whole (400, 409, 413) is split in halves until the scan it refuses is alone:
   that one leaves the queue, kept as failed, and the others go through. */
async function sendBatch(batch) {
  let answer;
  try {
    answer = await call("POST", URLS.sync, { device, scans: batch }, { timeout: BULK_TIMEOUT_MS });
  } catch (e) {
    setOnline(false);
    return "offline";
  }
  setOnline(true);
  const { status, data } = answer;
  if (status === 200 && Array.isArray(data.recorded)) {
    const done = new Set(data.recorded.map((r) => r && r.scanId));
    const before = pending.length;
    pending = pending.filter((s) => !done.has(s.scanId));
    await store.set(KEY.pending, pending);
    // The server answers every conflict of the concert so far, this device's or not.
    if (Array.isArray(data.conflicts)) {
      conflicts = data.conflicts;
      await store.set(KEY.conflicts, conflicts);
    }
    renderPending();
    renderConflicts();
    return pending.length < before ? "ok" : "stop";
  }
  if (status === 401 || status === 403) {
    await loseRights(data.message);
    return "stop";
  }
  if (status === 400 || status === 409 || status === 413) {
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      for (const part of [batch.slice(0, half), batch.slice(half)]) {
        const result = await sendBatch(part);
        if (result !== "ok") return result;
      }
      return "ok";
    }
    const [refused] = batch;
    failed.push({ ...refused, reason: data.message || `refused (${status})` });
    pending = pending.filter((s) => s.scanId !== refused.scanId);
    await store.set(KEY.pending, pending);
    await store.set(KEY.failed, failed);
    renderPending();
    renderFailed();
    return "ok";
  }
  showBundleState(`Couldn't sync the offline scans (${data.message || status}).`);
  return "stop";
}

/* ---- scanning ----------------------------------------------------------------------------- */

let queue = Promise.resolve();
function submit(rawCode) {
  const code = rawCode.replace(/\s+/g, "");
  if (!code) return;
  if (code.length > MAX_CODE) {
    // Longer than any ticket code: answered here, never sent nor queued.
    queue = queue.then(() => show({ outcome: "INVALID", message: "Not a TicketBook ticket code (too long)." }, false, 0));
    return;
  }
  // One at a time, in order: a wedge scanner can send the next code before this one's answer.
  queue = queue.then(() => scan(code)).catch((e) => console.error(e));
}

async function scan(code) {
  const started = performance.now();
  const scanId = newId();
  const at = new Date().toISOString();
  let answer = null;
  if (rightsGone) {
    show({ outcome: "ERROR", message: "This account may no longer scan this concert: sign in again." }, false, 0);
    return;
  }
  if (navigator.onLine) {
    try {
      const { status, data } = await call("POST", URLS.scan, { concertId: CONCERT, scanId, code, gate: gate(), device });
      setOnline(true);
      if (status === 200 && typeof data.outcome === "string") answer = data;
      else if (status === 200) throw new Unreadable("no outcome");
      else if (status === 401 || status === 403) {
        await loseRights(data.message);
        answer = { outcome: "ERROR", message: "This account may no longer scan this concert: sign in again." };
      } else answer = { outcome: "ERROR", message: data.message || `The server refused the scan (${status}).` };
    } catch (e) {
      setOnline(false);
    }
  } else {
    setOnline(false);
  }
  let offline = false;
  if (answer === null) {
    offline = true;
    answer = checkLocally(code);
    if (!answer.unchecked) {
      if (answer.outcome === "ADMIT") {
        const key = admissionOf(answer.ticket.ticketId);
        local[answer.ticket.ticketId] = { gate: gate(), at, key };
        admitted.set(key, { gate: gate(), at, device });
        await store.set(KEY.local, local);
      }
      pending.push({ scanId, code, gate: gate(), scannedAt: at, offlineOutcome: answer.outcome });
      await store.set(KEY.pending, pending);
      renderPending();
    }
  } else if (answer.ticket && (answer.outcome === "ADMIT" || answer.outcome === "ALREADY_USED")) {
    // What the server said, kept for a later offline check on this device.
    const first = answer.firstAdmitted || { gate: gate(), at, device };
    const key = admissionOf(answer.ticket.ticketId);
    if (!admitted.has(key)) admitted.set(key, first);
    if (answer.outcome === "ADMIT" && typeof answer.gateCount === "number") {
      lastGateCount = { gate: gate(), count: answer.gateCount };
    }
  }
  show(answer, offline, Math.round(performance.now() - started));
  renderCounts();
}

const LABELS = {
  ADMIT: ["ADMIT", "✓", "ok"],
  ALREADY_USED: ["ALREADY USED", "!", "warn"],
  REVOKED: ["REVOKED", "⊘", "bad"],
  INVALID: ["INVALID", "✕", "bad"],
  WRONG_EVENT: ["WRONG EVENT", "✕", "bad"],
  ERROR: ["NOT CHECKED", "?", "bad"],
};

function show(answer, offline, elapsed) {
  const [label, icon, tone] = LABELS[answer.outcome] || LABELS.ERROR;
  const lines = [];
  const t = answer.ticket;
  if (t) {
    const what = [t.seat ? `Seat ${t.seat}` : null, t.tier].filter(Boolean).join(" · ");
    if (what) lines.push(what);
    if (t.holder) lines.push(t.holder);
  }
  const first = answer.firstAdmitted;
  // Online, the server's message names the gate and time already.
  if (answer.outcome === "ALREADY_USED" && first && offline) {
    const where = first.device === device && first.gate === gate() ? `${first.gate} (this device)` : first.gate;
    lines.push(`First admitted ${timeText(first.at)} at ${where}`);
  }
  if (answer.message) lines.push(answer.message);
  if (offline) lines.push("Checked on this device (offline); it will sync when the network is back.");

  // Emptied first, so the same answer twice is announced twice.
  panel.className = `result-panel result-panel--${tone} js-result`;
  panel.dataset.outcome = answer.outcome;
  panel.dataset.elapsedMs = String(elapsed);
  panel.dataset.offline = offline ? "1" : "0";
  panel.replaceChildren();
  const head = document.createElement("p");
  head.className = "result-panel__outcome";
  const i = document.createElement("span");
  i.className = "result-panel__icon";
  i.setAttribute("aria-hidden", "true");
  i.textContent = icon;
  const o = document.createElement("span");
  o.className = "js-outcome";
  o.textContent = label;
  head.append(i, " ", o);
  panel.append(head);
  for (const line of lines) {
    const p = document.createElement("p");
    p.className = "result-panel__detail";
    p.textContent = line;
    panel.append(p);
  }
  root.dataset.scans = String(Number(root.dataset.scans || 0) + 1);
}

function timeText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  try {
    return d.toLocaleTimeString("en-GB", { ...opts, timeZone: bundle && bundle.timezone, timeZoneName: "short" });
  } catch (e) {
    return d.toLocaleTimeString("en-GB", opts);
  }
}

/* ---- the panels around the result ------------------------------------------------------- */

function renderCounts() {
  const counts = new Map();
  for (const a of admitted.values()) counts.set(a.gate, (counts.get(a.gate) || 0) + 1);
  if (lastGateCount) counts.set(lastGateCount.gate, Math.max(lastGateCount.count, counts.get(lastGateCount.gate) || 0));
  const list = $(".js-counts");
  list.replaceChildren();
  let total = 0;
  for (const [name, n] of [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    total += n;
    const li = document.createElement("li");
    li.className = "gate-counts__item" + (name === gate() ? " gate-counts__item--mine" : "");
    li.dataset.gate = name;
    const label = document.createElement("span");
    label.textContent = name + (name === gate() ? " (this gate)" : "");
    const value = document.createElement("strong");
    value.className = "js-gate-count";
    value.textContent = String(n);
    li.append(label, value);
    list.append(li);
  }
  $(".js-total").textContent = total ? `${total} admitted in all.` : "Nobody admitted yet.";
}

function renderPending() {
  const el = $(".js-pending");
  el.dataset.count = String(pending.length);
  $(".js-pending-text").textContent = pending.length === 0 ? "No scans waiting to sync"
    : pending.length === 1 ? "1 scan waiting to sync" : `${pending.length} scans waiting to sync`;
}

const SAID = { ALREADY_USED: "already used", REVOKED: "revoked", INVALID: "invalid" };

function renderConflicts() {
  const box = $(".js-conflicts-box");
  const list = $(".js-conflicts");
  box.hidden = conflicts.length === 0;
  list.replaceChildren();
  for (const c of conflicts) {
    const li = document.createElement("li");
    li.className = "conflict";
    const who = [c.ticketId ? (c.seat ? `Seat ${c.seat}` : "General admission") : "Unknown ticket", c.holder]
      .filter(Boolean).join(" · ");
    const where = (a) => `${a.gate} at ${timeText(a.at)}${a.device ? ` (${a.device})` : ""}`;
    const parts = [];
    if (c.admitted) parts.push(`admitted at ${where(c.admitted)}`);
    for (const a of c.alsoAdmitted || []) {
      parts.push(`let in offline at ${where(a)}, which the server says was ${SAID[a.outcome] || a.outcome}`);
    }
    li.textContent = `${who}: ${parts.join("; ")}`;
    list.append(li);
  }
}

function renderFailed() {
  const box = $(".js-failed-box");
  const list = $(".js-failed");
  box.hidden = failed.length === 0;
  list.replaceChildren();
  for (const f of failed) {
    const li = document.createElement("li");
    li.className = "failed-scan";
    const code = f.code.length > 24 ? f.code.slice(0, 24) + "…" : f.code;
    li.textContent = `${code} at ${f.gate}, ${timeText(f.scannedAt)} (${f.offlineOutcome} here): ${f.reason}`;
    list.append(li);
  }
}

/* ---- the keyboard wedge and the focus --------------------------------------------------- */

$(".js-scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = codeInput.value;
  codeInput.value = "";
  submit(value);
  codeInput.focus();
});

// A wedge scanner types wherever the focus is: keys typed outside a field go to the code.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) return;
  if (target instanceof HTMLElement && target.closest("input, textarea, select, button, a")) return;
  codeInput.focus();
});

/* ---- the camera (jsQR over video frames) -------------------------------------------------- */

const cameraButton = $(".js-camera");
const cameraBox = $(".js-camera-box");
const video = $(".js-video");
let stream = null;
let lastSeen = { code: "", at: 0 };

cameraButton.addEventListener("click", () => (stream ? stopCamera() : startCamera()));

async function startCamera() {
  const text = $(".js-camera-text");
  cameraBox.hidden = false;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    text.textContent = "The camera needs a secure page (https or localhost). Use the barcode scanner.";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (e) {
    text.textContent = "No camera, or it wasn't allowed. Use the barcode scanner.";
    return;
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  cameraButton.setAttribute("aria-pressed", "true");
  cameraButton.textContent = "Stop camera";
  text.textContent = "Hold the ticket's QR code in front of the camera.";
  root.dataset.camera = "on";
  decodeFrames();
}

function stopCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  video.srcObject = null;
  cameraBox.hidden = true;
  cameraButton.setAttribute("aria-pressed", "false");
  cameraButton.textContent = "Use camera";
  root.dataset.camera = "off";
  codeInput.focus();
}

const canvas = document.createElement("canvas");
const context = canvas.getContext("2d", { willReadFrequently: true });

function decodeFrames() {
  if (!stream) return;
  if (video.readyState >= 2 && video.videoWidth && window.jsQR) {
    // At most 640 px wide: enough for a phone-sized QR code, and cheap to scan each frame.
    const scale = Math.min(1, 640 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    const now = Date.now();
    // The camera sees the same code frame after frame: once per few seconds is one scan.
    if (found && found.data && (found.data !== lastSeen.code || now - lastSeen.at > CAMERA_REPEAT_MS)) {
      lastSeen = { code: found.data, at: now };
      submit(found.data);
    }
  }
  setTimeout(decodeFrames, 120);
}

/* ---- sign-out: the offline list goes with the session ---------------------------------- */

// base.html's sign-out form: on this page only, the stores are emptied before it is sent.
for (const form of document.querySelectorAll('form[action="/logout"]')) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    store.clear().finally(() => form.submit());  // submit() fires no second submit event
  }, { once: true });
}

/* ---- start -------------------------------------------------------------------------------- */

window.addEventListener("online", () => { sync().then(refreshBundle); });
window.addEventListener("offline", () => setOnline(false));
setInterval(() => { if (pending.length) sync(); }, RETRY_EVERY_MS);
setInterval(() => { if (!pending.length) refreshBundle(); }, BUNDLE_EVERY_MS);

(async () => {
  setOnline(navigator.onLine);
  [bundle, pending, local, conflicts, failed] = await Promise.all([
    store.get(KEY.bundle), store.get(KEY.pending), store.get(KEY.local), store.get(KEY.conflicts),
    store.get(KEY.failed),
  ]);
  // Another concert's bundle (or a damaged one) never checks this one's codes.
  if (!validBundle(bundle)) bundle = null;
  pending = Array.isArray(pending) ? pending : [];
  local = local || {};
  conflicts = Array.isArray(conflicts) ? conflicts : [];
  failed = Array.isArray(failed) ? failed : [];
  rebuild();
  renderPending();
  renderFailed();
  renderConflicts();
  renderCounts();
  showBundleState();
  root.dataset.ready = "1";
  codeInput.focus();
  await sync();
  await refreshBundle();
})();
