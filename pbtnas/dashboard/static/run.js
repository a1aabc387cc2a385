// The page of one run: polled every two seconds with the version of the last answer, so an unchanged run costs
// one small request; a committed step redraws the charts in place.
"use strict";

const RUN = param("run");
const SVG = "http://www.w3.org/2000/svg";
let version = null;
let follow = true;  // the population table follows the latest step until the user picks another one
let fitnessChart = null;
let originChart = null;

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

function renderSummary(s) {
  document.getElementById("title").textContent = "Run " + s.label;
  document.title = "pbtnas · " + s.label;
  const steps = s.steps_total ? `${s.steps_done} of ${s.steps_total}` : String(s.steps_done);
  fill("summary", table(["space", "task", "algorithm", "setting", "seed", "state", "steps", "epoch", "best fitness",
                         "final population's best", "wall time"],
    [[s.space, s.task, s.algorithm, s.setting, s.seed,
      el("td", { class: "state-" + s.state, title: s.state_reason, text: s.state }),
      el("td", { id: "steps-done", text: steps }), `${s.epoch} / ${s.epochs_total}`, s.best_fitness, s.final_fitness,
      el("td", { text: seconds(s.wall_seconds) })]], { scroll: false, id: "summary-table" }));
}

function renderFitness(curves) {
  const datasets = curves.slots.map(c => ({
    label: `slot ${c.slot}`, borderColor: colour(c.slot), backgroundColor: colour(c.slot), borderWidth: 1,
    pointRadius: curves.slots.length * (c.points.length || 1) > 2000 ? 0 : 1.5, data: c.points.filter(p => typeof p[1] === "number").map(p => ({ x: p[0], y: p[1], uid: p[2] })),
  }));
  const fitnessAt = new Map();
  for (const c of curves.slots) for (const p of c.points) fitnessAt.set(`${p[0]}:${p[2]}`, p[1]);
  datasets.push({
    label: "replaced", type: "scatter", pointStyle: "crossRot", pointRadius: 6, borderColor: "#b3261e",
    backgroundColor: "#b3261e",
    data: curves.replacements.map(r => ({ x: r.epoch, y: fitnessAt.get(`${r.epoch}:${r.replaced}`), uid: r.replaced,
                                          child: r.child })).filter(p => typeof p.y === "number"),
  });
  if (!fitnessChart) {
    fitnessChart = new Chart(document.getElementById("fitness-chart"), {
      type: "line", data: { datasets },
      // the points are already {x, y} in epoch order: no parsing, no sorting (Chart.js's own fast path)
      options: { animation: false, maintainAspectRatio: false, parsing: false, normalized: true, spanGaps: true,
        plugins: { legend: { display: datasets.length <= 13 },
          tooltip: { callbacks: { label: ctx => ctx.raw.child !== undefined
            ? `member ${ctx.raw.uid} replaced by ${ctx.raw.child}` : `member ${ctx.raw.uid}: ${fmt(ctx.raw.y)}` } } },
        scales: { x: { type: "linear", title: { display: true, text: "epoch" } },
                  y: { title: { display: true, text: "fitness" } } } } });
  } else {
    fitnessChart.data.datasets = datasets;
  }
  fitnessChart.options.scales.x.max = curves.best_so_far.length ? curves.best_so_far.at(-1)[0] : undefined;
  fitnessChart.update("none");
}

function renderOrigins(origins) {
  const datasets = origins.origins.map((o, i) => ({
    label: `member ${o}`, fill: i === 0 ? "origin" : "-1", borderWidth: 0.5, pointRadius: 0,
    borderColor: colour(i), backgroundColor: colour(i) + "bb",
    data: origins.epochs.map((e, k) => ({ x: e, y: origins.shares[i][k] })),
  }));
  if (!originChart) {
    originChart = new Chart(document.getElementById("origin-chart"), {
      type: "line", data: { datasets },
      options: { animation: false, maintainAspectRatio: false, parsing: false, normalized: true, spanGaps: true,
        plugins: { legend: { display: datasets.length <= 13 } },
        scales: { x: { type: "linear", title: { display: true, text: "epoch" } },
                  y: { stacked: true, min: 0, max: 1, title: { display: true, text: "share of layers" } } } } });
  } else {
    originChart.data.datasets = datasets;
  }
  originChart.options.scales.x.max = origins.epochs.at(-1);
  originChart.update("none");
}

function renderLineage(lineage, epochs, genes) {
  const named = edge => edge.genes.map(g => genes[g]);
  const last = Math.max(1, epochs[epochs.length - 1] || 1);
  const slots = Math.max(1, ...lineage.nodes.map(n => n.slot + 1));
  const width = 1000, height = Math.max(120, Math.min(640, slots * 18)), pad = 12;
  const x = e => pad + (width - 2 * pad) * e / last;
  const y = s => pad + (height - 2 * pad) * (slots === 1 ? 0.5 : s / (slots - 1));
  const at = new Map(lineage.nodes.map(n => [n.uid, n]));
  const root = svg("svg", { class: "lineage", viewBox: `0 0 ${width} ${height}`, id: "lineage-graph" });
  // A long run has thousands of members and edges: each one's tooltip (<title>) is made when the pointer first
  // reaches it, which halves the elements drawn on the page's first load.
  const tips = new WeakMap();
  root.addEventListener("mouseover", event => {
    const text = tips.get(event.target);
    if (text === undefined || event.target.firstChild) return;
    const title = svg("title", {});
    title.textContent = text();
    event.target.append(title);
  });
  for (const edge of lineage.edges) {
    const child = at.get(edge.child), parent = at.get(edge.parent);
    if (!child || !parent) continue;
    const line = svg("line", { x1: x(parent.born), y1: y(parent.slot), x2: x(child.born), y2: y(child.slot),
                               class: edge.role });
    tips.set(line, () => edge.role === "donor"
      ? `${edge.child} took ${edge.genes.length} gene(s) from donor ${edge.parent}: ${named(edge).join(", ")}`
      : `${edge.child} made from base ${edge.parent} at epoch ${edge.epoch}`);
    root.append(line);
  }
  for (const node of lineage.nodes) {
    const dot = svg("circle", { cx: x(node.born), cy: y(node.slot), r: 3.5, class: node.alive ? "alive" : "" });
    tips.set(dot, () => `member ${node.uid} (slot ${node.slot}, made at epoch ${node.born}), fitness ${fmt(node.fitness)}`);
    root.append(dot);
  }
  fill("lineage", root);
  const donors = lineage.edges.filter(e => e.role === "donor").slice(-40).reverse();
  fill("lineage-events", donors.length ? table(["epoch", "child", "donor", "genes taken from the donor"],
    donors.map(e => [e.epoch, e.child, e.parent, named(e).join(", ")]), { id: "donor-table" })
    : el("p", { class: "muted", text: "No child has taken genes from a donor yet." }));
}

function count(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

// The diagram is drawn by the server once per best member (pbtnas.export.diagram); where it cannot be, the reason.
function diagramOf(uid) {
  const url = "api/diagram?" + new URLSearchParams({ run: RUN, uid: String(uid) }).toString();
  const box = el("div", { id: "diagram" }, el("p", { class: "muted", text: "drawing the architecture…" }));
  const img = el("img", { src: url, alt: `architecture of member ${uid}`, class: "diagram" });
  img.addEventListener("load", () => box.replaceChildren(img));
  img.addEventListener("error", async () => {
    const why = await getJSON(url).then(() => "", err => err.message);
    box.replaceChildren(el("p", { class: "muted", text: "No diagram: " + why }));
  });
  return box;
}

let diagramUid = null;
let diagramBox = null;

function renderBest(best, media) {
  const parts = [];
  for (const diagram of media.diagrams) parts.push(el("img", { src: fileUrl(RUN, diagram), alt: "diagram of the best network" }));
  if (best.uid !== null && best.uid !== diagramUid) {
    diagramUid = best.uid;
    diagramBox = diagramOf(best.uid);
  }
  if (diagramBox) parts.push(diagramBox);
  parts.push(el("p", { text: `Best member of the latest population: ${fmt(best.uid)} (fitness ${fmt(best.fitness)}).` }));
  parts.push(table(["gene", "best", "second best", "layer origin", "passed through"],
    best.genes.map(g => [g.gene, el("td", { class: g.differs ? "differs" : undefined, text: g.best }),
                         el("td", { class: g.differs ? "differs" : undefined, text: g.second ?? "–" }),
                         g.origin, g.path.join(" → ")]), { id: "best-table" }));
  parts.push(el("h2", { text: "Its ancestry through base parents (newest first)" }));
  parts.push(table(["member", "made at epoch", "how", "genes taken"],
    best.ancestry.map(a => [a.uid, a.epoch, a.detail, a.genes.join(", ") || "–"]), { id: "ancestry-table" }));
  fill("best", ...parts);
}

function renderMedia(media) {
  const figures = media.grids.map(g => el("figure", {}, el("img", { src: fileUrl(RUN, g.file), alt: `${g.member} ${g.step}` }),
                                          el("figcaption", { text: `${g.member} · ${g.step}` })));
  for (const v of media.videos) {
    const player = v.file.endsWith(".gif") ? el("img", { src: fileUrl(RUN, v.file), alt: v.name })
                                           : el("video", { src: fileUrl(RUN, v.file), controls: "", muted: "", loop: "" });
    figures.push(el("figure", {}, player, el("figcaption", { text: v.name })));
  }
  fill("media", figures.length ? el("div", { class: "grids", id: "media-grid" }, ...figures)
    : el("p", { class: "muted", text: "This run's task writes no sample grids or videos (GAN and RL runs do)." }));
}

function renderEvents(events) {
  fill("events", events.length ? table(["when", "kind", "what"], events.map(e => [e.time, e.kind, e.text]), { id: "events-table" })
    : el("p", { class: "muted", text: "No events." }));
}

async function refreshPopulation(epoch) {
  const query = new URLSearchParams({ run: RUN });
  if (epoch !== null && epoch !== undefined) query.set("epoch", String(epoch));
  const data = await getJSON("api/population?" + query.toString());
  const select = document.getElementById("epoch");
  if (select.options.length !== data.epochs.length) {
    select.replaceChildren(...data.epochs.map(e => el("option", { value: e, text: e })));
  }
  select.value = String(data.epoch);
  const rows = data.rows.map(r => {
    const replaced = r.replaced_by
      ? el("td", { class: "replaced", title: r.replaced_by.genes.length ? "genes from the donor: " + r.replaced_by.genes.join(", ") : "",
                   text: `by ${r.replaced_by.uid} (${r.replaced_by.kind}: base ${fmt(r.replaced_by.base)}, donor ${fmt(r.replaced_by.donor)})` })
      : el("td", { text: "" });
    const parents = r.made_by === "init" ? "initial" : `${r.made_by}: base ${fmt(r.base)}, donor ${fmt(r.donor)}`;
    return [r.slot, r.uid, r.fitness, r.status, parents, ...data.genes.map(g => r.choices[g] ?? "?"),
            count(r.params), count(r.flops), r.train_seconds, String(r.worker ?? "–"), String(r.node ?? "–").slice(0, 8), replaced];
  });
  fill("population", table(["slot", "member", "fitness", "status", "parents", ...data.genes, "parameters",
                            "multiply-adds", "train s", "worker", "node", "replaced"], rows, { id: "population-table" }));
}

async function refreshRun() {
  const query = new URLSearchParams({ run: RUN });
  if (version) query.set("since", version);
  // on the first load the population table is asked for at once, beside the run's views
  const early = version === null ? refreshPopulation(null) : null;
  const data = await getJSON("api/run?" + query.toString());
  if (data.unchanged) return;
  version = data.version;
  const population = early || refreshPopulation(follow ? null : Number(document.getElementById("epoch").value));
  renderSummary(data.summary);
  renderFitness(data.curves);
  renderOrigins(data.origins);
  renderLineage(data.lineage, data.epochs, data.genes);
  renderBest(data.best, data.media);
  renderMedia(data.media);
  renderEvents(data.events);
  document.getElementById("config").textContent = JSON.stringify({ run: data.meta, config: data.config }, null, 2);
  await population;
}

document.getElementById("epoch").addEventListener("change", event => {
  const select = event.target;
  follow = select.selectedIndex === select.options.length - 1;
  refreshPopulation(Number(select.value));
});

if (!RUN) fill("summary", el("p", { text: "No run given: open one from the Runs page." }));
else every(2000, refreshRun);
