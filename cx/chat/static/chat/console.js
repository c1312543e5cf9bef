/* cxdesk chat console: live queue over /ws/chat/agents/, with a visual and (opt-in) sound alert for new chats. */
(function () {
  "use strict";
  var SOUND_KEY = "cxdesk.chat.sound";
  var baseTitle = document.title;
  var flashTimer = null;

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      [0, 0.22].forEach(function (offset) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.15, ctx.currentTime + offset);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + offset + 0.18);
        osc.connect(gain); gain.connect(ctx.destination);
        osc.start(ctx.currentTime + offset); osc.stop(ctx.currentTime + offset + 0.2);
      });
    } catch (e) { /* no audio available */ }
  }

  function soundOn() { return window.localStorage.getItem(SOUND_KEY) === "on"; }

  function showSoundState(button) {
    button.setAttribute("aria-pressed", soundOn() ? "true" : "false");
    button.textContent = "Sound alerts: " + (soundOn() ? "on" : "off");
  }

  function flashTitle(text) {
    clearInterval(flashTimer);
    var on = false;
    flashTimer = setInterval(function () {
      document.title = on ? baseTitle : text;
      on = !on;
    }, 1000);
  }

  function alertNewChat(payload) {
    var box = document.getElementById("chat-alert");
    if (box) {
      box.hidden = false;
      box.textContent = "New chat from " + payload.name + (payload.preview ? ": “" + payload.preview + "”" : "");
    }
    flashTitle("● New chat");
    if (soundOn()) { beep(); }
  }

  function connect(el) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + el.getAttribute("data-chat-socket"));
    socket.onopen = function () { el.setAttribute("data-live-state", "open"); };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (!event || !event.type) { return; }
      if (event.type === "chat.waiting") { alertNewChat(event.payload || {}); }
      document.body.dispatchEvent(new CustomEvent("cx:chat", { detail: event }));
    };
    socket.onclose = function () {
      el.setAttribute("data-live-state", "closed");
      setTimeout(function () { connect(el); }, 2000);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.querySelector("[data-chat-socket]");
    var button = document.querySelector("[data-chat-sound]");
    if (button) {
      showSoundState(button);
      button.addEventListener("click", function () {
        window.localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on");
        showSoundState(button);
        if (soundOn()) { beep(); }
      });
    }
    window.addEventListener("focus", function () { clearInterval(flashTimer); document.title = baseTitle; });
    if (el) { connect(el); }
  });
})();
