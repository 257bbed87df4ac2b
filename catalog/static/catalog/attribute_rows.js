// The attributes editor of the product form (catalog/widgets/attribute_rows.html): the page already holds
// a few empty rows, so it works without JavaScript; this adds more on "Add row". Rows are never taken out of
// the page (the "Remove" box drops one on save): the boxes' values are row positions, which must not shift.
document.querySelectorAll("[data-attr-rows]").forEach(function (box) {
  var add = box.querySelector("[data-attr-add]");
  if (!add) return;
  add.hidden = false;
  add.addEventListener("click", function () {
    var rows = box.querySelectorAll("[data-attr-row]");
    var last = rows[rows.length - 1];
    var n = rows.length;
    var row = last.cloneNode(true);
    row.querySelectorAll(".errorlist").forEach(function (list) {
      list.remove();
    });
    row.querySelectorAll("input").forEach(function (input) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      if (input.type === "checkbox") {
        input.checked = false;
        input.value = String(n);
      } else if (input.type === "hidden") {
        input.value = "text";
      } else {
        input.value = "";
        if (input.id) input.id = input.id.replace(/_\d+$/, "_" + n);
        var label = input.getAttribute("aria-label");
        if (label) input.setAttribute("aria-label", label.replace(/\d+$/, String(n + 1)));
      }
    });
    last.parentNode.appendChild(row);
    row.querySelector("input[type=text]").focus();
  });
});
