// The ad campaign form's product picker: while the member types in the search box, the boxes already on the
// page narrow to those whose title or SKU codes contain the text (ticked boxes always stay in sight).
// "Find products" still searches the whole catalog on the server; the page works the same without this script.
(function () {
  "use strict";

  var input = document.querySelector("[data-product-filter]");
  var list = document.getElementById("product-checks");
  if (!input || !list) return;
  var labels = Array.prototype.slice.call(list.querySelectorAll("label[data-product]"));

  function narrow() {
    var text = input.value.trim().toLowerCase();
    labels.forEach(function (label) {
      var box = label.querySelector("input");
      var matches = !text || label.textContent.toLowerCase().indexOf(text) !== -1;
      // Not the hidden attribute: the list's CSS gives each label display:block, which would override it.
      label.style.display = matches || (box && box.checked) ? "" : "none";
    });
  }

  input.addEventListener("input", narrow);

  // "Find products" comes first in the form, so Enter would run a find: in the search box that is what the
  // member wants; in any other field Enter saves, as in every other form.
  var form = input.form;
  var save = document.getElementById("save-campaign");
  if (form && save) {
    form.addEventListener("keydown", function (event) {
      var field = event.target;
      if (event.key !== "Enter" || field === input || field.tagName !== "INPUT" || field.type === "checkbox") return;
      event.preventDefault();
      save.click();
    });
  }
})();
