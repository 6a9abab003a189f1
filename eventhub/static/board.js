// The attendee's question board: live without a reload. A Server-Sent Events stream says when the board
// changed; the refresh then asks with the board's ETag (304 while nothing this link sees changed). Without a
// stream (refused when the server is busy, or unsupported) the refresh polls every few seconds instead.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var etag = null;
  var live = false;
  var lastRefresh = 0;
  var pending = false;
  var again = false;

  function shownSignature() {
    return Array.prototype.map.call(board.querySelectorAll(".question"), function (item) {
      return [item.dataset.questionId, item.dataset.voted, item.dataset.status, item.dataset.answer || ""].join(":");
    }).join("|");
  }

  function stateSignature(state) {
    return state.questions.map(function (question) {
      return [question.id, question.voted ? "true" : "false", question.status, question.answer || ""].join(":");
    }).join("|");
  }

  // Questions added, removed, reordered, answered or voted elsewhere: take the list from the page itself,
  // so its forms (and their CSRF tokens) are the server's own.
  function reloadList() {
    fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        if (fresh) { board.innerHTML = fresh.innerHTML; }
      })
      .catch(function () { /* the next change tries again */ });
  }

  function show(state) {
    if (stateSignature(state) !== shownSignature()) { reloadList(); return; }
    state.questions.forEach(function (question) {
      var counter = board.querySelector("[data-votes='" + question.id + "']");
      if (counter) { counter.textContent = String(question.votes); }
    });
  }

  function refresh() {
    if (pending) { again = true; return; }  // a change announced mid-request: ask once more after it
    pending = true;
    again = false;
    lastRefresh = Date.now();
    var headers = { "Accept": "application/json" };
    if (etag) { headers["If-None-Match"] = etag; }
    fetch(board.dataset.boardUrl, { headers: headers, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        if (response.status === 304 || !response.ok) { return null; }
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (state) { if (state) { show(state); } })
      .catch(function () { /* try again on the next tick */ })
      .then(function () { pending = false; if (again) { refresh(); } });
  }

  if (window.EventSource && board.dataset.streamUrl) {
    var stream = new EventSource(board.dataset.streamUrl);
    stream.addEventListener("open", function () { live = true; board.dataset.live = "true"; });
    stream.addEventListener("board", refresh);
    stream.addEventListener("error", function () { live = false; board.dataset.live = "false"; });  // poll
  }
  // While the stream is live a slow poll is only a safety net; without it, every 5 s.
  setInterval(function () {
    if (Date.now() - lastRefresh >= (live ? 30000 : 5000)) { refresh(); }
  }, 1000);
}());
