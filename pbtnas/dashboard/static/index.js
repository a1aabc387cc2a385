// The Runs page: every run under the folder, refreshed every two seconds.
"use strict";

function stateCell(row) {
  return el("td", { class: "state-" + row.state, title: row.state_reason || row.error || "", text: row.state });
}

async function refreshRuns() {
  const data = await getJSON("api/runs");
  document.getElementById("root").textContent = data.root;
  const checked = new Set([...document.querySelectorAll("input.pick:checked")].map(box => box.value));
  const rows = data.runs.map(r => {
    const box = el("input", { type: "checkbox", class: "pick", value: r.run });
    box.checked = checked.has(r.run);
    if (r.error) return [el("td", {}, box), el("td", {}, runLink(r.run)), "", "", "", stateCell(r), r.error, "", ""];
    const steps = r.steps_total ? `${r.steps_done} / ${r.steps_total}` : `${r.steps_done} (epoch ${r.epoch} / ${r.epochs_total})`;
    return [el("td", {}, box), el("td", {}, runLink(r.run, r.label)), r.space, r.task, r.algorithm, stateCell(r),
            el("td", { class: "steps", text: steps }), r.best_fitness, el("td", { text: seconds(r.wall_seconds) })];
  });
  fill("runs", table(["", "run", "space", "task", "algorithm", "state", "steps", "best fitness", "wall time"],
                     rows, { id: "runs-table" }));
}

document.getElementById("compare-selected").addEventListener("click", () => {
  const runs = [...document.querySelectorAll("input.pick:checked")].map(box => box.value);
  const query = new URLSearchParams();
  for (const run of runs) query.append("run", run);
  window.location.href = "compare?" + query.toString();
});

every(2000, refreshRuns);
