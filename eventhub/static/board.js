// The attendee's question board: refresh vote counts every few seconds without a reload.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }

  function refresh() {
    fetch(board.dataset.boardUrl, { headers: { "Accept": "application/json" }, credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        state.questions.forEach(function (question) {
          var counter = board.querySelector("[data-votes='" + question.id + "']");
          if (counter) { counter.textContent = String(question.votes); }
        });
      })
      .catch(function () { /* try again on the next tick */ });
  }
  setInterval(refresh, 5000);
}());
