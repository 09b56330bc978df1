// The owner's dashboard: each <canvas data-chart> drawn with Chart.js from the numbers the
// page carries (#dashboard-data, the same numbers as the table beside each chart).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var names = { issued: "Issued", viewed: "Viewed", redeemed: "Redeemed", converted: "Converted", certificates: "Certificates" };
  // Distinct for the common colour-vision deficiencies (Okabe and Ito's palette).
  var colours = { issued: "#0072B2", viewed: "#56B4E9", redeemed: "#009E73", converted: "#D55E00", certificates: "#0072B2" };
  Chart.defaults.animation = false; // drawn at once, so printing or a screenshot shows it all
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1e1e2e";
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var chart = data[canvas.dataset.chart];
    var series = chart.series;
    var line = canvas.dataset.kind === "line";
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: {
        labels: chart.labels,
        datasets: series.map(function (one) {
          return { label: names[one.name], data: one.data, backgroundColor: colours[one.name], borderColor: colours[one.name], pointRadius: line ? 2 : 0 };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: canvas.dataset.axis || "x",
        scales: { x: { beginAtZero: true }, y: { beginAtZero: true } },
        plugins: { legend: { display: series.length > 1 } }
      }
    });
    canvas.dataset.drawn = "true";
  });
})();
