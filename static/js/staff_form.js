// The staff form (add and edit a member): what the chosen role grants follows the role select, and each
// scope field's "all" excludes the chosen objects. The page is right without this script (the server
// renders the role's grants for the role it was given); this only keeps it right while the user edits.
(function () {
  "use strict";

  var dataNode = document.getElementById("role-grants-data");
  var form = document.querySelector("[data-staff-form]");
  if (!dataNode || !form) return;
  var roles = JSON.parse(dataNode.textContent);
  var roleSelect = form.querySelector("select[name=role]");

  function showRole() {
    var grants = roles[roleSelect.value] || { codes: [], text: "", note: "" };
    var help = form.querySelector("#field-role .help");
    if (help) help.textContent = grants.text;
    form.querySelectorAll("input[name=extra_grants]").forEach(function (box) {
      var note = box.parentNode.querySelector("[data-role-note]");
      var covered = grants.codes.indexOf(box.value) !== -1;
      if (covered) {
        if (!box.disabled) box.dataset.wasChecked = box.checked ? "1" : "";
        box.checked = true;
        box.disabled = true;
      } else if (box.disabled) {
        // Back to what it was before a role covered it (a member's own extra grant stays ticked).
        box.disabled = false;
        box.checked = box.dataset.wasChecked === "1";
      }
      if (note) {
        note.textContent = covered ? " (" + grants.note + ")" : "";
        note.hidden = !covered;
      }
    });
  }

  if (roleSelect) {
    // The server rendered boxes that a role covers from its ticked-before state: keep it for the switch back.
    form.querySelectorAll("input[name=extra_grants]").forEach(function (box) {
      box.dataset.wasChecked = box.hasAttribute("data-was-checked") ? "1" : "";
    });
    roleSelect.addEventListener("change", showRole);
  }

  form.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || !box.checked) return;
    if (box.name.indexOf("scope_") !== 0) return;
    form.querySelectorAll('input[name="' + box.name + '"]').forEach(function (other) {
      if (other !== box && (box.value === "all" || other.value === "all")) other.checked = false;
    });
  });
})();
