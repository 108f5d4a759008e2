// citybot console: the little that needs JavaScript. Everything works
// without it (every form posts and the server answers with the page); this
// adds keyboard shortcuts, refreshes the inbox (and the model page while
// a model is trained), applies the status toggles
// at once, saves the case page's parts without a reload to the top, and
// previews an answer as it is written. The server renders every piece of
// HTML put in the page (escaped); citizen text is never made HTML here.
"use strict";
(function () {
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var announce = function (text) {
    var a = document.getElementById("announce");
    if (a) { a.textContent = ""; window.setTimeout(function () { a.textContent = text; }, 50); }
  };
  // The page's words, in the console's language (set by the server on
  // <body data-t-…>).
  var say = function (key) { return document.body.getAttribute("data-t-" + key) || ""; };
  var showJSOnly = function (root) { $$(".js-only", root).forEach(function (el) { el.hidden = false; }); };
  showJSOnly(document);

  // ---- Inbox -------------------------------------------------------------
  var table = $("table.inbox[data-rows]");
  var tbody = document.getElementById("rows");
  var current = -1; // the row j and k move to
  var rows = function () { return tbody ? $$("tr[data-id]", tbody) : []; };
  var mark = function (i, focus) {
    var rs = rows();
    if (rs.length === 0) { return; }
    current = Math.max(0, Math.min(rs.length - 1, i));
    rs.forEach(function (r, k) { r.classList.toggle("current", k === current); });
    var link = $("td.ref a", rs[current]);
    if (focus && link) { link.focus(); }
  };
  if (table) {
    var url = table.getAttribute("data-rows");
    var every = Math.max(5, parseInt(table.getAttribute("data-poll"), 10) || 15) * 1000;
    var live = document.getElementById("live");
    var refresh = function () {
      if (document.hidden) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
        .then(function (html) {
          if (html.trim() === tbody.innerHTML.trim()) { return; }
          // Keep what the officer ticked and where they are.
          var ticked = $$("input[name=id]:checked", tbody).map(function (c) { return c.value; });
          var at = current >= 0 && rows()[current] ? rows()[current].getAttribute("data-id") : null;
          var hadFocus = tbody.contains(document.activeElement);
          tbody.innerHTML = html;
          ticked.forEach(function (id) { var c = document.getElementById("tick-" + id); if (c) { c.checked = true; } });
          if (at !== null) {
            var k = rows().findIndex(function (r) { return r.getAttribute("data-id") === at; });
            if (k >= 0) { mark(k, hadFocus); }
          }
          live.textContent = say("updated").replace("{time}", new Date().toLocaleTimeString(document.documentElement.lang || undefined));
        })
        .catch(function () { live.textContent = say("refresh-failed"); });
    };
    setInterval(refresh, every);
    tbody.addEventListener("focusin", function (e) {
      var tr = e.target.closest("tr[data-id]");
      if (tr) { var k = rows().indexOf(tr); if (k >= 0 && k !== current) { mark(k, false); } }
    });
  }
  // Filters: a ticked status or a chosen value applies at once.
  var filters = $("form.filters");
  if (filters) {
    filters.addEventListener("change", function (e) {
      if (e.target.matches("input[type=checkbox], select")) {
        if (filters.requestSubmit) { filters.requestSubmit(); } else { filters.submit(); }
      }
    });
    if (location.hash === "#f-q") { var q = document.getElementById("f-q"); if (q) { q.focus(); q.select(); } }
  }

  // ---- Model page: the page shows the training's result once it is done --
  var training = $("[data-training-poll]");
  if (training) {
    var poll = training.getAttribute("data-training-poll");
    var check = function () {
      if (document.hidden) { return; }
      fetch(poll, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
        .then(function (html) { if (html.indexOf("data-training-poll") < 0) { location.reload(); } })
        .catch(function () { /* the link in the line still works */ });
    };
    setInterval(check, 5000);
  }

  // ---- Forms: Enter in a field presses its part's own button -------------
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey) { return; }
    if (!t.matches || !t.matches("input[type=text], input[type=date], input[type=search]")) { return; }
    var part = t.closest(".part");
    if (!part || !t.form || (t.form.id !== "case-form" && t.form.id !== "bulk")) { return; }
    var b = $("button[type=submit]:not([disabled])", part);
    if (b) { e.preventDefault(); b.click(); }
  });

  // ---- Case page: parts save without a reload ----------------------------
  var post = function (form, submitter) {
    var fd = new FormData(form, submitter || undefined);
    var action = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
    var body = new URLSearchParams();
    fd.forEach(function (v, k) { if (typeof v === "string") { body.append(k, v); } });
    return fetch(action, { method: "POST", credentials: "same-origin", body: body,
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html" } });
  };
  var busy = false;
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches("#case-form, form.part-form")) { return; }
    e.preventDefault();
    if (busy) { return; }
    var submitter = e.submitter || null;
    var keepId = submitter && submitter.id;
    var part = submitter ? submitter.closest(".part, form") : form;
    var partId = part && part.id;
    busy = true;
    var y = window.scrollY;
    post(form, submitter)
      .then(function (r) {
        var to = new URL(r.url, location.href);
        if (r.ok && to.pathname !== location.pathname) {
          // Another case (the next one) or the inbox: go there.
          location.assign(to.href);
          return null;
        }
        return r.text().then(function (html) { return { ok: r.ok, html: html, url: to }; });
      })
      .then(function (res) {
        busy = false;
        if (!res) { return; }
        var doc = new DOMParser().parseFromString(res.html, "text/html");
        var main = $("main", doc);
        if (!res.ok) {
          var msg = main ? main.textContent.trim().replace(/\s+/g, " ") : say("action-failed");
          var box = document.createElement("p");
          box.className = "error-box";
          box.setAttribute("role", "alert");
          box.textContent = msg;
          $$(".error-box").forEach(function (b) { b.remove(); });
          (part || form).insertBefore(box, (part || form).firstChild);
          return;
        }
        if (!main) { location.reload(); return; }
        $("main").innerHTML = main.innerHTML;
        showJSOnly($("main"));
        history.replaceState(null, "", res.url.pathname + res.url.search);
        window.scrollTo(0, y);
        var done = $("main p.done");
        if (done) { announce(done.textContent); }
        var again = (keepId && document.getElementById(keepId)) || (partId && document.getElementById(partId));
        if (again) {
          if (!again.matches("button, input, select, textarea, a")) { again.setAttribute("tabindex", "-1"); }
          again.focus({ preventScroll: true });
        }
      })
      .catch(function () {
        busy = false;
        announce(say("send-failed"));
      });
  });

  // Live preview: exactly what the citizen receives, from the server.
  var previewTimer = null;
  document.addEventListener("input", function (e) {
    if (e.target.id !== "answer-text") { return; }
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(function () {
      var box = document.getElementById("preview");
      var form = document.getElementById("case-form");
      if (!box || !form) { return; }
      var body = new URLSearchParams();
      body.append("csrf", form.elements.csrf.value);
      body.append("text", e.target.value);
      fetch(box.getAttribute("data-url"), { method: "POST", credentials: "same-origin", body: body,
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { box.innerHTML = html; } })
        .catch(function () {});
    }, 300);
  });

  // Canned answers: a button (or its number key) puts the text in the
  // answer where the cursor is.
  var insertCanned = function (btn) {
    var ta = document.getElementById("answer-text");
    if (!ta) { return; }
    var text = btn.getAttribute("data-text") || "";
    var s = ta.selectionStart || 0, en = ta.selectionEnd || 0;
    if (ta.value.trim() === "") { ta.value = text; } else { ta.value = ta.value.slice(0, s) + text + ta.value.slice(en); }
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
    ta.dispatchEvent(new Event("input", { bubbles: true }));
  };
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest(".canned-insert");
    if (b) { e.preventDefault(); insertCanned(b); }
  });

  // ---- Keyboard shortcuts ------------------------------------------------
  var typing = function (el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  };
  var click = function (id) { var b = document.getElementById(id); if (b && !b.disabled) { b.click(); return true; } return false; };
  var help = document.getElementById("keys");
  // A shortcut that moves the focus into a text box (a, 1-9) must not
  // also type its own key there: its keypress is swallowed.
  var swallow = false;
  document.addEventListener("keypress", function (e) {
    if (swallow) { swallow = false; e.preventDefault(); }
  }, true);
  document.addEventListener("keyup", function () { swallow = false; }, true);
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    // In the answer box: Ctrl+Enter sends, Ctrl+Shift+Enter sends and resolves.
    if (t.id === "answer-text" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!(e.shiftKey && click("send-resolve"))) { click("send"); }
      return;
    }
    if (e.key === "Escape" && typing(t)) { t.blur(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(t) || (help && help.open)) { return; }
    var onInbox = !!table;
    var handled = true;
    switch (e.key) {
      case "j": if (onInbox) { mark(current + 1, true); } else { handled = false; } break;
      case "k": if (onInbox) { mark(current - 1, true); } else { handled = false; } break;
      case "o":
        if (onInbox) {
          if (current < 0) { mark(0, false); }
          var r = rows()[current];
          var a = r && $("td.ref a", r);
          if (a) { location.assign(a.href); }
        } else { handled = false; }
        break;
      case "x":
        if (onInbox && rows()[current]) { var c = $("input[name=id]", rows()[current]); if (c) { c.checked = !c.checked; } } else { handled = false; }
        break;
      case "a": {
        var ta = document.getElementById("answer-text");
        if (ta) { ta.focus(); } else { handled = false; }
        break;
      }
      case "r": handled = click("resolve"); break;
      case "e": handled = click("assign-me"); break;
      case "u": { var back = document.getElementById("back"); if (back) { location.assign(back.href); } else { handled = false; } break; }
      case "/": {
        var q = document.getElementById("f-q");
        if (q) { q.focus(); q.select(); } else { location.assign("/inbox#f-q"); }
        break;
      }
      case "?": if (help && help.showModal) { help.showModal(); } else { handled = false; } break;
      default:
        if (/^[1-9]$/.test(e.key)) {
          var btn = $('.canned-insert[data-key="' + e.key + '"]');
          if (btn) { insertCanned(btn); } else { handled = false; }
        } else { handled = false; }
    }
    if (handled) {
      e.preventDefault();
      swallow = typing(document.activeElement);
    }
  });
  if (help) {
    var close = $("button.close", help);
    if (close) { close.addEventListener("click", function () { help.close(); }); }
    $$("button.keys-open").forEach(function (b) { b.addEventListener("click", function () { help.showModal(); }); });
  }
})();
