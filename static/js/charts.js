// Charts drawn from data the page declares, so that no page needs an inline script (the Content-Security-Policy
// allows scripts from this site only). Used with templates/partials/chart.html, which renders for each chart:
//
//   <figure class="chart" data-chart="ID">
//     <canvas role="img" aria-label="…"></canvas>
//     <script type="application/json" id="ID-data">{"type": "line"|"bar", "labels": [...],
//        "series": [{"label": "…", "values": [..., null, ...], "axis": "y"|"y1"}]}</script>
//     <table>…the same figures, for screen readers and for anyone who wants the numbers…</table>
//   </figure>
//
// Values may be strings (exact decimals from the server): they are read as numbers for drawing only, the
// table beside the chart shows them as sent. A null is a gap (a day with no ratio). Colours come from the
// page's CSS custom properties (--brand, --ok, --warn, --danger, --muted), so charts follow the theme.
// Chart.js itself is the pinned copy in static/vendor (no CDN); load both with partials/chart_scripts.html.
(function () {
  "use strict";
  var PALETTE = ["--brand", "--ok", "--warn", "--danger", "--muted"];

  function colour(i) {
    var css = getComputedStyle(document.documentElement);
    return (css.getPropertyValue(PALETTE[i % PALETTE.length]) || "").trim() || "#2f5bea";
  }

  function number(v) {
    if (v === null || v === undefined || v === "") return null;
    var n = Number(v);
    return isFinite(n) ? n : null;
  }

  function draw(figure) {
    if (figure.dataset.chartDrawn || typeof window.Chart === "undefined") return;
    var source = document.getElementById(figure.dataset.chart + "-data");
    var canvas = figure.querySelector("canvas");
    if (!source || !canvas) return;
    var spec = JSON.parse(source.textContent);
    var twoAxes = spec.series.some(function (s) { return s.axis === "y1"; });
    var scales = { y: { beginAtZero: true, position: "left" } };
    if (twoAxes) scales.y1 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
    figure.dataset.chartDrawn = "1";
    new window.Chart(canvas, {
      type: spec.type || "line",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          return {
            label: s.label, data: s.values.map(number), yAxisID: s.axis || "y",
            borderColor: colour(i), backgroundColor: colour(i), spanGaps: false, tension: 0.2,
          };
        }),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false }, scales: scales,
      },
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  else drawAll();
  // Content swapped in by htmx (a filtered report, a refreshed card) brings its own charts.
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });
})();
