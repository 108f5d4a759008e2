// citybot console: the little that needs JavaScript. Everything works
// without it; this only refreshes the inbox and copies canned answers.
"use strict";
(function () {
  // Inbox: fetch the rows again every few seconds so that new cases
  // appear without a reload. The server renders the rows (escaped).
  var table = document.querySelector("table.inbox[data-rows]");
  if (table) {
    var url = table.getAttribute("data-rows");
    var every = Math.max(5, parseInt(table.getAttribute("data-poll"), 10) || 15) * 1000;
    var tbody = document.getElementById("rows");
    var live = document.getElementById("live");
    var refresh = function () {
      if (document.hidden) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
        .then(function (html) {
          if (html.trim() !== tbody.innerHTML.trim()) {
            tbody.innerHTML = html;
            live.textContent = "Inbox updated at " + new Date().toLocaleTimeString() + ".";
          }
        })
        .catch(function () { live.textContent = "Could not refresh the inbox; reload the page."; });
    };
    setInterval(refresh, every);
  }
  // Case page: choosing a canned answer copies it into the answer box.
  var canned = document.getElementById("canned");
  if (canned) {
    canned.addEventListener("change", function () {
      var target = document.getElementById(canned.getAttribute("data-target"));
      if (target && canned.value) { target.value = canned.value; }
    });
  }
})();
