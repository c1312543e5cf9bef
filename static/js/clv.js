/* Charts of the CLV and driver-analysis pages and panels: every <canvas data-clv-chart="ID"> is drawn with the
   vendored Chart.js from the JSON in <script type="application/json" id="ID"> (written by json_script). Panels
   arrive by htmx and may load Chart.js after this file, so drawing waits for it briefly. */
(function () {
  "use strict";
  if (window.cxClvCharts) { window.cxClvCharts.draw(document); return; }
  function draw(root, attempt) {
    var canvases = (root || document).querySelectorAll("canvas[data-clv-chart]:not([data-rendered])");
    if (!canvases.length) { return; }
    if (typeof window.Chart === "undefined") {
      /* A panel on a page without Chart.js names it; load it once. Never a second copy: a second window.Chart
         would not know the charts the page's own copy drew. */
      var wanted = document.querySelector("[data-chartjs-src]");
      if (wanted && !window.cxChartjsRequested) {
        window.cxChartjsRequested = true;
        var script = document.createElement("script");
        script.src = wanted.getAttribute("data-chartjs-src");
        document.head.appendChild(script);
      }
      if ((attempt || 0) < 50) { window.setTimeout(function () { draw(root, (attempt || 0) + 1); }, 100); }
      return;
    }
    canvases.forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-clv-chart"));
      if (!source) { return; }
      var config = JSON.parse(source.textContent);
      config.options = config.options || {};
      config.options.maintainAspectRatio = false;
      config.options.animation = false;
      new window.Chart(canvas, config);
      canvas.setAttribute("data-rendered", "true");
    });
  }
  window.cxClvCharts = { draw: draw };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
