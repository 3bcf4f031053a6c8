// Forms where a choice decides which number is asked (the fee policy's rule per fee, /settings/fees/; the
// online deposit's kind, /settings/payments/online/): a <select data-choice="GROUP"> shows only the fields
// whose input says data-choice-for="GROUP:VALUE" for the value chosen (none for a choice that asks no
// number). Without this script every field shows, each saying in its label which choice it is for; the
// server keeps only the number the chosen one uses.
(function () {
  "use strict";
  function sync(select) {
    var group = select.getAttribute("data-choice");
    var inputs = document.querySelectorAll('[data-choice-for^="' + group + ':"]');
    Array.prototype.forEach.call(inputs, function (input) {
      var value = input.getAttribute("data-choice-for").slice(group.length + 1);
      var field = input.closest(".field") || input.parentNode;
      field.hidden = select.value !== value;
    });
  }
  function start() {
    var selects = document.querySelectorAll("select[data-choice]");
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
