// The organizer's event page: poll the invites' state until the running job is over.
(function () {
  "use strict";
  var section = document.getElementById("event");
  if (!section) { return; }
  var progress = document.getElementById("job-progress");
  var statusText = document.getElementById("job-status");

  function refresh() {
    fetch(section.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        Object.keys(state.invites).forEach(function (key) {
          var cell = document.querySelector("[data-count='" + key + "']");
          if (cell) { cell.textContent = state.invites[key]; }
        });
        if (state.job) {
          progress.max = state.job.total || 1;
          progress.value = state.job.done;
          statusText.textContent = state.job.status + (state.job.failed ? ", " + state.job.failed + " failed" : "");
          if (state.job.status === "queued" || state.job.status === "started") { setTimeout(refresh, 1000); }
        }
      })
      .catch(function () { setTimeout(refresh, 5000); });
  }
  refresh();
}());
