// Behaviour the pages declare with data attributes, so that no page needs an inline script or handler
// (the Content-Security-Policy allows scripts from this site only).
//
// Loaded in <head> without `defer`: the class below must be on <html> before the first paint (app.css
// collapses the menu on narrow screens only when this script runs, so that without it the menu stays open).
document.documentElement.classList.add("js");

// ---- Selects that act at once (language, shop switcher, [data-autosubmit] filters) ----
// A mouse or touch choice acts at once. A keyboard only steps through the options: on a closed select the
// arrow keys (and type-ahead) change the value and fire "change" on every step, so acting on that would
// reload the page at the first ArrowDown. A keyboard user confirms with Enter, or with the form's button.
var STEP_KEYS = /^(Arrow(Up|Down|Left|Right)|Home|End|PageUp|PageDown)$/;
var keyboardStep = null; // the select whose value the key being handled is changing

function actsAtOnce(el) {
  return el instanceof HTMLSelectElement && (el.matches("[data-autosubmit]") || el.matches("[data-shop-switcher]"));
}

function initialValue(select) {
  for (var i = 0; i < select.options.length; i++) {
    if (select.options[i].defaultSelected) return select.options[i].value;
  }
  return select.options.length ? select.options[0].value : "";
}

function act(select) {
  if (select.matches("[data-shop-switcher]")) {
    if (select.value) window.location = "/shops/" + encodeURIComponent(select.value) + "/";
  } else if (select.form) {
    select.form.submit();
  }
}

document.addEventListener("keydown", function (event) {
  var el = event.target;
  if (!actsAtOnce(el) || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === "Enter") {
    if (el.value !== initialValue(el)) {
      event.preventDefault();
      act(el);
    }
  } else if (STEP_KEYS.test(event.key) || (event.key.length === 1 && event.key !== " ")) {
    // The browser changes the value (and fires "change") while handling this key, before the timeout.
    keyboardStep = el;
    setTimeout(function () {
      keyboardStep = null;
    }, 0);
  }
});

document.addEventListener("change", function (event) {
  var el = event.target;
  if (!actsAtOnce(el) || el === keyboardStep) return;
  act(el);
});

// The shop switcher's button (and Enter) go to the chosen shop's pages; the form's own GET is the fallback
// without JavaScript.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var select = form.matches("[data-shop-switcher-form]") && form.querySelector("[data-shop-switcher]");
  if (select && select.value) {
    event.preventDefault();
    act(select);
  }
});

// ---- The menu on narrow screens: a disclosure button (aria-expanded) that shows and hides the sidebar ----
function setMenu(toggle, open) {
  var nav = document.getElementById(toggle.getAttribute("aria-controls"));
  if (!nav) return;
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  nav.classList.toggle("open", open);
}

document.addEventListener("click", function (event) {
  var toggle = event.target.closest("[data-nav-toggle]");
  if (toggle) {
    setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
  } else if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// Escape closes an open menu and gives the focus back to its button.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var toggle = document.querySelector('[data-nav-toggle][aria-expanded="true"]');
  if (!toggle) return;
  var nav = document.getElementById(toggle.getAttribute("aria-controls"));
  if (nav && (nav.contains(document.activeElement) || document.activeElement === toggle)) {
    setMenu(toggle, false);
    toggle.focus();
  }
});

// ---- Tables that scroll sideways inside their box (narrow screens, app.css) ----
// A keyboard user scrolls such a table with the arrow keys once it has the focus: one with no link, button or
// field of its own to tab into takes the focus itself while it overflows (and gives it up when it fits again).
var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([data-scroll-focus])";

function reachableTables() {
  document.querySelectorAll("main table").forEach(function (table) {
    var needs = table.scrollWidth > table.clientWidth + 1 && !table.querySelector(FOCUSABLE);
    if (needs && !table.hasAttribute("tabindex")) {
      table.setAttribute("tabindex", "0");
      table.setAttribute("data-scroll-focus", "");
    } else if (!needs && table.hasAttribute("data-scroll-focus")) {
      table.removeAttribute("tabindex");
      table.removeAttribute("data-scroll-focus");
    }
  });
}
var tablesQueued = false;
function queueReachableTables() {
  if (tablesQueued) return;
  tablesQueued = true;
  window.requestAnimationFrame(function () {
    tablesQueued = false;
    reachableTables();
  });
}
window.addEventListener("resize", queueReachableTables);
window.addEventListener("load", reachableTables);
document.addEventListener("htmx:afterSettle", queueReachableTables); // a list's rows replaced in place

document.addEventListener("DOMContentLoaded", function () {
  reachableTables();
  // The current page's menu link is announced as such, not only coloured.
  document.querySelectorAll("#nav a.active").forEach(function (link) {
    link.setAttribute("aria-current", "page");
  });
  // A page whose template does not name it in {% block title %} still gets its heading in the title.
  var heading = document.querySelector("main h1");
  var name = heading ? heading.textContent.replace(/\s+/g, " ").trim() : "";
  if (name && document.title.indexOf(name) === -1) {
    document.title = name + " – " + document.title;
  }
});
