// Draws the trend charts of the /errors/ pages with Chart.js (served from /static/vendor/).
// Each <canvas data-trend="ID"> takes its data from the JSON in <script id="ID">:
// {label, hours: [unix seconds], counts: [events]}. Hours are shown in the page's language.
"use strict";

(function () {
  const language = document.documentElement.lang || undefined;
  const hourFormat = new Intl.DateTimeFormat(language, {
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });

  for (const canvas of document.querySelectorAll("canvas[data-trend]")) {
    const trend = JSON.parse(document.getElementById(canvas.dataset.trend).textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: trend.hours.map((seconds) => hourFormat.format(new Date(seconds * 1000))),
        datasets: [{ label: trend.label, data: trend.counts, backgroundColor: "#d9534f" }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { ticks: { maxTicksLimit: 8, autoSkip: true } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
  }
})();
