// The little behaviour the pages have, kept out of the markup: the Content-Security-Policy allows no
// inline script, no on* handler and no style attribute. Loaded after htmx; htmx.onLoad runs for the
// page once it is ready and again for every piece of content htmx swaps in.
"use strict";

(function () {
  function each(root, selector, apply) {
    if (root.matches && root.matches(selector)) apply(root);
    root.querySelectorAll(selector).forEach(apply);
  }

  function sortValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return null;
    if (cell.hasAttribute("data-sort")) {
      var raw = cell.getAttribute("data-sort");
      return raw === "" ? null : Number(raw);
    }
    return cell.textContent.trim();
  }

  function compare(a, b) {
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
  }

  // Where the rows read as cards (app.css), the headers are out of sight: their buttons leave the
  // keyboard's path rather than take an invisible focus.
  var cards = window.matchMedia("(max-width: 600px)");
  function sortReach() {
    document.querySelectorAll("table.report th button.sort").forEach(function (button) {
      button.tabIndex = cards.matches ? -1 : 0;
    });
  }
  if (cards.addEventListener) cards.addEventListener("change", sortReach);

  function sortable(table) {
    if (table.dataset.sortReady) return;
    table.dataset.sortReady = "1";
    var headers = table.tHead ? Array.prototype.slice.call(table.tHead.rows[0].cells) : [];
    headers.forEach(function (th, index) {
      if (!th.textContent.trim() || th.hasAttribute("data-nosort")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      var way = document.createElement("span");
      way.className = "sort-way";
      way.setAttribute("aria-hidden", "true");
      button.appendChild(way);
      th.appendChild(button);
      button.addEventListener("click", function () {
        // numbers start from the largest, names from A
        var numeric = th.classList.contains("num");
        var current = th.getAttribute("aria-sort");
        var ascending = current ? current === "descending" : !numeric;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortValue(a, index), y = sortValue(b, index);
          if (x === null || y === null) return compare(x, y);
          return ascending ? compare(x, y) : compare(y, x);
        });
        rows.forEach(function (row) { body.appendChild(row); });
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      });
    });
    sortReach();
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
    // A report table marked data-sortable sorts by any column: each header becomes a button, and the
    // header of the column sorted by says which way (aria-sort). A cell's data-sort is its value
    // (a number; empty: none, always last); a cell without one sorts by its text.
    each(root, "table[data-sortable]", sortable);
    // A select whose options are addresses opens the one picked (the desk's branch picker).
    each(root, "select[data-navigate]", function (el) {
      el.addEventListener("change", function () {
        window.location.assign(el.value);
      });
    });
  });
})();
