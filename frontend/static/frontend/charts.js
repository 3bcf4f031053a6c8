// Charts drawn from tables (frontend/chart.html; Chart.js from npm, served under vendor/chartjs/).
//
// A <figure data-chart="line|bar|stacked"> holds a <table>: the first column labels the rows, each
// other column whose header has data-series (or, when none has, each column with numbers) is a
// series. A cell's number is its data-value ("1234.00"), whatever its text says ("£1,234.00");
// a cell without one is a gap. A series header may say data-format="count|money|percent" (the
// figure's data-currency and data-locale say how money and numbers read), data-axis="right" (a
// second scale) and data-comparison (a previous period: dashed line, hatched bar).
//
// The table stays in the page: it is open until the chart is drawn, then one click away under it
// ("Show the figures as a table"). The canvas is an image named by a summary of the figures. The
// Content-Security-Policy allows no inline script or style: Chart.js sizes its canvas through the
// CSSOM, which the policy allows. Colours are Okabe and Ito's colour-blind-safe set, each at least
// 3:1 against white; series differ by point shape and dash too, never by colour alone.
"use strict";

(function () {
  // The part may be on a page more than once: one copy of this script draws every chart.
  if (window.clinicflowCharts) return;
  window.clinicflowCharts = true;

  var PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8A6100", "#332288"];
  var POINTS = ["circle", "rect", "triangle", "rectRot", "crossRot", "star"];
  var DASH = [6, 4];
  var KINDS = { line: "Line chart", bar: "Bar chart", stacked: "Stacked bar chart" };

  function each(root, selector, apply) {
    if (root.matches && root.matches(selector)) apply(root);
    root.querySelectorAll(selector).forEach(apply);
  }

  function text(el) {
    return el ? el.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function numberIn(cell) {
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null || raw.trim() === "") return null;
    var n = Number(raw);
    return isFinite(n) ? n : null;
  }

  // The table as series: {labels, heading, series: [{label, format, axis, comparison, data, texts}]}.
  function read(table) {
    var head = table.tHead && table.tHead.rows[0];
    var body = table.tBodies[0];
    if (!head || !body || !body.rows.length) return null;
    var heads = Array.prototype.slice.call(head.cells);
    var rows = Array.prototype.slice.call(body.rows);
    var marked = heads.some(function (th) { return th.hasAttribute("data-series"); });
    var series = [];
    heads.forEach(function (th, index) {
      if (index === 0 || (marked && !th.hasAttribute("data-series"))) return;
      var cells = rows.map(function (row) { return row.cells[index]; });
      var data = cells.map(numberIn);
      if (!data.some(function (n) { return n !== null; })) return;
      series.push({
        label: text(th),
        format: th.getAttribute("data-format") || "count",
        axis: th.getAttribute("data-axis") === "right" ? "right" : "left",
        comparison: th.hasAttribute("data-comparison"),
        data: data,
        texts: cells.map(text),
      });
    });
    if (!series.length) return null;
    return {
      heading: text(heads[0]),
      labels: rows.map(function (row) { return text(row.cells[0]); }),
      series: series,
    };
  }

  function listed(words) {
    if (words.length < 2) return words.join("");
    return words.slice(0, -1).join(", ") + " and " + words[words.length - 1];
  }

  // What a screen reader hears for the canvas: what is drawn, over what, and each series' range.
  function summary(kind, figures) {
    var names = figures.series.map(function (s) {
      return s.label + (s.comparison ? (kind === "line" ? " (dashed)" : " (hatched)") : "");
    });
    var labels = figures.labels;
    var span = labels.length > 1 ? labels.length + " rows, " + labels[0] + " to " + labels[labels.length - 1] : labels[0];
    var sentences = [KINDS[kind] + " of " + listed(names) + (figures.heading ? " by " + figures.heading.toLowerCase() : "") + ": " + span + "."];
    figures.series.forEach(function (s) {
      var low = -1, high = -1;
      s.data.forEach(function (n, i) {
        if (n === null) return;
        if (low < 0 || n < s.data[low]) low = i;
        if (high < 0 || n > s.data[high]) high = i;
      });
      var figured = s.data.filter(function (n) { return n !== null; }).length;
      if (figured === 1) sentences.push(s.label + ": " + s.texts[low] + " (" + labels[low] + ").");
      else if (s.data[low] === s.data[high]) sentences.push(s.label + ": " + s.texts[low] + " throughout.");
      else sentences.push(s.label + ": lowest " + s.texts[low] + " (" + labels[low] + "), highest " + s.texts[high] + " (" + labels[high] + ").");
    });
    sentences.push("The figures are in the table below.");
    return sentences.join(" ");
  }

  function formatter(format, locale, currency) {
    var options = { maximumFractionDigits: 2 };
    if (format === "money" && currency) options = { style: "currency", currency: currency, minimumFractionDigits: 0, maximumFractionDigits: 2 };
    if (format === "percent") options = { style: "percent", maximumFractionDigits: 1 };
    var shown;
    try {
      shown = new Intl.NumberFormat(locale || undefined, options);
    } catch (e) {
      shown = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
    }
    return function (value) {
      return shown.format(format === "percent" ? value / 100 : value);
    };
  }

  // Diagonal stripes of the series' colour on white: a comparison bar reads apart without colour.
  function hatch(colour) {
    var tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    var g = tile.getContext("2d");
    if (!g) return colour;
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, 8, 8);
    g.strokeStyle = colour;
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(0, 8); g.lineTo(8, 0);
    g.moveTo(-2, 2); g.lineTo(2, -2);
    g.moveTo(6, 10); g.lineTo(10, 6);
    g.stroke();
    return g.createPattern(tile, "repeat") || colour;
  }

  function dataset(kind, s, i) {
    var colour = PALETTE[i % PALETTE.length];
    var set = {
      label: s.label,
      data: s.data,
      yAxisID: s.axis === "right" ? "y1" : "y",
      borderColor: colour,
    };
    if (kind === "line") {
      set.backgroundColor = colour;
      set.borderWidth = 2;
      set.borderDash = s.comparison ? DASH : [];
      set.pointStyle = POINTS[i % POINTS.length];
      set.pointRadius = 3;
      set.pointHoverRadius = 5;
      set.spanGaps = false;
      set.tension = 0;
    } else {
      set.backgroundColor = s.comparison ? hatch(colour) : colour;
      set.borderWidth = s.comparison ? 2 : 0;
      if (kind === "stacked") set.stack = s.comparison ? "comparison" : "current";
    }
    return set;
  }

  // A label of more than one word, cut into lines of at most 10 characters where it can be.
  function wrapped(label) {
    var lines = [];
    String(label).split(" ").forEach(function (word) {
      var last = lines[lines.length - 1];
      if (last !== undefined && (last + " " + word).length <= 10) lines[lines.length - 1] = last + " " + word;
      else lines.push(word);
    });
    return lines.length > 1 ? lines : label;
  }

  function draw(figure) {
    var kind = figure.getAttribute("data-chart");
    if (figure.clinicflowChart || !KINDS[kind] || typeof window.Chart !== "function") return;
    var table = figure.querySelector("table");
    var figures = table && read(table);
    if (!figures) return;
    var area = figure.querySelector("[data-chart-area]");
    if (!area) {
      area = document.createElement("div");
      area.className = "chart-area";
      figure.insertBefore(area, table.closest("details") || table);
    }
    var locale = figure.getAttribute("data-locale") || document.documentElement.lang;
    var currency = figure.getAttribute("data-currency") || "";
    var style = getComputedStyle(document.documentElement);
    var ink = style.getPropertyValue("--ink").trim() || "#16202c";
    var muted = style.getPropertyValue("--muted").trim() || "#56616f";
    var line = style.getPropertyValue("--line").trim() || "#d8dde3";
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var stacked = kind === "stacked";
    var left = figures.series.filter(function (s) { return s.axis === "left"; })[0] || figures.series[0];
    var right = figures.series.filter(function (s) { return s.axis === "right"; })[0];

    function axis(s, position) {
      var shown = formatter(s.format, locale, currency);
      return {
        position: position,
        stacked: stacked,
        beginAtZero: true,
        border: { color: muted },
        grid: { color: line, drawOnChartArea: position === "left" },
        ticks: { color: muted, callback: function (value) { return shown(value); } },
      };
    }

    // A few categories (bookings by source) each keep their name, on two lines where it is long; a run
    // of days or months may skip some, as every other one still says where the line is.
    var few = kind !== "line" && figures.labels.length <= 12;
    var ticks = { color: muted, maxRotation: 0, autoSkip: !few, autoSkipPadding: 12 };
    if (few) ticks.callback = function (value) { return wrapped(this.getLabelForValue(value)); };
    var scales = {
      x: { stacked: stacked, border: { color: muted }, grid: { display: false }, ticks: ticks },
      y: axis(left, "left"),
    };
    if (right) scales.y1 = axis(right, "right");

    // Chart.js keys a line by its points' style, which has no dash: the key takes the line's own.
    function lineKeys(chart) {
      var keys = window.Chart.defaults.plugins.legend.labels.generateLabels(chart);
      keys.forEach(function (key) {
        key.lineDash = figures.series[key.datasetIndex].comparison ? DASH : [];
        key.lineWidth = 3;
      });
      return keys;
    }

    var canvas = document.createElement("canvas");
    var said = summary(kind, figures);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", said);
    area.appendChild(canvas);
    area.hidden = false;
    try {
      figure.clinicflowChart = new window.Chart(canvas, {
        type: kind === "line" ? "line" : "bar",
        data: {
          labels: figures.labels,
          datasets: figures.series.map(function (s, i) { return dataset(kind, s, i); }),
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: still ? false : { duration: 300 },
          interaction: { mode: "index", intersect: false },
          color: ink,
          font: { family: getComputedStyle(document.body).fontFamily, size: 13 },
          scales: scales,
          plugins: {
            legend: {
              display: figures.series.length > 1,
              position: "bottom",
              // A line's key is a stretch of that line, dashed as it is; a bar's, a box filled as the bar.
              labels: kind === "line"
                ? { color: ink, usePointStyle: true, pointStyle: "line", pointStyleWidth: 32, generateLabels: lineKeys }
                : { color: ink, boxWidth: 28 },
            },
            tooltip: {
              callbacks: {
                // The cell's own text: the tooltip reads exactly as the table does.
                label: function (item) {
                  var s = figures.series[item.datasetIndex];
                  return s.label + ": " + s.texts[item.dataIndex];
                },
              },
            },
          },
        },
      });
    } catch (e) {
      area.removeChild(canvas);
      area.hidden = true;
      return;
    }
    figure.classList.add("chart-drawn");
    var details = figure.querySelector("details[data-chart-figures]");
    if (details) details.open = false;
  }

  function start(root) {
    each(root, "figure[data-chart]", draw);
  }

  // A chart htmx swaps out lets go of its canvas (Chart.js keeps every chart it draws).
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var figure = event.target;
    if (figure && figure.clinicflowChart) {
      figure.clinicflowChart.destroy();
      figure.clinicflowChart = null;
    }
  });

  if (window.htmx) {
    window.htmx.onLoad(start);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { start(document); });
  } else {
    start(document);
  }
})();
