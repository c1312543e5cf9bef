/* Report charts (journeys analytics, Insights dashboards): every <canvas data-chart="ID"> is drawn with Chart.js from the JSON in the
   <script type="application/json" id="ID"> that Django's json_script wrote next to it. */
(function () {
  "use strict";
  function draw(root) {
    if (typeof window.Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.getAttribute("data-chart-rendered") === "true") { return; }
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) { return; }
      var config = JSON.parse(source.textContent);
      config.options = config.options || {};
      config.options.maintainAspectRatio = false;
      config.options.animation = false;  /* report charts: draw at once, no tween */
      var chart = new window.Chart(canvas, config);
      canvas.setAttribute("data-chart-rendered", chart ? "true" : "false");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
