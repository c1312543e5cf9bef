/* Survey dashboard charts (Chart.js, vendored). Every chart has the same figures in a table beside it. */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("survey-chart-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var brand = "#1d4ed8";
    var trend = document.getElementById("survey-trend");
    if (trend && data.trend.length) {
      new Chart(trend, {
        type: "line",
        data: {
          labels: data.trend.map(function (r) { return r.key; }),
          datasets: [
            { label: "Score", data: data.trend.map(function (r) { return r.value; }), borderColor: brand, backgroundColor: brand },
            { label: "95% CI low", data: data.trend.map(function (r) { return r.low; }), borderColor: "#93c5fd", borderDash: [4, 4], pointRadius: 0 },
            { label: "95% CI high", data: data.trend.map(function (r) { return r.high; }), borderColor: "#93c5fd", borderDash: [4, 4], pointRadius: 0 }
          ]
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false }
      });
    }
    var dist = document.getElementById("survey-distribution");
    if (dist && data.distribution.length) {
      new Chart(dist, {
        type: "bar",
        data: { labels: data.distribution.map(function (r) { return r.score; }),
                datasets: [{ label: "Answers", data: data.distribution.map(function (r) { return r.count; }), backgroundColor: brand }] },
        options: { responsive: true, maintainAspectRatio: false, animation: false }
      });
    }
    var themes = document.getElementById("survey-themes");
    if (themes && data.themes.length) {
      new Chart(themes, {
        type: "bar",
        data: { labels: data.themes.map(function (r) { return r.label; }),
                datasets: [{ label: "Comments", data: data.themes.map(function (r) { return r.n; }), backgroundColor: "#0f766e" }] },
        options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false }
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
