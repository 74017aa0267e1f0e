/* TicketBook seat picking on the concert page (templates/_seating.html): choose seats on the
   server-drawn map with the mouse, touch or keyboard, pan and zoom it, book the selection,
   and keep every seat's state live. Progressive enhancement: without this file the map shows
   which seats are free and "Best available" books. Needs app.js (window.TicketBook: money,
   the booking forms, the live stream's events) and seatmap.js (window.TicketBookSeatMap). */
(function () {
  "use strict";

  const root = document.querySelector(".js-seating");
  const SeatMap = window.TicketBookSeatMap;
  const TicketBook = window.TicketBook;
  if (!root || !SeatMap || !TicketBook || !window.fetch || root.dataset.offSale === "1") return;

  const money = TicketBook.money;
  const MAX = Number(root.dataset.max) || 10;
  const COUNT = Number(root.dataset.seatCount);
  const STATES_URL = root.dataset.statesUrl;
  const STORE_KEY = "tb-seats:" + root.dataset.concertId;
  // Seat states are read at most this often, and this often when the live stream is open
  // and no seat is held (held seats turn sold or free without a count changing).
  const MIN_INTERVAL_MS = 1000;
  const QUIET_INTERVAL_MS = 15000;
  const ZOOM_STEP = 1.6;
  const MAX_ZOOM = 12;
  const DRAG_PX = 5;
  const NAV_KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"];

  const zones = JSON.parse(root.dataset.zones);
  const zoneByIndex = new Map(zones.map(function (z) { return [z.index, z]; }));
  const tierIds = new Set(zones.map(function (z) { return z.tierId; }));
  const currency = zones[0].currency;

  const svg = root.querySelector("svg.seat-map:not(.seat-map--overview)");
  const frame = root.querySelector(".js-map-frame");
  const panel = root.querySelector(".js-selection");
  const list = root.querySelector(".js-selection-list");
  const empty = root.querySelector(".js-selection-empty");
  const warning = root.querySelector(".js-selection-warning");
  const notice = root.querySelector(".js-selection-notice");
  const totalOutput = root.querySelector(".js-selection-total");
  const seatForm = root.querySelector(".js-seat-form");
  const bookButton = root.querySelector(".js-seat-book");
  const announcer = root.querySelector(".js-seat-announce");

  function announce(text) {
    // Emptied first, so the same words said twice are announced twice.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  /* ---- seats on the map -------------------------------------------------------------- */

  function seatOf(code) {
    return svg ? svg.querySelector('.seat[data-code="' + CSS.escape(code) + '"]') : null;
  }

  function stateOf(seat) {
    for (let s = 0; s < SeatMap.STATE_NAMES.length; s++) {
      if (seat.classList.contains("state-" + SeatMap.STATE_NAMES[s])) return s;
    }
    return -1;
  }

  function zoneIndexOf(seat) {
    const match = /\bzone-(\d+)\b/.exec(seat.getAttribute("class"));
    return match ? Number(match[1]) : -1;
  }

  /* "Stalls Centre, row F, seat 12": the code's row and seat, its section group's name. */
  function nameOf(seat) {
    const parts = seat.getAttribute("data-code").split(":");
    const group = seat.closest(".section");
    const section = group ? (group.getAttribute("aria-label") || "").replace(/^Section /, "") : parts[0];
    return section + ", row " + parts[1] + ", seat " + parts[2];
  }

  /* ---- the selection ------------------------------------------------------------------ */

  // code -> {code, ordinal, zone, name}. Kept for the tab's session, so it survives a reload
  // and moving from one section's map to another's in a big venue.
  const selection = new Map();

  function save() {
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(Array.from(selection.values())));
    } catch (err) {
      /* storage may be off: the selection then lasts as long as the page */
    }
  }

  function restore() {
    let saved = [];
    try {
      saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "[]");
    } catch (err) {
      saved = [];
    }
    saved.forEach(function (entry) {
      if (!entry || !zoneByIndex.has(entry.zone) || !(entry.ordinal >= 0 && entry.ordinal < COUNT)) return;
      const seat = seatOf(entry.code);
      if (seat && stateOf(seat) !== 0) return;
      if (selection.size >= MAX) return;
      selection.set(entry.code, entry);
      if (seat) seat.setAttribute("aria-checked", "true");
    });
  }

  function entries() {
    return Array.from(selection.values()).sort(function (a, b) { return a.ordinal - b.ordinal; });
  }

  function mixedZones() {
    return new Set(entries().map(function (e) { return e.zone; })).size > 1;
  }

  function totalCents() {
    return entries().reduce(function (sum, e) { return sum + zoneByIndex.get(e.zone).priceCents; }, 0);
  }

  function seatsWord(n) { return n + (n === 1 ? " seat" : " seats"); }

  function summary() {
    const n = selection.size;
    if (!n) return "No seats selected.";
    let text = seatsWord(n) + " selected, total " + money(totalCents(), currency) + ".";
    if (mixedZones()) text += " " + warning.textContent;
    return text;
  }

  function render() {
    const chosen = entries();
    list.textContent = "";
    chosen.forEach(function (entry) {
      const zone = zoneByIndex.get(entry.zone);
      const item = document.createElement("li");
      item.className = "selection-list__item";
      const swatch = document.createElement("span");
      swatch.className = "seat-legend__swatch zone-" + entry.zone;
      swatch.setAttribute("aria-hidden", "true");
      const name = document.createElement("span");
      name.className = "selection-list__name";
      name.textContent = entry.name;
      const price = document.createElement("span");
      price.className = "selection-list__price";
      price.textContent = zone.name + " · " + money(zone.priceCents, zone.currency);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "selection-list__remove";
      remove.dataset.code = entry.code;
      remove.setAttribute("aria-label", "Remove " + entry.name);
      remove.textContent = "\u00d7";
      item.append(swatch, name, price, remove);
      list.appendChild(item);
    });
    empty.hidden = chosen.length > 0;
    const mixed = mixedZones();
    warning.hidden = !mixed;
    totalOutput.textContent = money(totalCents(), currency);

    // The form books the selection: its zone's tier, one field per seat.
    seatForm.querySelectorAll("input[name=seat]").forEach(function (input) { input.remove(); });
    chosen.forEach(function (entry) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "seat";
      input.value = entry.code;
      seatForm.appendChild(input);
    });
    seatForm.elements.namedItem("tier_id").value =
      chosen.length && !mixed ? zoneByIndex.get(chosen[0].zone).tierId : "";
    bookButton.dataset.label = chosen.length ? "Book " + seatsWord(chosen.length) : "Book seats";
    if (seatForm.dataset.busy !== "1") {
      bookButton.textContent = bookButton.dataset.label;
      if (chosen.length && !mixed) bookButton.removeAttribute("aria-disabled");
      else bookButton.setAttribute("aria-disabled", "true");
    }
  }

  function changed(what) {
    showNotice("");
    render();
    save();
    announce(what + summary());
  }

  function toggle(seat) {
    const code = seat.getAttribute("data-code");
    const name = nameOf(seat);
    if (selection.has(code)) {
      selection.delete(code);
      seat.setAttribute("aria-checked", "false");
      changed(name + " removed. ");
      return;
    }
    const state = stateOf(seat);
    if (state !== 0) {
      announce(name + " is " + SeatMap.STATE_WORDS[state] + ". Choose a free seat.");
      return;
    }
    if (selection.size >= MAX) {
      announce("You can choose up to " + MAX + " seats per booking.");
      return;
    }
    selection.set(code, {
      code: code, ordinal: Number(seat.getAttribute("data-ordinal")), zone: zoneIndexOf(seat), name: name
    });
    seat.setAttribute("aria-checked", "true");
    changed(name + " selected. ");
  }

  function clearSelection() {
    selection.forEach(function (entry) {
      const seat = seatOf(entry.code);
      if (seat) seat.setAttribute("aria-checked", "false");
    });
    selection.clear();
    render();
    save();
  }

  list.addEventListener("click", function (event) {
    const button = event.target.closest(".selection-list__remove");
    if (!button) return;
    const entry = selection.get(button.dataset.code);
    if (!entry) return;
    // The focus goes to the next seat's button (or the previous one), not to the page.
    const item = button.closest("li");
    const beside = item.nextElementSibling || item.previousElementSibling;
    const code = beside && beside.querySelector(".selection-list__remove").dataset.code;
    selection.delete(entry.code);
    const seat = seatOf(entry.code);
    if (seat) seat.setAttribute("aria-checked", "false");
    changed(entry.name + " removed. ");
    const next = code && list.querySelector('[data-code="' + CSS.escape(code) + '"]');
    if (next) next.focus();
    else { empty.setAttribute("tabindex", "-1"); empty.focus(); }
  });

  seatForm.addEventListener("submit", function (event) {
    let problem = null;
    if (!selection.size) problem = "Choose at least one free seat on the map first.";
    else if (mixedZones()) problem = warning.textContent;
    if (!problem) return;
    // Before app.js (which listens on the document) sends it.
    event.preventDefault();
    event.stopPropagation();
    showNotice(problem);
    announce(problem);
  });

  /* ---- keyboard: one tab stop for the whole map, arrow keys between seats ----------------- */

  let seats = [];
  const placeOf = new Map(); // seat -> {row, index, x, y}
  const rows = []; // {key, section, seats, y}
  let current = null; // the seat in the tab order
  let radius = 5;

  function indexSeats() {
    seats = Array.from(svg.querySelectorAll(".seat[data-ordinal]"));
    let row = null;
    seats.forEach(function (seat) {
      const parts = seat.getAttribute("data-code").split(":");
      const key = parts[0] + ":" + parts[1];
      if (!row || row.key !== key) {
        row = { key: key, section: parts[0], seats: [], y: 0 };
        rows.push(row);
      }
      placeOf.set(seat, {
        row: row, index: row.seats.length, x: seat.cx.baseVal.value, y: seat.cy.baseVal.value
      });
      row.seats.push(seat);
    });
    rows.forEach(function (r) {
      r.y = r.seats.reduce(function (sum, s) { return sum + placeOf.get(s).y; }, 0) / r.seats.length;
    });
    if (seats.length) radius = seats[0].r.baseVal.value;
    current = seats.find(function (s) { return s.getAttribute("aria-checked") === "true"; })
      || seats.find(function (s) { return stateOf(s) === 0; }) || seats[0] || null;
    seats.forEach(function (s) { s.setAttribute("tabindex", s === current ? "0" : "-1"); });
  }

  function setCurrent(seat) {
    if (current && current !== seat) current.setAttribute("tabindex", "-1");
    current = seat;
    seat.setAttribute("tabindex", "0");
  }

  /* New states make free seats tabbable again (seatmap.js); only one seat may be. */
  function keepOneTabStop() {
    svg.querySelectorAll('.seat[tabindex="0"]').forEach(function (seat) {
      if (seat !== current) seat.setAttribute("tabindex", "-1");
    });
    if (current) current.setAttribute("tabindex", "0");
  }

  function closestIn(candidates, seat) {
    const at = placeOf.get(seat);
    let best = null;
    let bestDistance = Infinity;
    candidates.forEach(function (other) {
      const p = placeOf.get(other);
      const d = (p.x - at.x) * (p.x - at.x) + (p.y - at.y) * (p.y - at.y);
      if (d < bestDistance) { bestDistance = d; best = other; }
    });
    return best;
  }

  /* Past the end of a row or section: the seat of another row furthest in that direction's
     line, nearest ahead (another section across an aisle, the balcony below the stalls). */
  function ahead(seat, dx, dy) {
    const at = placeOf.get(seat);
    let best = null;
    let bestScore = Infinity;
    seats.forEach(function (other) {
      const p = placeOf.get(other);
      if (p.row === at.row) return;
      const forward = (p.x - at.x) * dx + (p.y - at.y) * dy;
      if (forward <= radius) return;
      const score = forward + 3 * Math.abs(dx ? p.y - at.y : p.x - at.x);
      if (score < bestScore) { bestScore = score; best = other; }
    });
    return best;
  }

  function neighbour(seat, key) {
    const at = placeOf.get(seat);
    const row = at.row;
    if (key === "Home") return row.seats[0];
    if (key === "End") return row.seats[row.seats.length - 1];
    if (key === "ArrowLeft" || key === "ArrowRight") {
      const step = key === "ArrowRight" ? 1 : -1;
      return row.seats[at.index + step] || ahead(seat, step, 0);
    }
    // Up and down: the nearest seat of the section's next row on that side of the map.
    const down = key === "ArrowDown";
    let next = null;
    rows.forEach(function (r) {
      if (r.section !== row.section || r === row) return;
      const dy = r.y - row.y;
      if (down ? dy <= 0 : dy >= 0) return;
      if (!next || Math.abs(dy) < Math.abs(next.y - row.y)) next = r;
    });
    return next ? closestIn(next.seats, seat) : ahead(seat, 0, down ? 1 : -1);
  }

  function focusSeat(seat) {
    setCurrent(seat);
    reveal(seat);
    seat.focus();
  }

  /* ---- pan and zoom: the SVG's viewBox ----------------------------------------------------- */

  let base = null; // the whole map: [x, y, width, height]
  let view = null;

  function setView(x, y, width) {
    const w = Math.min(base[2], Math.max(base[2] / MAX_ZOOM, width));
    const h = (w * base[3]) / base[2];
    view = [
      Math.min(base[0] + base[2] - w, Math.max(base[0], x)),
      Math.min(base[1] + base[3] - h, Math.max(base[1], y)),
      w,
      h
    ];
    svg.setAttribute("viewBox", view.map(function (v) { return Math.round(v * 100) / 100; }).join(" "));
    frame.classList.toggle("is-zoomed", w < base[2] * 0.999);
  }

  /* Zooms by `factor` keeping the map point `at` ([x, y]; default the middle) where it is. */
  function zoomBy(factor, at) {
    const cx = at ? at[0] : view[0] + view[2] / 2;
    const cy = at ? at[1] : view[1] + view[3] / 2;
    const w = Math.min(base[2], Math.max(base[2] / MAX_ZOOM, view[2] / factor));
    const k = w / view[2];
    setView(cx - (cx - view[0]) * k, cy - (cy - view[1]) * k, w);
  }

  function toMap(clientX, clientY) {
    const point = new DOMPoint(clientX, clientY).matrixTransform(svg.getScreenCTM().inverse());
    return [point.x, point.y];
  }

  /* Keeps a seat the keyboard moved to in view. */
  function reveal(seat) {
    const p = placeOf.get(seat);
    const margin = radius * 3;
    if (p.x - margin >= view[0] && p.x + margin <= view[0] + view[2]
        && p.y - margin >= view[1] && p.y + margin <= view[1] + view[3]) return;
    setView(p.x - view[2] / 2, p.y - view[3] / 2, view[2]);
  }

  const pointers = new Map();
  let downAt = null;
  let dragged = false;

  function wirePanZoom() {
    base = svg.getAttribute("viewBox").split(/[\s,]+/).map(Number);
    view = base.slice();
    root.querySelector(".js-map-tools").hidden = false;
    root.querySelectorAll(".js-zoom").forEach(function (button) {
      button.addEventListener("click", function () {
        const how = button.dataset.zoom;
        if (how === "reset") setView(base[0], base[1], base[2]);
        else zoomBy(how === "in" ? ZOOM_STEP : 1 / ZOOM_STEP);
      });
    });

    svg.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (pointers.size === 1) {
        downAt = { x: event.clientX, y: event.clientY };
        dragged = false;
      }
    });
    svg.addEventListener("pointermove", function (event) {
      const last = pointers.get(event.pointerId);
      if (!last) return;
      if (pointers.size === 1) {
        if (!dragged && Math.hypot(event.clientX - downAt.x, event.clientY - downAt.y) < DRAG_PX) return;
        if (!dragged) {
          dragged = true;
          svg.setPointerCapture(event.pointerId);
        }
        const scale = 1 / svg.getScreenCTM().a; // map units per screen pixel
        setView(view[0] - (event.clientX - last.x) * scale, view[1] - (event.clientY - last.y) * scale, view[2]);
      } else if (pointers.size === 2) {
        // Pinch: zoom by how much the fingers spread, about the point between them.
        dragged = true;
        const other = Array.from(pointers.entries()).find(function (e) { return e[0] !== event.pointerId; })[1];
        const before = Math.hypot(last.x - other.x, last.y - other.y);
        const after = Math.hypot(event.clientX - other.x, event.clientY - other.y);
        if (before > 0 && after > 0) {
          zoomBy(after / before, toMap((event.clientX + other.x) / 2, (event.clientY + other.y) / 2));
        }
      }
      last.x = event.clientX;
      last.y = event.clientY;
    });
    ["pointerup", "pointercancel"].forEach(function (type) {
      svg.addEventListener(type, function (event) { pointers.delete(event.pointerId); });
    });
    // The wheel scrolls the page; with Ctrl (or a trackpad's pinch, which Chrome sends so)
    // it zooms the map.
    svg.addEventListener("wheel", function (event) {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      zoomBy(Math.exp(-event.deltaY * 0.002), toMap(event.clientX, event.clientY));
    }, { passive: false });
  }

  function wireSeats() {
    indexSeats();
    const help = root.querySelector(".js-map-help");
    if (help) svg.setAttribute("aria-describedby", help.id);

    svg.addEventListener("click", function (event) {
      if (dragged) {
        dragged = false;
        return;
      }
      const seat = event.target.closest(".seat");
      if (!seat) return;
      setCurrent(seat);
      toggle(seat);
    });
    svg.addEventListener("focusin", function (event) {
      const seat = event.target.closest(".seat");
      if (seat) setCurrent(seat);
    });
    svg.addEventListener("keydown", function (event) {
      const seat = event.target.closest(".seat");
      if (!seat || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        toggle(seat);
      } else if (event.key === "+" || event.key === "=") {
        event.preventDefault();
        zoomBy(ZOOM_STEP, [placeOf.get(seat).x, placeOf.get(seat).y]);
      } else if (event.key === "-") {
        event.preventDefault();
        zoomBy(1 / ZOOM_STEP, [placeOf.get(seat).x, placeOf.get(seat).y]);
      } else if (NAV_KEYS.indexOf(event.key) >= 0) {
        event.preventDefault();
        const next = neighbour(seat, event.key);
        if (next) focusSeat(next);
      }
    });
  }

  /* ---- live seat states ------------------------------------------------------------------- */

  let reading = false;
  let readAgain = false;
  let lastRead = Date.now(); // the page came with the states of a moment ago
  let timer = 0;
  let live = false;
  let anyHeld = false;
  let onScreen = true;
  let stopped = false;
  let mode = "map";
  // Seats this page has just booked (ordinal -> until when): sold on the map at once, and
  // read again each second until the server's answer agrees. That answer may be a moment
  // old (seating/service.py shares one read per concert and process), and one without held
  // seats would otherwise wait the quiet interval before the next read.
  const SOLD = SeatMap.STATE_NAMES.indexOf("sold");
  const BOOKED_WAIT_MS = 10000;
  const justBooked = new Map();

  function worthReading() {
    return !stopped && mode === "map" && onScreen && document.visibilityState !== "hidden";
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { refresh(false); }, ms);
  }

  /* Reads the states now (`urgent`: even if they were read less than a second ago), or as
     soon as the interval allows; one request at a time. */
  function refresh(urgent) {
    if (reading) {
      readAgain = true;
      return;
    }
    if (!worthReading()) return; // looked at again when the map is seen
    const wait = lastRead + MIN_INTERVAL_MS - Date.now();
    if (wait > 0 && !urgent) {
      schedule(wait);
      return;
    }
    reading = true;
    lastRead = Date.now();
    fetch(STATES_URL, { credentials: "same-origin", cache: "no-cache" })
      .then(function (response) {
        if (!response.ok) return null;
        if (response.headers.get("X-Layout-Version") !== root.dataset.layoutVersion) {
          planChanged();
          return null;
        }
        return response.arrayBuffer();
      })
      .then(function (buffer) { if (buffer) apply(buffer); })
      .catch(function () { /* offline for a moment: the next read catches up */ })
      .then(function () {
        reading = false;
        if (readAgain) {
          readAgain = false;
          refresh(false);
        } else if (worthReading()) {
          schedule(live && !anyHeld ? QUIET_INTERVAL_MS : MIN_INTERVAL_MS);
        }
      });
  }

  function planChanged() {
    stopped = true;
    showNotice("The seating plan has changed. Reload the page to see the new one.");
  }

  function apply(buffer) {
    let states;
    try {
      states = SeatMap.decodeSeatStates(buffer, COUNT);
    } catch (err) {
      planChanged();
      return;
    }
    const now = Date.now();
    justBooked.forEach(function (until, ordinal) {
      if (states[ordinal] === SOLD || until < now) justBooked.delete(ordinal);
      else states[ordinal] = SOLD;
    });
    anyHeld = states.indexOf(1) >= 0 || justBooked.size > 0;
    if (svg) {
      SeatMap.applySeatStates(svg, states);
      keepOneTabStop();
    }
    // While this page's own booking is on its way its seats are held by it, not lost.
    if (seatForm.dataset.busy === "1") return;
    const gone = entries().filter(function (entry) { return states[entry.ordinal] !== 0; });
    if (!gone.length) return;
    gone.forEach(function (entry) {
      selection.delete(entry.code);
      const seat = seatOf(entry.code);
      if (seat) seat.setAttribute("aria-checked", "false");
    });
    const names = gone.map(function (e) { return e.name; }).join("; ");
    const text = gone.length === 1
      ? names + " was just taken by another fan, so it is no longer in your selection."
      : names + " were just taken by other fans, so they are no longer in your selection.";
    render();
    save();
    showNotice(text);
    announce(text + " " + summary());
  }

  document.addEventListener("tb:availability", function (event) {
    if (event.detail && tierIds.has(event.detail.tierId)) refresh(false);
  });
  document.addEventListener("tb:live", function (event) {
    live = Boolean(event.detail && event.detail.open);
    if (live) refresh(false);
  });
  document.addEventListener("visibilitychange", function () { refresh(false); });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (seen) {
      onScreen = seen[seen.length - 1].isIntersecting;
      refresh(false);
    }).observe(root);
  }

  root.addEventListener("tb:booked", function (event) {
    const answer = event.detail || {};
    if (event.target === panel && answer.outcome === "confirmed") {
      const until = Date.now() + BOOKED_WAIT_MS;
      entries().forEach(function (entry) {
        justBooked.set(entry.ordinal, until);
        const seat = seatOf(entry.code);
        if (seat) SeatMap.setSeatState(seat, SOLD);
      });
      if (svg) keepOneTabStop();
      clearSelection();
    } else {
      render(); // app.js put the button's label back: show the selection's again
    }
    refresh(true);
  });

  /* ---- ways to choose: on the map, or best available ---------------------------------- */

  const modes = root.querySelector(".js-seat-modes");
  const mapPart = root.querySelector(".js-mode-map");
  const bestPart = root.querySelector(".js-mode-best");

  function setMode(next) {
    mode = next;
    modes.querySelectorAll("[data-mode]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.mode === next));
    });
    mapPart.hidden = next !== "map";
    bestPart.hidden = next !== "best";
    root.dataset.mode = next;
    refresh(false);
  }

  modes.addEventListener("click", function (event) {
    const button = event.target.closest("[data-mode]");
    if (button) setMode(button.dataset.mode);
  });

  const bestForm = root.querySelector(".js-best-form");
  function syncBest() {
    const zone = bestForm.querySelector(".js-best-zone").selectedOptions[0];
    const quantity = Number(bestForm.querySelector(".js-best-quantity").value) || 1;
    if (!zone) return;
    bestForm.querySelector(".js-best-total").textContent =
      money(Number(zone.dataset.priceCents) * quantity, zone.dataset.currency);
    // Only the sections with seats in the zone can be chosen.
    const section = bestForm.querySelector(".js-best-section");
    Array.from(section.options).forEach(function (option) {
      if (option.value) option.disabled = option.dataset.zones.split(" ").indexOf(zone.dataset.zone) < 0;
    });
    if (section.selectedOptions[0] && section.selectedOptions[0].disabled) section.value = "";
  }
  bestForm.addEventListener("change", syncBest);
  syncBest();

  /* ---- start -------------------------------------------------------------------------- */

  restore();
  if (svg) {
    wireSeats();
    wirePanZoom();
  }
  panel.hidden = false;
  modes.hidden = false;
  render();
  // Small screens start with "best available"; the map is one press away.
  const small = window.matchMedia("(max-width: 600px)").matches;
  setMode(small && !root.dataset.section && !selection.size ? "best" : "map");
  if (selection.size) refresh(true);
  else schedule(MIN_INTERVAL_MS);
})();
