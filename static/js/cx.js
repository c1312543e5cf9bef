/* cxdesk UI helpers: small, framework-free. htmx does the page updates. */
(function () {
  "use strict";
  // Buttons and forms with data-confirm ask before submitting (destructive actions).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);

  // Elements with data-live-url open a WebSocket and, on each event, fire "cx:live" on themselves,
  // so htmx (hx-trigger="cx:live") re-fetches the part of the page that changed.
  function connect(el) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + el.getAttribute("data-live-url"));
    socket.onopen = function () { el.setAttribute("data-live-state", "open"); };
    socket.onmessage = function (message) {
      var detail = {};
      try { detail = JSON.parse(message.data); } catch (e) { return; }
      el.dispatchEvent(new CustomEvent("cx:live", { detail: detail, bubbles: false }));
    };
    socket.onclose = function () {
      el.setAttribute("data-live-state", "closed");
      if (document.body.contains(el)) { setTimeout(function () { connect(el); }, 2000); }
    };
  }
  // The server answers invalid input with a 4xx and the form re-rendered with its errors. htmx does not swap
  // error responses by default, so forms and search boxes inside [data-swap-errors] opt in to showing them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (status >= 400 && status < 500 && source && source.closest && source.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-url]").forEach(connect);
  });
  // Buttons with data-insert-text put that text at the cursor of the field named by data-insert-into
  // (the knowledge base's article-link picker in the ticket composer).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert-text][data-insert-into]");
    if (!button) { return; }
    var field = document.querySelector(button.getAttribute("data-insert-into"));
    if (!field) { return; }
    var text = button.getAttribute("data-insert-text");
    var start = field.selectionStart || 0;
    var end = field.selectionEnd || 0;
    var before = field.value.slice(0, start);
    if (before && !/\s$/.test(before)) { text = " " + text; }
    field.value = before + text + field.value.slice(end);
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });
})();
