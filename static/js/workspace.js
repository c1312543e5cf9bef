/* cxdesk agent workspace: keyboard shortcuts, bulk selection, collision detection (who is viewing and typing),
   canned replies and draft protection. Framework-free; htmx does the page updates. */
(function () {
  "use strict";

  var TYPING_SEND_EVERY = 2000;   // ms between "typing" messages sent to the server
  var TYPING_SHOWN_FOR = 5000;    // ms a "… is typing" hint stays after the last typing message
  var PING_EVERY = 25000;         // ms between presence pings (lets others drop viewers that vanished)

  function isTyping(event) {
    var el = event.target;
    if (!el || !el.closest) { return false; }
    return !!el.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }

  // --- keyboard shortcuts ------------------------------------------------------------------------------

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-ticket-row]")); }

  function focusedRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("[data-ticket-row]") : null;
  }

  function focusRow(row) {
    rows().forEach(function (r) { r.classList.remove("is-focused"); });
    if (!row) { return; }
    row.setAttribute("tabindex", "-1");
    row.classList.add("is-focused");
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function moveFocus(step) {
    var list = rows();
    if (!list.length) { return; }
    var index = list.indexOf(focusedRow());
    if (index === -1) { index = step > 0 ? -1 : list.length; }
    focusRow(list[Math.max(0, Math.min(list.length - 1, index + step))]);
  }

  function openHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && !dialog.open) { dialog.showModal(); }
  }

  function composerFocus(visibility) {
    var form = document.getElementById("composer-form");
    if (!form) { return; }
    var radio = form.querySelector("input[name='visibility'][value='" + visibility + "']");
    if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    var body = form.querySelector("[data-composer='body']");
    if (body) { body.focus(); }
  }

  function submitForm(id) {
    var form = document.getElementById(id);
    if (form) { form.requestSubmit(); }
  }

  function solve() {
    var composer = document.getElementById("composer-form");
    var body = composer && composer.querySelector("[data-composer='body']");
    var select = composer && composer.querySelector("select[name='submit_as']");
    var solved = composer && composer.getAttribute("data-solved-status");
    if (body && body.value.trim() && select && solved) {
      // A drafted reply goes out with the solved status, as "Submit as Solved" would.
      if (!window.confirm("Send the reply and mark the ticket as solved?")) { return; }
      select.value = solved;
      composer.requestSubmit();
      return;
    }
    submitForm("solve-form");  // that form asks for confirmation itself (data-confirm)
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event)) { return; }
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open) { return; }
    var key = event.key;
    if (key === "?") { event.preventDefault(); openHelp(); return; }
    if (key === "j" || key === "k") {
      if (!rows().length) { return; }
      event.preventDefault();
      moveFocus(key === "j" ? 1 : -1);
      return;
    }
    if (key === "Enter" || key === "o") {
      var row = focusedRow();
      if (row && (key === "o" || document.activeElement === row)) {
        event.preventDefault();
        window.location.href = row.getAttribute("data-href");
      }
      return;
    }
    if (!document.getElementById("composer-form") && !document.getElementById("properties-form")) { return; }
    if (key === "r") { event.preventDefault(); composerFocus("public"); }
    else if (key === "n") { event.preventDefault(); composerFocus("internal"); }
    else if (key === "a") { event.preventDefault(); submitForm("assign-to-me-form"); }
    else if (key === "s") { event.preventDefault(); solve(); }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-shortcuts-help]");
    if (button) { openHelp(); }
    var cell = event.target.closest && event.target.closest("[data-ticket-row]");
    if (cell && !event.target.closest("a, button, input, label")) { focusRow(cell); }
  });

  // --- inbox: selection survives live refreshes ----------------------------------------------------------

  var keptSelection = null;
  var keptFocusId = null;

  function updateSelectedCount() {
    var counter = document.getElementById("selected-count");
    if (!counter) { return; }
    var n = document.querySelectorAll("input[name='ticket_ids']:checked").length;
    counter.textContent = n ? "(" + n + " selected)" : "";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-all") {
      document.querySelectorAll("input[name='ticket_ids']").forEach(function (box) { box.checked = target.checked; });
    }
    if (target.id === "select-all" || target.name === "ticket_ids") { updateSelectedCount(); }
    if (target.name === "visibility") {
      var composer = document.getElementById("composer");
      if (composer) { composer.classList.toggle("composer-internal", target.value === "internal"); }
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "ticket-rows") {
      keptSelection = Array.prototype.map.call(
        document.querySelectorAll("input[name='ticket_ids']:checked"), function (box) { return box.value; });
      var row = focusedRow();
      keptFocusId = row ? row.getAttribute("data-ticket-id") : null;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "ticket-rows") {
      (keptSelection || []).forEach(function (value) {
        var box = document.querySelector("input[name='ticket_ids'][value='" + value + "']");
        if (box) { box.checked = true; }
      });
      if (keptFocusId) { focusRow(document.querySelector("[data-ticket-row][data-ticket-id='" + keptFocusId + "']")); }
      keptSelection = null;
      keptFocusId = null;
      updateSelectedCount();
    }
  });

  // --- drafts: a live refresh never replaces a form the agent is editing ----------------------------------

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-keep-draft]");
    if (form) { form.setAttribute("data-dirty", "1"); }
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-keep-draft]");
    if (form) { form.setAttribute("data-dirty", "1"); }
  });

  function holdsDraft(elt) {
    return !!(elt && elt.querySelector && elt.querySelector("form[data-keep-draft][data-dirty]"));
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail.requestConfig || {};
    if ((config.verb || "").toLowerCase() === "get" && holdsDraft(event.detail.elt)) { event.preventDefault(); }
  });

  // A refresh that was already on its way when the agent started editing is dropped too.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig || {};
    if ((config.verb || "").toLowerCase() === "get" && holdsDraft(event.detail.target)) {
      event.detail.shouldSwap = false;
    }
  });

  // --- confirmations pushed by the server (HX-Trigger: {"cx:flash": "..."}) -------------------------------

  var flashTimer = null;
  document.body.addEventListener("cx:flash", function (event) {
    var box = document.getElementById("ticket-flash");
    var text = event.detail && (event.detail.value || event.detail.message);
    if (!box || !text) { return; }
    box.textContent = text;
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(function () { box.hidden = true; }, 4000);
  });

  // --- canned replies: insert the rendered text where the cursor is ---------------------------------------

  document.addEventListener("submit", function (event) {
    var picker = event.target;
    if (!picker.matches || !picker.matches("form.canned-picker")) { return; }
    var body = document.querySelector("#composer-form [data-composer='body']");
    var select = picker.querySelector("select[name='canned']");
    if (!body || !select || !window.fetch) { return; }  // without JavaScript the page reloads pre-filled
    event.preventDefault();
    fetch(picker.getAttribute("data-canned-base") + encodeURIComponent(select.value) + "/",
          { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("canned reply " + response.status); }
        return response.text();
      })
      .then(function (text) {
        var start = body.selectionStart || 0;
        var end = body.selectionEnd || 0;
        body.value = body.value.slice(0, start) + text + body.value.slice(end);
        body.selectionStart = body.selectionEnd = start + text.length;
        body.dispatchEvent(new Event("input", { bubbles: true }));
        body.focus();
      })
      .catch(function () { picker.submit(); });
  });

  // --- collision detection: who else is on this ticket, who is typing -------------------------------------

  function names(list) {
    if (list.length <= 1) { return list.join(""); }
    return list.slice(0, -1).join(", ") + " and " + list[list.length - 1];
  }

  function presence(el) {
    var viewersBox = document.getElementById("presence-viewers");
    var typingBox = document.getElementById("presence-typing");
    var typists = {};  // name -> timer
    var socket = null;
    var lastTyping = 0;
    var pinger = null;

    function showTyping() {
      var list = Object.keys(typists);
      if (!typingBox) { return; }
      typingBox.hidden = list.length === 0;
      typingBox.textContent = list.length ? names(list) + (list.length > 1 ? " are typing…" : " is typing…") : "";
    }

    function handle(event) {
      if (event.type === "ticket.presence") {
        var list = (event.payload.viewers || []).map(function (v) { return v.name; });
        if (viewersBox) {
          viewersBox.hidden = list.length === 0;
          viewersBox.textContent = list.length ? "Also viewing: " + names(list) : "";
        }
        Object.keys(typists).forEach(function (name) {
          if (list.indexOf(name) === -1) { clearTimeout(typists[name]); delete typists[name]; }
        });
        showTyping();
      } else if (event.type === "ticket.typing") {
        var name = event.payload.name;
        clearTimeout(typists[name]);
        typists[name] = setTimeout(function () { delete typists[name]; showTyping(); }, TYPING_SHOWN_FOR);
        showTyping();
      } else if (event.type === "ticket.changed") {
        el.dispatchEvent(new CustomEvent("cx:live", { detail: event, bubbles: false }));
      }
    }

    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + el.getAttribute("data-ticket-socket"));
      socket.onopen = function () {
        el.setAttribute("data-live-state", "open");
        clearInterval(pinger);
        pinger = setInterval(function () {
          if (socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify({ type: "ping" })); }
        }, PING_EVERY);
      };
      socket.onmessage = function (message) {
        var event;
        try { event = JSON.parse(message.data); } catch (e) { return; }
        if (event && event.type) { handle(event); }
      };
      socket.onclose = function () {
        el.setAttribute("data-live-state", "closed");
        clearInterval(pinger);
        if (document.body.contains(el)) { setTimeout(connect, 2000); }
      };
    }

    document.addEventListener("input", function (event) {
      if (!event.target.matches || !event.target.matches("[data-composer='body']") || !event.isTrusted) { return; }
      var now = Date.now();
      if (now - lastTyping < TYPING_SEND_EVERY || !socket || socket.readyState !== WebSocket.OPEN) { return; }
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing" }));
    });

    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.querySelector("[data-ticket-socket]");
    if (el) { presence(el); }
  });
})();
