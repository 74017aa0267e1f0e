/* TicketBook pages: progressive enhancement only. Every form also works without this file. */
(function () {
  "use strict";

  var SYMBOLS = { USD: "$", EUR: "\u20ac", GBP: "\u00a3", AUD: "A$", CAD: "C$", JPY: "\u00a5" };
  var SELLING_FAST_SHARE = 0.1;
  var MAX_PER_BOOKING = 10;
  var LABELS = { available: "Available", "selling-fast": "Selling fast", "sold-out": "Sold out" };

  /* Same format as the server (views.money): "$1,234.50", or "1,234.50 CHF". */
  function money(cents, currency) {
    var sign = cents < 0 ? "-" : "";
    cents = Math.abs(cents);
    var whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var amount = whole + "." + String(cents % 100).padStart(2, "0");
    var symbol = SYMBOLS[currency];
    return symbol ? sign + symbol + amount : sign + amount + " " + currency;
  }

  function availability(available, total) {
    if (available <= 0) return "sold-out";
    if (total > 0 && available < total * SELLING_FAST_SHARE) return "selling-fast";
    return "available";
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function setBadge(badge, state) {
    if (!badge) return;
    badge.className = "badge badge--" + state;
    badge.textContent = LABELS[state];
  }

  /* ---- total price follows the quantity ------------------------------------------ */

  function updateTotal(form) {
    if (!form) return;
    var select = form.querySelector(".js-quantity");
    var output = form.querySelector(".js-total");
    if (!select || !output) return;
    var quantity = Number(select.value) || 1;
    output.textContent = money(Number(form.dataset.priceCents) * quantity, form.dataset.currency);
  }

  function onQuantity(event) {
    if (event.target.matches && event.target.matches(".js-quantity")) updateTotal(event.target.form);
  }
  document.addEventListener("change", onQuantity);
  document.addEventListener("input", onQuantity);

  /* ---- live counts ----------------------------------------------------------------- */

  function applyCount(tierId, available) {
    var card = document.getElementById("tier-" + tierId);
    if (!card) return;
    var total = Number(card.dataset.total);
    card.dataset.available = String(available);
    var count = card.querySelector(".js-tier-count");
    if (count) count.textContent = String(available);
    var fill = card.querySelector(".js-stock-fill");
    if (fill) fill.style.setProperty("--left", total > 0 ? (available / total).toFixed(4) : "0");
    setBadge(card.querySelector(".js-tier-badge .badge"), availability(available, total));

    var form = card.querySelector("form.book-form");
    if (form) syncForm(form, available);
    updateConcertBadge();
  }

  function syncForm(form, available) {
    var select = form.querySelector(".js-quantity");
    var button = form.querySelector(".js-book-button");
    if (!select || !button || form.dataset.offSale === "1") return;
    var limit = Math.max(0, Math.min(MAX_PER_BOOKING, available));
    var chosen = Number(select.value) || 1;
    var options = Math.max(limit, 1);
    if (select.options.length !== options) {
      while (select.options.length > options) select.remove(select.options.length - 1);
      while (select.options.length < options) {
        var n = select.options.length + 1;
        select.add(new Option(String(n), String(n)));
      }
      select.value = String(Math.min(chosen, options));
    }
    var soldOut = limit === 0;
    select.disabled = soldOut;
    if (form.dataset.busy !== "1") {
      button.disabled = soldOut;
      button.textContent = soldOut ? "Sold out" : button.dataset.label;
    }
    updateTotal(form);
  }

  function updateConcertBadge() {
    var badge = document.querySelector(".js-concert-badge .badge");
    if (!badge) return;
    var available = 0;
    var total = 0;
    document.querySelectorAll(".tier-card[data-total]").forEach(function (card) {
      available += Number(card.dataset.available);
      total += Number(card.dataset.total);
    });
    setBadge(badge, availability(available, total));
  }

  var stream = null;
  function openStream() {
    var article = document.querySelector("[data-live-url]");
    if (!article || !("EventSource" in window) || stream) return;
    stream = new EventSource(article.dataset.liveUrl);
    stream.addEventListener("availability", function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        return; /* a malformed event changes nothing */
      }
      applyCount(data.tierId, data.availableQuantity);
      // The seat map (seatpicker.js) reloads its seats' states when its tiers change.
      document.dispatchEvent(new CustomEvent("tb:availability", { detail: data }));
    });
    stream.addEventListener("open", function () {
      article.dataset.live = "open";
      document.dispatchEvent(new CustomEvent("tb:live", { detail: { open: true } }));
    });
    stream.addEventListener("error", function () {
      // EventSource reconnects by itself; meanwhile nothing is live.
      article.dataset.live = "reconnecting";
      document.dispatchEvent(new CustomEvent("tb:live", { detail: { open: false } }));
    });
  }
  function closeStream() {
    if (stream) { stream.close(); stream = null; }
  }
  window.addEventListener("pageshow", openStream);
  window.addEventListener("pagehide", closeStream);
  openStream();

  /* ---- booking without a reload ---------------------------------------------------- */

  /* aria-disabled, not disabled: a disabled button would drop the keyboard focus. A press
     while busy is ignored (the form is marked busy), so a double click still sends once. */
  function setBusy(button, busy, label) {
    if (!button) return;
    if (busy) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
    button.classList.toggle("is-busy", busy);
    button.setAttribute("aria-busy", busy ? "true" : "false");
    button.textContent = label;
  }

  function messageHtml(title, text) {
    return '<div class="result result--error" tabindex="-1"><p class="result__title">' +
      escapeHtml(title) + "</p><p>" + escapeHtml(text) + "</p></div>";
  }

  function post(form) {
    return fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    });
  }

  /* A booking form lives in a tier card, or in another scope (.js-book-scope: the seat
     selection, best available) whose main form is marked data-primary. The answer goes in
     the scope's result slot, or replaces the result the form was in. */
  function submitBooking(form) {
    if (form.dataset.busy === "1") return;
    var card = form.closest(".tier-card");
    var scope = card || form.closest(".js-book-scope");
    var slot = form.closest(".js-result") || (scope && scope.querySelector(".js-result"));
    var button = form.querySelector(".js-book-button");
    var tierForm = card ? card.querySelector("form.book-form")
      : scope ? scope.querySelector("form[data-primary]") : null;
    form.dataset.busy = "1";
    setBusy(button, true, "Booking\u2026");

    var answered = {};
    post(form).then(function (answer) {
      var data = answer.data || {};
      answered = data;
      if (slot) slot.innerHTML = data.html || messageHtml("That didn't go through", data.message || "Please try again.");
      // A final answer used this form's key: the next press is a new booking. An answer
      // still in progress (or none at all, below) keeps it, so pressing again is safe.
      if (data.nextKey && data.outcome && data.outcome !== "in-progress" && tierForm) {
        tierForm.querySelector("input[name=idempotency_key]").value = data.nextKey;
      }
      if (data.tier) applyCount(data.tier.id, data.tier.availableQuantity);
    }).catch(function () {
      if (slot) slot.innerHTML = messageHtml("Connection problem",
        "We couldn't reach TicketBook. Press the button again: it won't book twice.");
    }).then(function () {
      form.dataset.busy = "0";
      if (document.body.contains(button)) {
        setBusy(button, false, button.dataset.label);
        if (card && tierForm === form) syncForm(form, Number(card.dataset.available));
      }
      var result = slot && slot.querySelector(".result");
      if (result && (!document.body.contains(button) || button.disabled)) result.focus();
      // Told to the scope (the seat map clears its selection once its seats are booked).
      (scope || document).dispatchEvent(new CustomEvent("tb:booked", { bubbles: true, detail: answered }));
    });
  }

  function submitCancel(form) {
    if (form.dataset.busy === "1") return;
    var row = form.closest(".booking-card");
    var button = form.querySelector(".js-cancel-button");
    form.dataset.busy = "1";
    setBusy(button, true, "Cancelling\u2026");
    post(form).then(function (answer) {
      var data = answer.data || {};
      if (data.ok && data.html) {
        var holder = document.createElement("div");
        holder.innerHTML = data.html.trim();
        var fresh = holder.firstElementChild;
        row.replaceWith(fresh);
        var message = fresh.querySelector(".js-row-message");
        message.innerHTML = "<p>" + escapeHtml(data.message) + "</p>";
        message.setAttribute("tabindex", "-1");
        message.focus();
        return;
      }
      row.querySelector(".js-row-message").innerHTML =
        '<p class="result result--error">' + escapeHtml(data.message || "That didn't work. Please try again.") + "</p>";
      form.dataset.busy = "0";
      setBusy(button, false, "Cancel booking");
    }).catch(function () {
      row.querySelector(".js-row-message").innerHTML =
        '<p class="result result--error">We couldn\u2019t reach TicketBook. Please try again.</p>';
      form.dataset.busy = "0";
      setBusy(button, false, "Cancel booking");
    });
  }

  window.TicketBook = { money: money };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!window.fetch || !window.URLSearchParams) return;
    if (form.matches(".js-book-form")) {
      event.preventDefault();
      submitBooking(form);
    } else if (form.matches(".js-cancel-form")) {
      event.preventDefault();
      submitCancel(form);
    }
  });
})();
