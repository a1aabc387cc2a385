// The Compare page: best-so-far curves of the runs named in the address, the report's tables.
"use strict";

const names = new URLSearchParams(window.location.search).getAll("run");

async function refreshCompare() {
  const query = new URLSearchParams();
  for (const run of names) query.append("run", run);
  const data = await getJSON("api/compare?" + query.toString());
  const datasets = data.runs.map((r, i) => ({
    label: `${r.run} (${r.algorithm}, seed ${r.seed})`, borderColor: colour(i), backgroundColor: colour(i),
    data: r.curve.filter(p => typeof p[1] === "number").map(p => ({ x: p[0], y: p[1] })), pointRadius: 2,
  }));
  if (!window.compareChart) {
    window.compareChart = new Chart(document.getElementById("compare-chart"), {
      type: "line", data: { datasets }, options: { animation: false, maintainAspectRatio: false,
        scales: { x: { type: "linear", title: { display: true, text: "epoch" } },
                  y: { title: { display: true, text: "best fitness so far" } } } } });
  } else {
    window.compareChart.data.datasets = datasets;
    window.compareChart.update("none");
  }
  const finals = data.runs.filter(r => typeof r.final_fitness === "number");
  const bars = { labels: finals.map(r => r.run), datasets: [{ label: "final fitness", data: finals.map(r => r.final_fitness),
    backgroundColor: finals.map(r => colour(data.runs.indexOf(r))) }] };
  if (!window.finalChart) {
    window.finalChart = new Chart(document.getElementById("final-chart"), {
      type: "bar", data: bars, options: { animation: false, maintainAspectRatio: false,
        plugins: { legend: { display: false } }, scales: { y: { title: { display: true, text: "fitness" } } } } });
  } else {
    window.finalChart.data = bars;
    window.finalChart.update("none");
  }
  fill("compare-runs", table(["run", "algorithm", "setting", "seed", "final fitness", "best ever", "complete"],
    data.runs.map(r => [el("td", {}, runLink(r.run)), r.algorithm, r.setting, r.seed, r.final_fitness, r.best_ever,
                        r.complete ? "yes" : "no"]), { id: "compare-table" }));
  fill("cells", table(["algorithm", "setting", "runs", "final fitness (mean ± std)"],
    data.cells.map(c => [c.algorithm, c.setting, c.n, `${fmt(c.mean)} ± ${fmt(c.std, 2)}`]), { id: "cells-table" }));
  fill("tests", data.tests.length ? table(["algorithm 1", "algorithm 2", "pairs", "W+", "p-value", "adjusted p", "significant"],
    data.tests.map(t => [t.first, t.second, t.n, t.statistic, t.pvalue, t.adjusted, t.significant ? "yes" : "no"]),
    { id: "tests-table" }) : el("p", { class: "muted", text: "Tests need runs of two or more algorithms sharing a (setting, seed)." }));
}

if (names.length === 0) {
  fill("compare-runs", el("p", { text: "No runs chosen: tick some on the Runs page." }));
} else {
  every(5000, refreshCompare);
}
