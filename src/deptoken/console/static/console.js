// The dashboard's supply chart (Chart.js, served from the project's node_modules). Its data is in a
// JSON script element of the page: no inline script, as the content security policy requires.
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("supply-data");
  const canvas = document.getElementById("supply-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  const series = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "line",
    data: { labels: series.labels, datasets: [{ label: "Total supply", data: series.supply.map(Number), stepped: true,
      borderColor: "#1d5fa8", backgroundColor: "rgba(29,95,168,.08)", fill: true, pointRadius: series.supply.length > 30 ? 0 : 3 }] },
    options: { animation: false, plugins: { legend: { display: false } },
      scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true } } },
  });
  canvas.dataset.rendered = "true";
});
