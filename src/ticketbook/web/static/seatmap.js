/* TicketBook seat map: decode the compact seat states and apply them to the server-drawn SVG.
   Plain ES2017, no dependencies. The page wiring (selection, keyboard, booking) is elsewhere;
   this file only exports window.TicketBookSeatMap. */
(function () {
  "use strict";

  /* Indexed by state value; must match seating/states.py (SeatState) and seating/svg.py. */
  const STATE_NAMES = ["free", "held", "sold", "blocked"];
  const STATE_WORDS = ["available", "held by another fan", "sold", "not for sale"];
  const STATE_CLASSES = STATE_NAMES.map(function (name) { return "state-" + name; });

  /* Two bits per seat in ordinal order, four seats per byte, the first seat in the two most
     significant bits; ceil(count / 4) bytes. Returns a Uint8Array of 0 free, 1 held, 2 sold,
     3 blocked. Accepts an ArrayBuffer or a typed array / DataView over one. */
  function decodeSeatStates(buffer, count) {
    const bytes = ArrayBuffer.isView(buffer)
      ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
      : new Uint8Array(buffer);
    const length = Math.ceil(count / 4);
    if (!(count >= 0) || bytes.length !== length) {
      throw new RangeError(count + " seats take " + length + " bytes, got " + bytes.length);
    }
    const states = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      states[i] = (bytes[i >> 2] >> (6 - 2 * (i & 3))) & 3;
    }
    return states;
  }

  function currentState(seat) {
    for (let s = 0; s < STATE_CLASSES.length; s++) {
      if (seat.classList.contains(STATE_CLASSES[s])) return s;
    }
    return -1;
  }

  /* The label is "Section …, row …, seat …, PRICE, STATE[, flags]": the state word is the last
     one of the known words (the flag words after it contain none of them). */
  function relabel(text, from, to) {
    if (from < 0) return text;
    const old = ", " + STATE_WORDS[from];
    const at = text.lastIndexOf(old);
    if (at < 0) return text;
    return text.slice(0, at) + ", " + STATE_WORDS[to] + text.slice(at + old.length);
  }

  /* Puts one seat in state `next` (0-3): its class, the state word of its aria-label and
     <title>, tabindex and aria-disabled. */
  function setSeatState(seat, next) {
    const previous = currentState(seat);
    if (previous === next) return;
    if (previous >= 0) seat.classList.remove(STATE_CLASSES[previous]);
    seat.classList.add(STATE_CLASSES[next]);
    const label = relabel(seat.getAttribute("aria-label") || "", previous, next);
    seat.setAttribute("aria-label", label);
    const title = seat.querySelector("title");
    if (title) title.textContent = label;
    if (next === 0) {
      seat.setAttribute("tabindex", "0");
      seat.removeAttribute("aria-disabled");
    } else {
      seat.setAttribute("tabindex", "-1");
      seat.setAttribute("aria-disabled", "true");
    }
  }

  /* Updates every seat ([data-ordinal]) under svgElement to states[ordinal] (setSeatState).
     Seats whose ordinal is past the end of states are left alone. Returns the data-code of
     each seat that is selected (aria-checked="true") and no longer free, for the page to deal
     with. */
  function applySeatStates(svgElement, states) {
    const lost = [];
    const seats = svgElement.querySelectorAll(".seat[data-ordinal]");
    for (let k = 0; k < seats.length; k++) {
      const seat = seats[k];
      const next = states[Number(seat.getAttribute("data-ordinal"))];
      if (next === undefined || next < 0 || next > 3) continue;
      setSeatState(seat, next);
      if (next !== 0 && seat.getAttribute("aria-checked") === "true") {
        lost.push(seat.getAttribute("data-code"));
      }
    }
    return lost;
  }

  window.TicketBookSeatMap = {
    STATE_NAMES: STATE_NAMES,
    STATE_WORDS: STATE_WORDS,
    decodeSeatStates: decodeSeatStates,
    applySeatStates: applySeatStates,
    setSeatState: setSeatState,
  };
})();
