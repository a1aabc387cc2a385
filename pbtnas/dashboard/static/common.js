// Helpers every page uses. Data from a run directory reaches the page only as text (textContent, attribute values
// set one by one), never as markup: a genome name or a config string cannot become HTML.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmt(x, digits = 4) {
  if (x === null || x === undefined) return "–";
  if (typeof x === "string") return x;  // inf, -inf, nan arrive as strings
  if (Number.isInteger(x)) return String(x);
  return Number(x).toPrecision(digits);
}

function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 90) return `${s.toFixed(1)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}

function table(headers, rows, options = {}) {
  const head = el("tr", {}, ...headers.map(h => el("th", { text: h })));
  const body = rows.map(cells => {
    const tr = el("tr", {});
    for (const cell of cells) {
      if (cell instanceof Node) tr.append(cell.tagName === "TD" ? cell : el("td", {}, cell));
      else tr.append(el("td", { class: typeof cell === "number" ? "num" : undefined, text: fmt(cell) }));
    }
    return tr;
  });
  const t = el("table", { id: options.id }, el("thead", {}, head), el("tbody", {}, ...body));
  return options.scroll === false ? t : el("div", { class: "scroll" }, t);
}

function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren(...children);
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function param(name) {
  return new URLSearchParams(window.location.search).get(name);
}

function runLink(run, label) {
  return el("a", { href: "run?" + new URLSearchParams({ run }).toString(), text: label || run });
}

// A file of a run (a sample grid, a video, a diagram): paths in the views are relative to the run directory.
function fileUrl(run, path) {
  return "files/" + (run + "/" + path).split("/").map(encodeURIComponent).join("/");
}

// Poll every `ms` and say on the page when the last update came (the pages never reload themselves).
function every(ms, refresh) {
  const status = document.getElementById("live");
  const tick = async () => {
    try {
      await refresh();
      if (status) status.textContent = "updated " + new Date().toLocaleTimeString();
    } catch (err) {
      if (status) status.textContent = "not updated: " + err.message;
    }
    setTimeout(tick, ms);
  };
  tick();
}

const PALETTE = ["#1764d6", "#e07b00", "#0a7d32", "#b3261e", "#7b3fbf", "#8c564b", "#d63384", "#5f6b7a",
                 "#9a9a00", "#0f9bb3"];
function colour(i) { return PALETTE[i % PALETTE.length]; }
