/* cxdesk in-app surveys: loaded by the chat widget (cx/chat/static/chat/widget.js) only when the visitor has
 * in-app surveys to see. Evaluates the targeting rules (the same as cx/surveys/targeting.py; the server checks
 * them again) on the page, on single-page-app navigation and on cxdesk('track', ...), waits for the delay and
 * scroll, asks the server to show a survey (it creates the invitation) and draws the survey card in the
 * widget's shadow root; answers and dismisses go to the public survey endpoints with the invitation's token.
 * Plain JavaScript, no dependencies. See docs/surveys.md, "In-app on your website".
 */
(function () {
  "use strict";
  // The same rules as cx/surveys/targeting.py (the server evaluates them again before showing).
  function wildcard(pattern, text) {
    var pieces = pattern.split("*");
    if (pieces.length === 1) { return pattern === text; }
    if (text.indexOf(pieces[0]) !== 0) { return false; }
    var at = pieces[0].length;
    for (var i = 1; i < pieces.length - 1; i++) {
      var found = text.indexOf(pieces[i], at);
      if (found < 0) { return false; }
      at = found + pieces[i].length;
    }
    var last = pieces[pieces.length - 1];
    return text.length - at >= last.length && text.slice(text.length - last.length) === last;
  }
  function noSlash(text) { return text.length > 1 && text.charAt(text.length - 1) === "/" ? text.slice(0, -1) : text; }
  function ruleMatches(rule, url) {
    var value = rule.value;
    if (rule.match === "contains") { return url.indexOf(value) !== -1; }
    var subject = url.split("#")[0];
    if (value.charAt(0) === "/") {
      var parts = new URL(url);
      subject = value.indexOf("?") !== -1 && parts.search ? parts.pathname + parts.search : parts.pathname;
    }
    if (rule.match === "exact") { return noSlash(subject) === noSlash(value); }
    return wildcard(value, subject) || wildcard(value, noSlash(subject));
  }
  function pageMatches(rules, url) {
    var includes = rules.filter(function (r) { return r.action === "include"; });
    if (rules.some(function (r) { return r.action === "exclude" && ruleMatches(r, url); })) { return false; }
    return !includes.length || includes.some(function (r) { return ruleMatches(r, url); });
  }
  function asNumber(v) {
    if (typeof v === "number") { return isFinite(v) ? v : null; }
    if (typeof v === "string" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim()) && isFinite(Number(v))) { return Number(v); }
    return null;
  }
  function equal(a, b) {
    var x = asNumber(a), y = asNumber(b);
    return x !== null && y !== null ? x === y : String(a) === String(b);
  }
  function holds(f, props) {
    var present = Object.prototype.hasOwnProperty.call(props, f.property) && props[f.property] !== null && props[f.property] !== undefined;
    if (f.operator === "exists") { return present; }
    if (!present) { return f.operator === "not_equals"; }
    var v = props[f.property];
    if (f.operator === "equals") { return equal(v, f.value); }
    if (f.operator === "not_equals") { return !equal(v, f.value); }
    if (f.operator === "contains") { return String(v).toLowerCase().indexOf(String(f.value).toLowerCase()) !== -1; }
    var x = asNumber(v), y = asNumber(f.value);
    if (x === null || y === null) { return false; }
    return f.operator === "greater_than" ? x > y : x < y;
  }
  function eventMatches(rules, name, props) {
    return rules.some(function (r) { return r.event === name && r.filters.every(function (f) { return holds(f, props || {}); }); });
  }

  window.__cxdeskInApp = function (ctx) {
    var root = ctx.root, host = ctx.host, el = ctx.el, BASE = ctx.base, KEY = ctx.key;
    var CSS = ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
      ".survey{position:fixed;bottom:88px;width:360px;max-width:calc(100vw - 24px);background:#fff;color:#1b1f24;" +
      "border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);z-index:2147483001;font-size:14px;padding:14px;border-top:4px solid var(--c)}" +
      ".survey.bottom_right{right:20px}.survey.bottom_left{left:20px}.survey.center{left:50%;top:50%;bottom:auto;transform:translate(-50%,-50%)}" +
      ".shade{position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:2147483000}" +
      ".survey .head{display:flex;align-items:flex-start;gap:8px}.survey h2{font-size:13px;margin:0 0 8px;flex:1;color:#57606a}" +
      ".survey .x{background:none;border:0;font-size:22px;line-height:1;cursor:pointer;color:#57606a;min-width:32px;min-height:32px}" +
      ".survey fieldset{border:0;margin:0;padding:0}.survey legend{font-weight:600;margin-bottom:8px;font-size:15px}" +
      ".survey .scores{display:flex;gap:4px}.survey .scores button{flex:1;min-width:0;min-height:40px;border:1px solid #57606a;" +
      "border-radius:6px;background:#fff;color:#1b1f24;font:inherit;cursor:pointer;padding:0}" +
      ".survey .scores button:hover{background:var(--c);color:#fff}.survey .ends{display:flex;justify-content:space-between;font-size:12px;color:#57606a;margin:4px 0}" +
      ".survey label{display:block;font-weight:600;margin-bottom:6px;color:#1b1f24;font-size:14px}.survey label.choice{font-weight:400;margin:4px 0}" +
      ".survey .choice input{width:auto}.survey .actions{display:flex;gap:10px;align-items:center;margin-top:8px}" +
      ".survey button:focus-visible,.survey input:focus-visible,.survey textarea:focus-visible{outline:3px solid #0969da;outline-offset:1px}" +
      "@media (max-width:480px){.survey,.survey.bottom_left,.survey.bottom_right{left:0;right:0;bottom:0;width:100vw;max-width:100vw;border-radius:12px 12px 0 0}" +
      ".survey.center{bottom:auto;width:calc(100vw - 16px)}.survey .scores.wide{flex-wrap:wrap}.survey .scores.wide button{flex:0 0 calc(16.66% - 4px)}}";
    root.appendChild(el("style", { text: CSS }));
    var SURVEYS_API = BASE + "/api/v1/public/in-app/" + encodeURIComponent(KEY) + "/surveys";
    var state = { get token() { return ctx.token(); } };
    var inapp = { list: [], loaded: false, timers: [], card: null, closed: {}, returnFocus: null };
    var announcer = el("p", { "class": "sr", role: "status" });
    root.appendChild(announcer);

    function postJSON(url, data) {
      return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) })
        .then(function (r) { return r.json().then(function (json) { return { ok: r.ok, status: r.status, data: json }; }); });
    }
    function timeZone() { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; } }

    function update(list) {
      inapp.list = list || [];
      inapp.loaded = true;
      inappPage();
    }
    function clearTimers() { inapp.timers.forEach(function (t) { clearTimeout(t); clearInterval(t); }); inapp.timers = []; }
    function inappPage() {
      clearTimers();
      if (inapp.card) { return; }
      var url = window.location.href;
      var match = inapp.list.filter(function (s) { return !inapp.closed[s.id] && !s.event_rules.length && pageMatches(s.page_rules, url); })[0];
      if (match) { inappSchedule(match, null); }
    }
    function inappTrack(name, props) {
      if (inapp.card) { return; }
      var url = window.location.href;
      var match = inapp.list.filter(function (s) {
        return !inapp.closed[s.id] && s.event_rules.length && pageMatches(s.page_rules, url) && eventMatches(s.event_rules, name, props);
      })[0];
      if (match) { clearTimers(); inappSchedule(match, { name: name, properties: props || {} }); }
    }
    function scrolled() {
      var doc = document.documentElement, room = doc.scrollHeight - window.innerHeight;
      return room <= 0 ? 100 : Math.round(100 * window.scrollY / room);
    }
    function inappSchedule(survey, event) {
      var url = window.location.href;
      inapp.timers.push(setTimeout(function () {
        if (!survey.scroll_percent || scrolled() >= survey.scroll_percent) { inappShow(survey, event, url); return; }
        var watch = setInterval(function () {
          if (scrolled() >= survey.scroll_percent) { clearInterval(watch); inappShow(survey, event, url); }
        }, 250);
        inapp.timers.push(watch);
      }, (survey.delay_seconds || 0) * 1000));
    }
    function inappShow(survey, event, url) {
      if (inapp.card || url !== window.location.href) { return; }
      postJSON(SURVEYS_API + "/" + survey.id + "/show", { visitor_token: state.token, url: url, event: event, time_zone: timeZone() })
        .then(function (result) {
          if (!result.ok || !result.data.show) { inapp.closed[survey.id] = true; return; }
          drawCard(result.data);
        }, function () { /* try again on the next page */ });
    }

    function drawCard(shown) {
      var payload = shown.survey, words = payload.strings, info = payload.survey, position = shown.placement.position;
      var modal = position === "center";
      inapp.returnFocus = document.activeElement;
      var heading = el("h2", { id: "cx-survey-title", text: info.brand_name || info.name });
      var close = el("button", { type: "button", "class": "x", "aria-label": "Close survey", text: "×" });
      var content = el("div", { "class": "content" });
      var status = el("p", { "class": "error", role: "alert" });
      var card = el("section", { "class": "survey " + position, role: "dialog", "aria-modal": modal ? "true" : "false",
                                 "aria-labelledby": "cx-survey-title", "data-survey": String(info.id) },
        [el("div", { "class": "head" }, [heading, close]), content, status]);
      card.style.setProperty("--c", shown.placement.brand_color);
      var shade = modal ? el("div", { "class": "shade" }) : null;
      if (shade) { root.appendChild(shade); }
      root.appendChild(card);
      inapp.card = card;
      var engaged = modal;  // once the visitor works in a corner card, the focus follows its steps
      card.addEventListener("focusin", function () { engaged = true; });
      host.style.display = "";
      announcer.textContent = "Survey: " + (info.brand_name || info.name) + ". Press Escape to close it.";

      function finish() {
        var hadFocus = card.contains(root.activeElement);
        if (shade) { shade.remove(); }
        card.remove(); inapp.card = null; inapp.closed[shown.placement.id] = true;
        if (hadFocus && inapp.returnFocus && inapp.returnFocus.focus) { try { inapp.returnFocus.focus(); } catch (e) { /* gone */ } }
      }
      function thanks() {
        content.innerHTML = "";
        content.appendChild(el("p", { "class": "note", role: "status", text: info.thank_you_text || words.thanks }));
        close.setAttribute("aria-label", "Close");
        if (engaged) { close.focus(); }
        setTimeout(function () { if (card.isConnected) { finish(); } }, 8000);
      }
      function dismiss() {
        if (payload.complete) { finish(); return; }
        postJSON(BASE + shown.path + "/dismiss", {}).then(finish, finish);
      }
      close.addEventListener("click", dismiss);
      card.addEventListener("keydown", function (e) {
        if (e.key === "Escape") { e.preventDefault(); dismiss(); return; }
        if (modal && e.key === "Tab") {  // keep the focus inside a centred (modal) card
          var items = card.querySelectorAll("button:not([disabled]), input, textarea");
          var first = items[0], last = items[items.length - 1];
          if (e.shiftKey && root.activeElement === first) { e.preventDefault(); last.focus(); }
          else if (!e.shiftKey && root.activeElement === last) { e.preventDefault(); first.focus(); }
        }
      });

      function submit(answers, complete, button) {
        if (button) { button.disabled = true; }
        status.textContent = "";
        postJSON(BASE + shown.path + "/answers", { answers: answers, complete: complete }).then(function (result) {
          if (result.ok) { payload = result.data; if (payload.complete) { thanks(); } else { step(); } return; }
          if (result.status === 409) { payload.complete = true; thanks(); return; }
          var e = result.data && result.data.error;
          status.textContent = e ? e.message + (e.fields ? " " + Object.keys(e.fields).map(function (k) { return e.fields[k]; }).join(" ") : "") : words.error;
          if (button) { button.disabled = false; }
        }, function () { status.textContent = words.error; if (button) { button.disabled = false; } });
      }

      function step() {
        content.innerHTML = "";
        var remaining = payload.remaining_question_ids;
        var q = info.questions.filter(function (x) { return x.id === remaining[0]; })[0];
        if (!q) { submit([], true, null); return; }
        var last = remaining.length === 1 && !(q.scale && q.scale.length);
        var id = "cx-q-" + q.id;
        if (q.scale && q.scale.length) {
          var scores = el("div", { "class": "scores" + (q.scale.length > 7 ? " wide" : "") });
          q.scale.forEach(function (score) {
            var label = String(score) + (score === q.scale[0] && q.low_label ? " – " + q.low_label : "") +
              (score === q.scale[q.scale.length - 1] && q.high_label ? " – " + q.high_label : "");
            var b = el("button", { type: "button", "aria-label": label, text: String(score) });
            b.addEventListener("click", function () { submit([{ question_id: q.id, score: score }], false, b); });
            scores.appendChild(b);
          });
          content.appendChild(el("fieldset", {}, [el("legend", { text: q.text }), scores,
            el("div", { "class": "ends", "aria-hidden": "true" }, [el("span", { text: q.low_label || "" }), el("span", { text: q.high_label || "" })])]));
        } else {
          var input, box;
          if (q.kind === "text") {
            input = el("textarea", { id: id, maxlength: "2000", rows: "3" });
            box = el("div", {}, [el("label", { "for": id, text: q.text + (q.required ? "" : " (" + words.optional + ")") }), input]);
          } else {
            box = el("fieldset", {}, [el("legend", { text: q.text })].concat(q.options.map(function (option, i) {
              var choice = el("input", { type: q.kind === "multiple_choice" ? "checkbox" : "radio", name: id, value: option, id: id + "-" + i });
              return el("label", { "class": "choice", "for": id + "-" + i }, [choice, document.createTextNode(" " + option)]);
            })));
          }
          var sendButton = el("button", { "class": "btn", type: "button", text: words.submit });
          var skip = el("button", { "class": "link", type: "button", text: words.skip });
          sendButton.addEventListener("click", function () {
            var answer = { question_id: q.id };
            if (q.kind === "text") {
              if (!input.value.trim()) { answer.skipped = true; } else { answer.text = input.value.trim(); }
            } else {
              var chosen = Array.prototype.map.call(box.querySelectorAll("input:checked"), function (c) { return c.value; });
              if (!chosen.length) { status.textContent = words.error; return; }
              answer.choices = chosen;
            }
            submit([answer], last, sendButton);
          });
          skip.addEventListener("click", function () { submit([{ question_id: q.id, skipped: true }], last, skip); });
          content.appendChild(box);
          content.appendChild(el("div", { "class": "actions" }, q.required ? [sendButton] : [sendButton, skip]));
        }
        var focusable = content.querySelector("button, input, textarea");
        if (focusable && engaged) { focusable.focus(); }
      }
      if (payload.complete) { thanks(); } else { step(); }
      if (modal) { var firstControl = card.querySelector(".content button, .content input, .content textarea"); if (firstControl) { firstControl.focus(); } }
    }

    window.addEventListener("cxdesk:navigate", inappPage);
    window.addEventListener("popstate", inappPage);
    window.addEventListener("hashchange", inappPage);
    return { update: update, track: inappTrack };
  };
  window.__cxdeskInApp.rules = { pageMatches: pageMatches, eventMatches: eventMatches };  // for tests and tools
})();
