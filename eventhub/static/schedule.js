// The scheduling form: add and remove groups, and show the fields of the chosen mode.
(function () {
  "use strict";
  var form = document.getElementById("schedule-form");
  if (!form) { return; }
  var groups = document.getElementById("groups");

  function renumber() {
    Array.prototype.forEach.call(groups.querySelectorAll("fieldset.group"), function (fieldset, index) {
      fieldset.dataset.index = String(index);
      fieldset.querySelector("legend").textContent = "Group " + (index + 1);
      fieldset.querySelectorAll("[name^='groups-']").forEach(function (input) {
        input.name = input.name.replace(/^groups-\d+-/, "groups-" + index + "-");
        if (input.id) { input.id = input.id.replace(/^groups-\d+-/, "groups-" + index + "-"); }
      });
      fieldset.querySelectorAll("label[for^='groups-']").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/^groups-\d+-/, "groups-" + index + "-");
      });
    });
  }

  document.getElementById("add-group").addEventListener("click", function () {
    var last = groups.querySelector("fieldset.group:last-of-type");
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input[type='text'], input:not([type])").forEach(function (input) { input.value = ""; });
    copy.querySelectorAll("[aria-invalid]").forEach(function (input) { input.removeAttribute("aria-invalid"); });
    groups.appendChild(copy);
    renumber();
    copy.querySelector("input").focus();
  });

  groups.addEventListener("click", function (event) {
    if (!event.target.classList.contains("remove-group")) { return; }
    if (groups.querySelectorAll("fieldset.group").length > 1) {
      event.target.closest("fieldset.group").remove();
      renumber();
    }
  });

  function showMode() {
    var series = form.querySelector("input[name='mode']:checked").value === "series";
    form.querySelectorAll(".series-only").forEach(function (el) { el.hidden = !series; });
    form.querySelectorAll(".single-only").forEach(function (el) { el.hidden = series; });
  }
  form.querySelectorAll("input[name='mode']").forEach(function (radio) { radio.addEventListener("change", showMode); });
  showMode();
}());
