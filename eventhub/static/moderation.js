// The organizer's moderation section on /events/<id>: new questions, votes and answers appear without a
// reload. A Server-Sent Events stream says when the board changed; without one (refused when the server is
// busy) the section is re-read every 10 s. A section being typed into is left alone until focus leaves it.
(function () {
  "use strict";
  var section = document.getElementById("questions");
  if (!section || !section.dataset.streamUrl) { return; }
  var live = false;
  var stale = false;
  var lastReload = Date.now();

  function busy() {
    return section.contains(document.activeElement) && document.activeElement !== document.body;
  }

  function reload() {
    if (busy()) { stale = true; return; }
    stale = false;
    lastReload = Date.now();
    fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html || busy()) { stale = stale || Boolean(html); return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("questions");
        if (fresh && fresh.innerHTML !== section.innerHTML) { section.innerHTML = fresh.innerHTML; }
      })
      .catch(function () { stale = true; });
  }

  section.addEventListener("focusout", function () { setTimeout(function () { if (stale) { reload(); } }, 0); });
  if (window.EventSource) {
    var stream = new EventSource(section.dataset.streamUrl, { withCredentials: true });
    var seen = null;  // the board version this section shows (a reconnect that finds a newer one reloads)
    stream.addEventListener("open", function () { live = true; section.dataset.live = "true"; });
    stream.addEventListener("board", function (message) {
      var version = JSON.parse(message.data).version;
      if (seen !== null && version !== seen) { reload(); }
      seen = version;
    });
    stream.addEventListener("error", function () { live = false; section.dataset.live = "false"; });
  }
  setInterval(function () {
    if (!live && Date.now() - lastReload >= 10000) { reload(); }
  }, 1000);
}());
