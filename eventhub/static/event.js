// The organizer's event page: poll the invites' and the summary's progress while a job runs.
(function () {
  "use strict";
  var section = document.getElementById("event");
  if (!section) { return; }

  function running(job) { return Boolean(job) && (job.status === "queued" || job.status === "started"); }

  function show(job, bar, label) {
    if (!job || !bar) { return; }
    bar.max = job.total || 1;
    bar.value = job.status === "finished" ? bar.max : job.done;
    label.textContent = job.status + " (" + job.done + " of " + job.total +
      (job.failed ? ", " + job.failed + " failed" : "") + ")";
  }

  function refresh() {
    fetch(section.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        Object.keys(state.invites).forEach(function (key) {
          var cell = document.querySelector("[data-count='" + key + "']");
          if (cell) { cell.textContent = state.invites[key]; }
        });
        show(state.job, document.getElementById("job-progress"), document.getElementById("job-status"));
        show(state.summary_job, document.getElementById("summary-progress"), document.getElementById("summary-status"));
        if (running(state.job) || running(state.summary_job)) { setTimeout(refresh, 1000); }
      })
      .catch(function () { setTimeout(refresh, 5000); });
  }
  refresh();
}());
