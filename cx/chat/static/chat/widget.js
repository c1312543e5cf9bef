/* cxdesk live chat widget. One tag on any page:
 *   <script src="https://desk.example.com/chat/widget.js" data-inbox="KEY" async></script>
 * Optional: data-write-key (journey tracking), data-user-id / data-user-email / data-user-name /
 * data-user-signature (a logged-in user, signed by the site's server). Plain JavaScript, no dependencies;
 * everything is drawn in a shadow root, so the host page's styles and ours never mix. See docs/chat.md.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-inbox]");
  if (!script || window.__cxdeskChat) { return; }
  window.__cxdeskChat = true;
  var KEY = script.getAttribute("data-inbox") || "";
  var WRITE_KEY = script.getAttribute("data-write-key") || "";
  var BASE = new URL(script.src, window.location.href).origin;
  var API = BASE + "/chat/widget/" + encodeURIComponent(KEY);
  var STORE = "cxdesk.chat." + KEY;
  var TRACK_QUEUE = "cxdesk.track.queue";
  var state = { token: load("token"), session: null, conv: null, socket: null, open: false, retry: 0,
                seen: {}, pending: {}, agentRead: 0, lastTyping: 0, typingTimer: null, proactive: null };

  function load(name) { try { return window.localStorage.getItem(STORE + "." + name) || ""; } catch (e) { return ""; } }
  function save(name, value) { try { window.localStorage.setItem(STORE + "." + name, value); } catch (e) { /* private mode */ } }
  function uid() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }
  function anonymousId() { var id = load("anon"); if (!id) { id = uid(); save("anon", id); } return id; }

  // --- Drawing ----------------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-cxdesk-chat", "");
  var root = host.attachShadow({ mode: "open" });
  var CSS = ":host{all:initial}*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;color:#fff;" +
    "background:var(--c);box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;font-size:24px;z-index:2147483000}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:360px;max-height:min(600px,calc(100vh - 110px));height:560px;" +
    "display:flex;flex-direction:column;background:#fff;color:#1b1f24;border-radius:12px;overflow:hidden;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.25);z-index:2147483000;font-size:14px}" +
    ".panel[hidden]{display:none}header{background:var(--c);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}" +
    "header h2{font-size:16px;margin:0;flex:1}header p{margin:2px 0 0;font-size:12px;opacity:.9}" +
    "header button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    ".body{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f8fa}" +
    ".msg{max-width:80%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;line-height:1.35}" +
    ".visitor{align-self:flex-end;background:var(--c);color:#fff}.agent{align-self:flex-start;background:#fff;border:1px solid #d8dee4}" +
    ".system{align-self:center;color:#57606a;font-size:12px}.who{display:block;font-size:11px;opacity:.75;margin-bottom:2px}" +
    ".meta{align-self:flex-end;font-size:11px;color:#57606a}.msg a{color:inherit}" +
    ".quick{display:flex;gap:6px;flex-wrap:wrap}.quick button{border:1px solid #0b5cad;background:#fff;color:#0b5cad;border-radius:14px;padding:4px 12px;cursor:pointer;font:inherit}" +
    ".typing{font-size:12px;color:#57606a;padding:0 12px 4px;min-height:16px;background:#f6f8fa}" +
    "form{display:flex;flex-direction:column;gap:8px}label{font-size:12px;color:#57606a;display:flex;flex-direction:column;gap:3px}" +
    "input,textarea,select{font:inherit;padding:7px 8px;border:1px solid #d0d7de;border-radius:6px;width:100%;color:#1b1f24;background:#fff}" +
    "textarea{resize:none}.send{display:flex;gap:6px;padding:8px;border-top:1px solid #d8dee4;background:#fff;align-items:flex-end}" +
    ".send textarea{flex:1;height:40px}.btn{background:var(--c);color:#fff;border:0;border-radius:6px;padding:8px 12px;cursor:pointer;font:inherit}" +
    ".link{background:none;border:0;color:#57606a;text-decoration:underline;cursor:pointer;font:inherit;font-size:12px}" +
    ".attach{background:none;border:1px solid #d0d7de;border-radius:6px;padding:7px 9px;cursor:pointer}" +
    ".error{color:#cf222e;font-size:12px}.note{color:#57606a;font-size:13px;margin:0}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    ".csat{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:10px;margin:8px 0 0}" +
    ".csat fieldset{border:0;margin:0;padding:0}.csat legend{font-weight:600;margin-bottom:6px}" +
    ".csat .scores{display:flex;gap:6px}.csat .scores button{flex:1;min-height:40px;border:1px solid #57606a;" +
    "border-radius:6px;background:#fff;color:#1b1f24;font:inherit;cursor:pointer}" +
    ".csat .scores button[aria-pressed=true]{background:var(--c);color:#fff;border-color:var(--c)}" +
    ".csat .ends{display:flex;justify-content:space-between;font-size:12px;color:#57606a;margin:4px 0 8px}" +
    ".csat label{display:block;font-size:13px;margin:6px 0 4px}.csat textarea{width:100%;min-height:56px;font:inherit}" +
    ".csat button:focus-visible,.csat textarea:focus-visible{outline:3px solid #0969da;outline-offset:1px}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100%;max-height:100%;border-radius:0}" +
    ".launch{right:14px;bottom:14px}}";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  var style = el("style", { text: CSS });
  var launcher = el("button", { "class": "launch", type: "button", "aria-label": "Open chat", "aria-expanded": "false", text: "💬" });
  var title = el("h2", { text: "Chat" });
  var subtitle = el("p", { text: "" });
  var closeButton = el("button", { type: "button", "aria-label": "Minimise chat", text: "×" });
  var body = el("div", { "class": "body", role: "log", "aria-live": "polite" });
  var typing = el("div", { "class": "typing", "aria-live": "polite" });
  var footer = el("div", {});
  var panel = el("section", { "class": "panel", role: "dialog", "aria-label": "Chat with us", hidden: "" },
    [el("header", {}, [el("div", { style: "flex:1" }, [title, subtitle]), closeButton]), body, typing, footer]);
  root.appendChild(style); root.appendChild(launcher); root.appendChild(panel);

  function setOpen(open) {
    state.open = open;
    if (open) { panel.removeAttribute("hidden"); } else { panel.setAttribute("hidden", ""); }
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    save("open", open ? "1" : "");
    if (open) { markRead(); var input = root.querySelector("textarea, input"); if (input) { input.focus(); } }
  }
  launcher.addEventListener("click", function () { setOpen(!state.open); });
  closeButton.addEventListener("click", function () { setOpen(false); });

  function field(spec) {
    var input;
    if (spec.type === "textarea") { input = el("textarea", { rows: "3" }); }
    else if (spec.type === "select") {
      input = el("select", {}, [el("option", { value: "", text: "—" })].concat((spec.options || []).map(function (o) {
        return el("option", { value: o, text: o });
      })));
    } else { input = el("input", { type: spec.type || "text" }); }
    input.name = spec.name;
    if (spec.required) { input.required = true; }
    return el("label", { text: spec.label + (spec.required ? " *" : "") }, [input]);
  }

  function errorsOf(form, data) {
    var box = form.querySelector(".error");
    var fields = (data && data.fields) || {};
    var parts = Object.keys(fields).map(function (k) { return k + ": " + fields[k]; });
    box.textContent = (data && data.message ? data.message : "Something went wrong.") + (parts.length ? " (" + parts.join("; ") + ")" : "");
  }

  function prefill(form) {
    var visitor = (state.session && state.session.visitor) || {};
    if (form.elements.name && visitor.name) { form.elements.name.value = visitor.name; }
    if (form.elements.email && visitor.email) { form.elements.email.value = visitor.email; }
  }

  function showOffline() {
    var inbox = state.session.inbox;
    subtitle.textContent = "We're away";
    body.innerHTML = ""; footer.innerHTML = "";
    var form = el("form", { novalidate: "" }, [
      el("p", { "class": "note", text: inbox.offline_message }),
      field({ name: "name", label: "Your name", type: "text", required: true }),
      field({ name: "email", label: "Email", type: "email", required: true }),
      field({ name: "message", label: "Message", type: "textarea", required: true }),
      el("p", { "class": "error", role: "alert" }),
      el("button", { "class": "btn", type: "submit", text: "Leave a message" })]);
    prefill(form);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      post("/offline", { visitor_token: state.token, name: form.elements.name.value, email: form.elements.email.value,
                         message: form.elements.message.value }).then(function (result) {
        if (!result.ok) { errorsOf(form, result.data.error); return; }
        body.innerHTML = "";
        body.appendChild(el("p", { "class": "note", text: "Thanks! We received your message and will answer by email at " + result.data.email + "." }));
      });
    });
    body.appendChild(form);
  }

  function showPreChat() {
    var inbox = state.session.inbox;
    subtitle.textContent = "We're online";
    body.innerHTML = ""; footer.innerHTML = "";
    if (state.proactive) { addMessage({ id: "p", author: "agent", author_name: state.proactive.author_name, body: state.proactive.body, attachments: [] }); }
    var specs = inbox.pre_chat_fields || [];
    var form = el("form", { novalidate: "" }, [el("p", { "class": "note", text: inbox.greeting })]
      .concat(specs.map(field))
      .concat([field({ name: "__body", label: "Message", type: "textarea", required: true }),
               el("p", { "class": "error", role: "alert" }), el("button", { "class": "btn", type: "submit", text: "Start chat" })]));
    prefill(form);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var fields = {};
      specs.forEach(function (spec) { fields[spec.name] = form.elements[spec.name].value; });
      state.startForm = form;
      send({ type: "start", fields: fields, body: form.elements.__body.value, client_id: uid() });
    });
    body.appendChild(form);
  }

  function fileLink(attachment) {
    var link = el("a", { href: BASE + attachment.url + "?token=" + encodeURIComponent(state.token), target: "_blank", rel: "noopener", text: "📎 " + attachment.name });
    return el("div", {}, [link]);
  }

  function addMessage(message) {
    if (message.id && state.seen[message.id]) { return; }
    if (message.id) { state.seen[message.id] = true; }
    var bubble;
    if (message.author === "visitor") {
      var pendingKey = Object.keys(state.pending).filter(function (k) { return state.pending[k].text === message.body; })[0];
      if (pendingKey) { bubble = state.pending[pendingKey].node; delete state.pending[pendingKey]; bubble.removeAttribute("data-pending"); }
    }
    if (!bubble) {
      bubble = el("div", { "class": "msg " + message.author });
      if (message.author === "agent" && message.author_name) { bubble.appendChild(el("span", { "class": "who", text: message.author_name })); }
      bubble.appendChild(document.createTextNode(message.body));
      (message.attachments || []).forEach(function (a) { bubble.appendChild(fileLink(a)); });
      body.appendChild(bubble);
    }
    if (message.id) { bubble.setAttribute("data-id", message.id); }
    bubble.setAttribute("data-author", message.author);
    var oldQuick = body.querySelector(".quick");
    if (oldQuick) { oldQuick.parentNode.removeChild(oldQuick); }
    if (message.quick_replies && message.quick_replies.length) {
      var quick = el("div", { "class": "quick", role: "group", "aria-label": "Quick replies" });
      message.quick_replies.forEach(function (label) {
        var button = el("button", { type: "button", text: label });
        button.addEventListener("click", function () {
          if (quick.parentNode) { quick.parentNode.removeChild(quick); }
          if (state.sendText) { state.sendText(label); }
        });
        quick.appendChild(button);
      });
      body.appendChild(quick);
    }
    showReceipt();
    body.scrollTop = body.scrollHeight;
    if (message.author === "agent") {
      typing.textContent = "";
      if (!state.open && message.id !== "p") { launcher.textContent = "💬•"; }
      markRead();
    }
  }

  function showReceipt() {
    var old = body.querySelector(".meta");
    if (old) { old.parentNode.removeChild(old); }
    var mine = body.querySelectorAll(".visitor[data-id]");
    var last = mine[mine.length - 1];
    if (last && state.agentRead >= Number(last.getAttribute("data-id"))) {
      last.insertAdjacentElement("afterend", el("div", { "class": "meta", text: "Seen" }));
    }
  }

  function markRead() {
    if (!state.open || document.hidden || !state.conv || state.conv.status === "ended") { return; }
    var agents = body.querySelectorAll(".agent[data-id]");
    var last = agents[agents.length - 1];
    var id = last ? Number(last.getAttribute("data-id")) : 0;
    if (id && id > (state.readSent || 0)) { state.readSent = id; send({ type: "read", message_id: id }); }
    launcher.textContent = "💬";
  }
  document.addEventListener("visibilitychange", markRead);

  function showChat(conv) {
    state.conv = conv; state.seen = {}; state.pending = {};
    state.agentRead = conv.agent_read_message_id || 0;
    body.innerHTML = ""; footer.innerHTML = "";
    showStatus();
    conv.messages.forEach(addMessage);
    if (conv.status === "ended") {
      var again = el("button", { "class": "btn", type: "button", text: "Start a new chat" });
      again.addEventListener("click", function () { state.conv = null; render(); });
      footer.appendChild(el("div", { "class": "send" }, [el("p", { "class": "note", style: "flex:1", text: "This chat has ended." }), again]));
      if (!state.survey) { try { state.survey = JSON.parse(load("survey") || "null"); } catch (e) { state.survey = null; } }
      if (state.survey && state.survey.conversation === conv.id) { drawSurvey(state.survey); }
      return;
    }
    var text = el("textarea", { "aria-label": "Message", placeholder: "Write a message…", maxlength: "5000" });
    var file = el("input", { type: "file", "class": "sr", "aria-label": "Attach a file" });
    var attach = el("button", { "class": "attach", type: "button", "aria-label": "Attach a file", text: "📎" });
    var sendButton = el("button", { "class": "btn", type: "button", text: "Send" });
    var end = el("button", { "class": "link", type: "button", text: "End chat" });
    var error = el("p", { "class": "error", role: "alert" });
    attach.addEventListener("click", function () { file.click(); });
    file.addEventListener("change", function () { if (file.files[0]) { upload(file.files[0], error); file.value = ""; } });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendText(); }
    });
    text.addEventListener("input", function () {
      var now = Date.now();
      if (now - state.lastTyping > 1500) { state.lastTyping = now; send({ type: "typing" }); }
    });
    sendButton.addEventListener("click", sendText);
    end.addEventListener("click", function () { send({ type: "end" }); });
    function sendText(preset) {
      var value = (typeof preset === "string" ? preset : text.value).trim();
      if (!value) { return; }
      var clientId = uid();
      var bubble = el("div", { "class": "msg visitor", "data-pending": "", text: value });
      body.appendChild(bubble); body.scrollTop = body.scrollHeight;
      state.pending[clientId] = { text: value, node: bubble };
      if (typeof preset !== "string") { text.value = ""; }
      error.textContent = "";
      if (!send({ type: "message", body: value, client_id: clientId })) { error.textContent = "Reconnecting… your message will need to be sent again."; }
    }
    state.sendText = sendText;
    footer.appendChild(el("div", {}, [error, el("div", { "class": "send" }, [attach, file, text, sendButton]),
      el("div", { style: "text-align:right;padding:0 8px 6px;background:#fff" }, [end])]));
  }

  function showStatus() {
    var conv = state.conv;
    if (!conv) { return; }
    subtitle.textContent = conv.status === "active" ? (conv.agent_name || "An agent") + " is here to help"
      : conv.status === "waiting" ? "Waiting for an agent…" : "Chat ended";
  }

  function render() {
    if (!state.session) { return; }
    if (state.conv && (state.conv.status !== "ended" || state.conv.messages.length)) { showChat(state.conv); return; }
    if (state.session.availability.open) { showPreChat(); } else { showOffline(); }
  }

  // --- Server -----------------------------------------------------------------------------------------
  function post(path, data) {
    return fetch(API + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) })
      .then(function (response) {
        return response.json().then(function (json) { return { ok: response.ok, status: response.status, data: json }; },
          function () { return { ok: false, status: response.status, data: { error: { message: "HTTP " + response.status } } }; });
      }, function () { return { ok: false, status: 0, data: { error: { message: "Cannot reach the chat service." } } }; });
  }

  function upload(file, errorBox) {
    var limit = state.session.inbox.max_upload_bytes;
    if (file.size > limit) { errorBox.textContent = file.name + " is larger than " + Math.round(limit / 1048576) + " MB."; return; }
    var form = new FormData();
    form.append("file", file);
    fetch(API + "/upload", { method: "POST", headers: { "X-Visitor-Token": state.token }, body: form })
      .then(function (response) { return response.json().then(function (json) { return { ok: response.ok, data: json }; }); })
      .then(function (result) {
        if (!result.ok) { errorBox.textContent = (result.data.error && result.data.error.message) || "Upload failed."; return; }
        errorBox.textContent = ""; addMessage(result.data.message);
      }, function () { errorBox.textContent = "Upload failed."; });
  }

  var outbox = [];  // frames that matter (start, message, end) wait for the socket to (re)open
  function send(frame) {
    if (!state.socket || state.socket.readyState !== 1) {
      if (frame.type === "start" || frame.type === "message" || frame.type === "end") { outbox.push(frame); return true; }
      return false;
    }
    state.socket.send(JSON.stringify(frame));
    return true;
  }

  // --- Inline survey at chat end (docs/chat.md): score buttons + optional comment, answered through the
  // public survey endpoints with the invitation's token. -------------------------------------------------
  function drawSurvey(survey) {
    var old = root.querySelector(".csat");
    if (old) { old.remove(); }
    var q = survey.question, comments = survey.comments || [], chosen = null;
    var box = el("section", { "class": "csat", "aria-label": "Rate this chat" });
    if (survey.done) {
      box.appendChild(el("p", { "class": "note", role: "status", text: survey.done }));
      body.appendChild(box); body.scrollTop = body.scrollHeight; return;
    }
    var scores = el("div", { "class": "scores" });
    var legend = el("legend", { text: q.text });
    var fieldset = el("fieldset", {}, [legend, scores,
      el("div", { "class": "ends", "aria-hidden": "true" }, [el("span", { text: q.low_label || "" }), el("span", { text: q.high_label || "" })])]);
    var text = el("textarea", { id: "cx-csat-comment", maxlength: "2000" });
    var textLabel = el("label", { "for": "cx-csat-comment" });
    var textWrap = el("div", {}, [textLabel, text]);
    var submit = el("button", { "class": "btn", type: "button", text: "Send rating" });
    var error = el("p", { "class": "error", role: "alert" });
    function currentComment() {
      // The first open-text question the chosen score makes visible (follow-up logic of the survey).
      for (var i = 0; i < comments.length; i++) {
        var rule = comments[i].show_if;
        if (!rule) { return comments[i]; }
        if (chosen !== null && chosen >= rule.min && chosen <= rule.max) { return comments[i]; }
      }
      return null;
    }
    function refresh() {
      var comment = currentComment();
      textWrap.hidden = !comment;
      if (comment) { textLabel.textContent = comment.text + " (optional)"; }
    }
    q.scale.forEach(function (score) {
      var label = String(score) + (score === q.scale[0] && q.low_label ? " – " + q.low_label : "") +
        (score === q.scale[q.scale.length - 1] && q.high_label ? " – " + q.high_label : "");
      var button = el("button", { type: "button", "aria-pressed": "false", "aria-label": label, text: String(score) });
      button.addEventListener("click", function () {
        chosen = score;
        scores.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
        refresh();
      });
      scores.appendChild(button);
    });
    submit.addEventListener("click", function () {
      if (chosen === null) { error.textContent = "Choose a score first."; return; }
      var answers = [{ question_id: q.id, score: chosen }];
      var comment = currentComment();
      if (comment && text.value.trim()) { answers.push({ question_id: comment.id, text: text.value.trim() }); }
      submit.disabled = true; error.textContent = "";
      fetch(BASE + survey.path + "/answers", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ answers: answers, complete: true }) })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; }); })
        .then(function (result) {
          if (result.ok || result.status === 409) {
            survey.done = result.ok ? (survey.thank_you || "Thank you for your feedback!") : "You have already rated this chat.";
            save("survey", JSON.stringify(survey));
            drawSurvey(survey); return;
          }
          var e = result.data && result.data.error;
          error.textContent = e ? e.message + (e.fields ? " " + Object.keys(e.fields).map(function (k) { return e.fields[k]; }).join(" ") : "") : "Could not send your rating.";
          submit.disabled = false;
        })
        .catch(function () { error.textContent = "Could not send your rating. Please try again."; submit.disabled = false; });
    });
    box.appendChild(fieldset);
    box.appendChild(textWrap);
    box.appendChild(el("div", { "class": "send" }, [submit]));
    box.appendChild(error);
    refresh();
    body.appendChild(box);
    body.scrollTop = body.scrollHeight;
  }

  function onFrame(frame) {
    if (frame.type === "survey") {
      state.survey = frame.survey;
      state.survey.conversation = state.conv ? state.conv.id : null;
      save("survey", JSON.stringify(state.survey));  // still offered after a reload of the page
      drawSurvey(state.survey);
      return;
    }
    if (frame.type === "hello") {
      // After a reconnect the server's history is the truth; a form the visitor is filling in is kept.
      var conv = frame.conversation;
      if (conv && (!state.conv || state.conv.id !== conv.id || state.conv.status !== conv.status ||
                   state.conv.messages.length !== conv.messages.length)) { state.conv = conv; render(); }
      while (outbox.length) { send(outbox.shift()); }
    } else if (frame.type === "status") {
      var fresh = frame.conversation;
      if (fresh.messages) {
        showChat(fresh);
        // Messages that arrived before this chat's first status frame (e.g. an instant bot answer).
        (state.early || []).forEach(function (m) {
          if (!fresh.messages.filter(function (x) { return x.id === m.id; }).length) { state.conv.messages.push(m); addMessage(m); }
        });
        state.early = [];
      }
      else if (state.conv && state.conv.id === fresh.id) {
        state.conv.status = fresh.status; state.conv.agent_name = fresh.agent_name;
        if (fresh.status === "ended") { showChat(state.conv); } else { showStatus(); }
      }
    } else if (frame.type === "message") {
      if (state.conv) { state.conv.messages.push(frame.message); addMessage(frame.message); }
      else { state.early = (state.early || []).concat([frame.message]); }
    } else if (frame.type === "typing") {
      typing.textContent = (frame.name || "Agent") + " is typing…";
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(function () { typing.textContent = ""; }, 5000);
    } else if (frame.type === "read") {
      state.agentRead = Math.max(state.agentRead, frame.message_id); showReceipt();
    } else if (frame.type === "proactive") {
      state.proactive = frame;
      if (!state.conv || state.conv.status === "ended") { state.conv = null; render(); }
      setOpen(true);
    } else if (frame.type === "error") {
      var box = state.startForm && state.startForm.isConnected ? state.startForm : null;
      if (box) { errorsOf(box, frame); } else {
        var line = root.querySelector(".error");
        if (line) { line.textContent = frame.message; }
      }
    }
  }

  function connect() {
    var url = BASE.replace(/^http/, "ws") + state.session.socket_path + "?token=" + encodeURIComponent(state.token);
    var socket = new WebSocket(url);
    state.socket = socket;
    socket.onopen = function () { state.retry = 0; host.setAttribute("data-state", "connected"); };
    socket.onmessage = function (event) { try { onFrame(JSON.parse(event.data)); } catch (e) { /* ignore */ } };
    socket.onclose = function (event) {
      host.setAttribute("data-state", "disconnected");
      if (event.code === 4401) { state.token = ""; save("token", ""); start(); return; }
      if (event.code === 4403 || event.code === 4404) { return; }
      state.retry = Math.min(state.retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, state.retry));
    };
  }

  setInterval(function () { send({ type: "ping" }); }, 25000);
  function pageChanged() { send({ type: "page", url: window.location.href, title: document.title }); }
  window.addEventListener("popstate", pageChanged);
  window.addEventListener("hashchange", pageChanged);

  function start(identity) {
    var data = { visitor_token: state.token, page_url: window.location.href, page_title: document.title,
                 referrer: document.referrer };
    if (identity) { data.identity = identity; }
    return post("/session", data).then(function (result) {
      if (!result.ok) { host.setAttribute("data-state", "error"); host.setAttribute("data-error", (result.data.error || {}).code || ""); return; }
      var first = !state.session;
      state.session = result.data; state.token = result.data.visitor_token; save("token", state.token);
      host.style.setProperty("--c", result.data.inbox.colour);
      panel.style.setProperty("--c", result.data.inbox.colour);
      launcher.style.setProperty("--c", result.data.inbox.colour);
      title.textContent = result.data.inbox.name;
      state.conv = result.data.conversation;
      render();
      if (first) {
        host.style.display = "";
        if (load("open")) { setOpen(true); }
        connect();
      } else if (state.socket) { state.socket.close(); }
      host.setAttribute("data-ready", "true");
      inappLoad();
    });
  }

  // --- In-app surveys (docs/surveys.md, "In-app on your website"): the widget asks which surveys this visitor
  // may see; only when there are some does it load the survey script (targeting, timing and the card). ----
  var inapp = { api: null, early: [] };
  function inappLoad() {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
    fetch(BASE + "/api/v1/public/in-app/" + encodeURIComponent(KEY) + "/surveys", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ visitor_token: state.token, time_zone: zone }) })
      .then(function (r) { return r.ok ? r.json() : { surveys: [] }; })
      .then(function (data) {
        var ready = function () { host.setAttribute("data-surveys", String(data.surveys.length)); };
        if (inapp.api) { inapp.api.update(data.surveys); ready(); return; }
        if (!data.surveys.length) { inapp.early = []; ready(); return; }
        var tag = document.createElement("script");
        tag.src = BASE + "/surveys/in-app.js"; tag.async = true;
        tag.onload = function () {
          inapp.api = window.__cxdeskInApp({ root: root, host: host, el: el, base: BASE, key: KEY, token: function () { return state.token; } });
          inapp.api.update(data.surveys);
          inapp.early.splice(0).forEach(function (e) { inapp.api.track(e[0], e[1]); });
          ready();
        };
        document.head.appendChild(tag);
      }, function () { /* no surveys this time */ });
  }
  function inappTrack(name, props) {
    if (inapp.api) { inapp.api.track(name, props); } else { inapp.early = inapp.early.concat([[name, props]]).slice(-20); }
  }
  // Single-page apps: history.pushState / replaceState fire no event, so they are wrapped.
  ["pushState", "replaceState"].forEach(function (name) {
    var original = window.history[name];
    window.history[name] = function () {
      var out = original.apply(this, arguments);
      setTimeout(function () { pageChanged(); window.dispatchEvent(new Event("cxdesk:navigate")); }, 0);
      return out;
    };
  });

  // --- cxdesk('track' | 'identify' | 'open' | 'close', ...) ------------------------------------------------
  function segment(message) {
    message.messageId = uid();
    message.timestamp = new Date().toISOString();
    message.anonymousId = anonymousId();
    if (load("userId")) { message.userId = load("userId"); }
    message.context = { page: { url: window.location.href, title: document.title, referrer: document.referrer },
                        library: { name: "cxdesk-chat", version: "1" } };
    var queue = [];
    try { queue = JSON.parse(window.localStorage.getItem(TRACK_QUEUE) || "[]"); } catch (e) { queue = []; }
    queue.push(message);
    queue = queue.slice(-500);
    try { window.localStorage.setItem(TRACK_QUEUE, JSON.stringify(queue)); } catch (e) { /* full */ }
    flushTracking();
  }

  function flushTracking() {
    if (!WRITE_KEY) { return; }  // without a write key the calls wait in localStorage
    var queue;
    try { queue = JSON.parse(window.localStorage.getItem(TRACK_QUEUE) || "[]"); } catch (e) { queue = []; }
    if (!queue.length) { return; }
    fetch(BASE + "/v1/batch", { method: "POST", headers: { "Content-Type": "application/json" },
                                body: JSON.stringify({ writeKey: WRITE_KEY, batch: queue }) })
      .then(function (response) {
        if (response.ok) {
          var sent = queue.map(function (m) { return m.messageId; });
          var rest = JSON.parse(window.localStorage.getItem(TRACK_QUEUE) || "[]").filter(function (m) { return sent.indexOf(m.messageId) === -1; });
          window.localStorage.setItem(TRACK_QUEUE, JSON.stringify(rest));
        }
      }, function () { /* kept for the next call */ });
  }

  function command(name, a, b, c) {
    if (name === "track") { segment({ type: "track", event: String(a), properties: b || {} }); inappTrack(String(a), b || {}); }
    else if (name === "identify") {
      var traits = b || {};
      var options = c || {};
      if (a) { save("userId", String(a)); }
      segment({ type: "identify", userId: a ? String(a) : undefined, traits: traits });
      if (options.signature) {
        start({ user_id: a ? String(a) : "", email: traits.email || "", name: traits.name || "", signature: options.signature });
      }
    } else if (name === "open") { setOpen(true); }
    else if (name === "close") { setOpen(false); }
  }

  var queued = (window.cxdesk && window.cxdesk.q) || [];
  window.cxdesk = function () { command.apply(null, arguments); };
  var identity = null;
  if (script.getAttribute("data-user-signature")) {
    identity = { user_id: script.getAttribute("data-user-id") || "", email: script.getAttribute("data-user-email") || "",
                 name: script.getAttribute("data-user-name") || "", signature: script.getAttribute("data-user-signature") };
  }
  function boot() {
    host.style.display = "none";
    document.body.appendChild(host);
    start(identity).then(function () { queued.forEach(function (args) { command.apply(null, args); }); });
  }
  if (document.body) { boot(); } else { document.addEventListener("DOMContentLoaded", boot); }
})();
