/* The waiting room, live: follows the visitor's status (Server-Sent Events, web/queue_pages.py)
   and moves them to the shop when it's their turn. Without this file the page reloads itself
   (a <meta refresh> in <noscript>) and shows a "Go to the shop" link when it's their turn. */
(function () {
  "use strict";

  var WAITING = { waiting: true, waiting_for_draw: true };
  // How long "It's your turn" shows before the page moves on (the live region reads it out).
  var MOVE_AFTER_MS = 1500;

  var room = document.getElementById("queue");
  if (!room || !room.dataset.eventsUrl || !("EventSource" in window)) return;

  var stream = null;
  var moving = false;

  function find(selector) { return room.querySelector(selector); }

  function setText(selector, value) {
    var el = find(selector);
    if (el && value !== null && value !== undefined && el.textContent !== value) el.textContent = value;
  }

  function showDraw(s) {
    var draw = find(".js-draw");
    if (!draw || !s.seed || find(".js-seed")) return;
    draw.textContent = "";
    var intro = document.createElement("p");
    intro.textContent = "The draw's secret seed, revealed after the draw:";
    var holder = document.createElement("p");
    var code = document.createElement("code");
    code.className = "queue__code js-seed";
    code.textContent = s.seed;
    holder.appendChild(code);
    draw.appendChild(intro);
    draw.appendChild(holder);
    if (s.seedHash) {
      var fingerprint = document.createElement("p");
      fingerprint.className = "small";
      fingerprint.textContent = "Its fingerprint (SHA-256), published before the draw: ";
      var hash = document.createElement("code");
      hash.className = "queue__code";
      hash.textContent = s.seedHash;
      fingerprint.appendChild(hash);
      draw.appendChild(fingerprint);
    }
  }

  function admitted(s) {
    close();
    var facts = find(".js-facts");
    if (facts) facts.hidden = true;
    var note = find(".js-live-note");
    if (note) note.hidden = true;
    var panel = find(".js-admitted");
    if (panel) panel.hidden = false;
    if (s.admissionLasts) {
      setText(".js-admission-lasts", "Your turn lasts " + s.admissionLasts + ", until " +
        s.admissionUntilText + ". After that your place is used up: it is not given back.");
    }
    var link = find(".js-go");
    if (link) link.focus();
    moving = true;
    // The shop sets the admission cookie as it opens (the stream can't set one).
    window.setTimeout(function () { window.location.assign(s.shopUrl); }, MOVE_AFTER_MS);
  }

  function apply(s) {
    var before = room.dataset.state;
    room.dataset.state = s.state;
    setText(".js-headline", s.headline);
    if (s.admitted) {
      setText(".js-headline", s.headline + " Taking you to the shop\u2026");
      admitted(s);
      return;
    }
    if (!WAITING[s.state]) {
      // Something the live page doesn't draw (a place gone, the room closed): the server's page.
      close();
      if (before !== s.state) window.location.reload();
      return;
    }
    setText(".js-position-fact", s.positionText || "Drawn at the on-sale");
    setText(".js-ahead", s.aheadText !== null ? s.aheadText : "After the draw");
    setText(".js-wait-label", s.waitLabel);
    setText(".js-wait", s.estimatedWait || "After the draw");
    if (s.opensAtText) setText(".js-opens", s.opensAtText);
    showDraw(s);
  }

  function open() {
    if (stream || moving) return;
    stream = new EventSource(room.dataset.eventsUrl);
    stream.addEventListener("status", function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        return; /* a malformed event changes nothing */
      }
      apply(data);
    });
    stream.addEventListener("open", function () { room.dataset.live = "open"; });
    stream.addEventListener("error", function () {
      // EventSource reconnects by itself (the stream also ends when the server restarts),
      // except after an answer that isn't a stream (a 429: too many open for this visitor):
      // then the page reloads itself, like the no-JavaScript page does.
      if (!stream) return;
      if (stream.readyState === EventSource.CLOSED) {
        close();
        setTimeout(function () { window.location.reload(); }, 10000);
        return;
      }
      room.dataset.live = "reconnecting";
    });
  }

  function close() {
    if (stream) { stream.close(); stream = null; }
    room.dataset.live = "closed";
  }

  window.addEventListener("pageshow", open);
  window.addEventListener("pagehide", close);
  open();
})();
