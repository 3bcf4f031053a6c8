// The little behaviour the pages have, kept out of the markup: the Content-Security-Policy allows no
// inline script, no on* handler and no style attribute. Loaded after htmx; htmx.onLoad runs for the
// page once it is ready and again for every piece of content htmx swaps in.
"use strict";

(function () {
  function each(root, selector, apply) {
    if (root.matches && root.matches(selector)) apply(root);
    root.querySelectorAll(selector).forEach(apply);
  }

  htmx.onLoad(function (root) {
    // Online booking: free times are shown in the visitor's own time zone as well as the branch's.
    each(root, "input[data-visitor-timezone]", function (el) {
      el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    });
    // A form's error summary that asks for it takes the focus (and the scroll) once the page loads.
    each(root, "[data-focus-on-load]", function (el) {
      el.focus();
    });
    // A select whose options carry facts (online booking's service: length and price) says the chosen one's.
    each(root, "select[data-facts]", function (el) {
      var out = document.getElementById(el.getAttribute("data-facts"));
      if (!out) return;
      el.addEventListener("change", function () {
        var chosen = el.options[el.selectedIndex];
        out.textContent = chosen ? chosen.getAttribute("data-facts") || "" : "";
      });
    });
    // A select whose options are addresses opens the one picked (the desk's branch picker).
    each(root, "select[data-navigate]", function (el) {
      el.addEventListener("change", function () {
        window.location.assign(el.value);
      });
    });
  });
})();
