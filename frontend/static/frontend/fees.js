// The fee policy form (/settings/fees/): each fee shows only the number its rule uses (an amount for a
// fixed fee, a percentage for a percentage, neither for no fee). Without this script every field shows,
// each saying which rule it is for; the server keeps only the number the chosen rule uses.
(function () {
  "use strict";
  function sync(select) {
    var prefix = select.getAttribute("data-fee-rule");
    var inputs = document.querySelectorAll('[data-fee-for^="' + prefix + ':"]');
    Array.prototype.forEach.call(inputs, function (input) {
      var kind = input.getAttribute("data-fee-for").split(":")[1];
      var field = input.closest(".field") || input.parentNode;
      field.hidden = select.value !== kind;
    });
  }
  function start() {
    var selects = document.querySelectorAll("select[data-fee-rule]");
    Array.prototype.forEach.call(selects, function (select) {
      sync(select);
      select.addEventListener("change", function () { sync(select); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
