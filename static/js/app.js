// Behaviour the pages declare with data attributes, so that no page needs an inline script or handler
// (the Content-Security-Policy allows scripts from this site only).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches("[data-autosubmit]") && el.form) {
    el.form.submit();
  } else if (el.matches("[data-shop-switcher]") && el.value) {
    window.location = "/shops/" + encodeURIComponent(el.value) + "/";
  }
});
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
