// embedlab explorer: plain JS, no dependencies, everything served by the app itself.
"use strict";

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
  "#e6550d", "#31a354", "#756bb1", "#636363",
];

const state = { info: null, map: null, selected: null, rated: new Map(), colours: new Map() };

// What the page calls an item: /api/info's item_noun ("movie" for MovieLens-like data).
function noun() { return (state.info && state.info.item_noun) || "item"; }
function nouns() { return noun() + "s"; }
function article(word) { return /^[aeiou]/i.test(word) ? "an" : "a"; }
function capital(word) { return word.charAt(0).toUpperCase() + word.slice(1); }

function $(id) { return document.getElementById(id); }

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function say(message) { $("status").textContent = message || ""; }

function describeError(body, status) {
  if (!body) return `request failed (${status})`;
  let text = typeof body.detail === "string" ? body.detail
    : Array.isArray(body.detail) ? body.detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ")
    : `request failed (${status})`;
  if (Array.isArray(body.suggestions) && body.suggestions.length) {
    text += " — did you mean: " + body.suggestions.map((s) => s.label || s.key).join("; ") + "?";
  }
  return text;
}

async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) throw new Error(describeError(body, response.status));
  return body;
}

function postJSON(path, payload) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
}

// The rating-count filter: an integer >= 0 (0: no filter), or null (blank or invalid:
// the server's default, /api/info's default_min_count).
function minCount() {
  const text = $("min-count").value.trim();
  const value = Number(text);
  return text !== "" && Number.isInteger(value) && value >= 0 ? value : null;
}

function minCountQuery() {
  const value = minCount();
  return value === null ? "" : `&min_count=${value}`;
}

function itemName(item) { return item.label || String(item.key); }

function genreText(item) {
  const parts = [];
  if (item.genres && item.genres.length) parts.push(item.genres.join(", "));
  if (item.n_ratings !== null && item.n_ratings !== undefined) parts.push(`${item.n_ratings} ratings`);
  return parts.join(" · ");
}

// ------------------------------------------------------------------ combobox

function combobox(input, list, onPick) {
  let items = [];
  let active = -1;
  let timer = null;
  let seq = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    const options = list.querySelectorAll("li");
    options.forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    active = index;
    if (index >= 0 && options[index]) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }
  }

  function pick(index) {
    const item = items[index];
    if (!item) return;
    close();
    onPick(item);
  }

  function render() {
    list.replaceChildren();
    items.forEach((item, i) => {
      const li = el("li", { id: `${list.id}-${i}`, role: "option", className: "suggestion" },
        itemName(item), el("span", { className: "genres" }, " " + (item.genres || []).join(", ")));
      li.dataset.key = String(item.key);
      li.setAttribute("aria-selected", "false");
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(i); });
      list.append(li);
    });
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    active = -1;
  }

  async function search() {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { items = []; render(); return; }
    try {
      const doc = await api(`/api/search?q=${encodeURIComponent(q)}&n=8`);
      if (mine !== seq) return;
      items = doc.items;
      render();
    } catch (err) {
      if (mine === seq) { items = []; render(); say(err.message); }
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 120);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      if (list.hidden) render();
      highlight(Math.min(active + 1, items.length - 1));
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (!list.hidden && items.length) {
        pick(active >= 0 ? active : 0);
      } else if (input.value.trim()) {
        clearTimeout(timer);
        search().then(() => { if (items.length) pick(0); });
      }
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
}

// ------------------------------------------------------------------ neighbours

function resultItem(item, scoreText, extra) {
  const button = el("button", { type: "button", className: "link" }, itemName(item));
  button.addEventListener("click", () => showNeighbours(item.key));
  const li = el("li", {}, button, el("span", { className: "score" }, scoreText),
    el("span", { className: "genres" }, " " + genreText(item)), extra || null);
  li.dataset.key = String(item.key);
  return li;
}

async function showNeighbours(key) {
  say("");
  try {
    const doc = await api(`/api/items/${encodeURIComponent(key)}/neighbours?k=10${minCountQuery()}`);
    const query = doc.query[0];
    state.selected = query.key;
    $("neighbours-title").textContent = `Neighbours of ${itemName(query)}`;
    $("neighbours-hint").textContent = genreText(query);
    const list = $("neighbours");
    list.replaceChildren(...doc.neighbours.map((n) => resultItem(n, n.similarity.toFixed(3))));
    list.dataset.count = String(doc.neighbours.length);
    list.dataset.query = String(query.key);
    drawMap();
  } catch (err) {
    say(err.message);
  }
}

// ------------------------------------------------------------------ map

function genreColour(genre) {
  if (!genre) return "#9aa4ad";
  if (!state.colours.has(genre)) state.colours.set(genre, PALETTE[state.colours.size % PALETTE.length]);
  return state.colours.get(genre);
}

function mapGeometry(canvas) {
  const rect = canvas.getBoundingClientRect();
  const size = Math.max(rect.width, 50);
  const pad = 12;
  return { size, pad, scale: (size - 2 * pad) / 2 };
}

function toScreen(point, geo) {
  return [geo.pad + (point.x + 1) * geo.scale, geo.pad + (1 - point.y) * geo.scale];
}

function drawMap() {
  const canvas = $("map");
  if (!state.map) return;
  const geo = mapGeometry(canvas);
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(geo.size * ratio);
  canvas.height = Math.round(geo.size * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, geo.size, geo.size);
  const radius = state.map.n_total > 2000 ? 2 : 3;
  let drawn = 0;
  let chosen = null;
  for (const p of state.map.points) {
    const [x, y] = toScreen(p, geo);
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fillStyle = genreColour(p.genre);
    ctx.globalAlpha = 0.75;
    ctx.fill();
    drawn += 1;
    if (p.key === state.selected) chosen = [x, y];
  }
  ctx.globalAlpha = 1;
  if (chosen) {
    ctx.beginPath();
    ctx.arc(chosen[0], chosen[1], radius + 5, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#1b1f24";
    ctx.stroke();
  }
  canvas.dataset.points = String(drawn);
  canvas.dataset.state = "ready";
}

function nearestPoint(event) {
  const canvas = $("map");
  const rect = canvas.getBoundingClientRect();
  const geo = mapGeometry(canvas);
  const mx = event.clientX - rect.left;
  const my = event.clientY - rect.top;
  let best = null;
  let bestDist = 10 * 10;
  for (const p of state.map.points) {
    const [x, y] = toScreen(p, geo);
    const d = (x - mx) ** 2 + (y - my) ** 2;
    if (d <= bestDist) { best = p; bestDist = d; }
  }
  return best ? { point: best, x: mx, y: my } : null;
}

function renderLegend() {
  const legend = $("legend");
  legend.replaceChildren();
  for (const [genre, colour] of state.colours) {
    const swatch = el("span", { className: "swatch" });
    swatch.style.background = colour;
    legend.append(el("li", {}, swatch, genre));
  }
}

// /api/map answers 202 {"status": "computing"} until the server's background thread has
// the layout; the page says so and asks again. Each call is numbered so that only the
// latest one (the filter may change meanwhile) draws.
let mapSeq = 0;

async function fetchMap() {
  const mine = ++mapSeq;
  const canvas = $("map");
  const value = minCount();
  const query = value === null ? "" : `?min_count=${value}`;
  try {
    const response = await fetch("/api/map" + query);
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (mine !== mapSeq) return;
    if (response.status === 202) {
      canvas.dataset.state = "computing";
      const seconds = body && body.elapsed_s ? ` (${Math.round(body.elapsed_s)} s so far)` : "";
      $("map-hint").textContent = `Computing the map…${seconds} It appears here once ready.`;
      const wait = Math.min(Math.max(Number(response.headers.get("Retry-After")) || 1, 0.2), 5);
      setTimeout(() => { if (mine === mapSeq) fetchMap(); }, wait * 1000);
      return;
    }
    if (!response.ok) throw new Error(describeError(body, response.status));
    state.map = body;
    for (const p of state.map.points) genreColour(p.genre);
    drawMap();
    renderLegend();
    const filtered = state.map.n < state.map.n_total
      ? ` (of ${state.map.n_total}; those with at least ${state.map.min_count} ratings)` : "";
    $("map-hint").textContent =
      `${state.map.n} ${nouns()}${filtered} by ${state.map.method === "tsne" ? "t-SNE" : "PCA"}; ` +
      "nearby points were rated alike. Click a point to see its neighbours.";
  } catch (err) {
    if (mine !== mapSeq) return;
    canvas.dataset.state = "error";
    $("map-hint").textContent = "The map is not available: " + err.message;
  }
}

async function loadMap() {
  const canvas = $("map");
  canvas.dataset.state = "loading";
  $("map-hint").textContent = "Loading the map…";
  fetchMap();
  const tip = $("map-tip");
  canvas.addEventListener("mousemove", (event) => {
    if (!state.map) return;
    const hit = nearestPoint(event);
    if (!hit) { tip.hidden = true; return; }
    tip.textContent = itemName(hit.point);
    tip.style.left = `${hit.x + 12}px`;
    tip.style.top = `${hit.y + 12}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (event) => {
    if (!state.map) return;
    const hit = nearestPoint(event);
    if (hit) showNeighbours(hit.point.key);
  });
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawMap, 100);
  });
}

// ------------------------------------------------------------------ rating

function renderRated() {
  const list = $("rated");
  list.replaceChildren();
  for (const [key, entry] of state.rated) {
    const remove = el("button", { type: "button", title: "Remove" }, "✕");
    remove.setAttribute("aria-label", `Remove ${itemName(entry.item)}`);
    remove.addEventListener("click", () => { state.rated.delete(key); renderRated(); });
    const li = el("li", {}, el("span", {}, `${entry.rating} ★ ${itemName(entry.item)}`), remove);
    li.dataset.key = String(key);
    list.append(li);
  }
  list.dataset.count = String(state.rated.size);
  $("recommend").disabled = state.rated.size === 0;
}

function addRating(item) {
  const limit = state.info ? state.info.limits.max_ratings : 100;
  if (!state.rated.has(item.key) && state.rated.size >= limit) {
    say(`at most ${limit} ratings`);
    return;
  }
  state.rated.set(item.key, { item, rating: Number($("rate-value").value) });
  $("rate-search").value = "";
  renderRated();
  say(`${itemName(item)} rated ${$("rate-value").value}`);
}

async function recommend() {
  say("");
  const ratings = [...state.rated.values()].map((e) => ({ item: e.item.key, rating: e.rating }));
  try {
    const doc = await postJSON("/api/recommendations", {
      ratings, n: 10, explain: true, min_count: minCount(),
    });
    const list = $("recommendations");
    list.replaceChildren(...doc.items.map((r) => resultItem(r, r.score.toFixed(2),
      r.because && r.because.length
        ? el("span", { className: "because" }, "because you liked " + r.because.join("; "))
        : null)));
    list.dataset.count = String(doc.items.length);
    if (!doc.items.length) say(`no ${nouns()} left to recommend`);
  } catch (err) {
    say(err.message);
  }
}

function fillRatingScale() {
  const scale = state.info && state.info.rating_scale ? state.info.rating_scale : [1, 5];
  const select = $("rate-value");
  select.replaceChildren();
  const low = Math.ceil(scale[0]);
  const high = Math.floor(scale[1]);
  for (let v = high; v >= low; v -= 1) select.append(el("option", { value: String(v) }, String(v)));
  select.value = String(high);
}

// ------------------------------------------------------------------ analogy

async function solveAnalogy(event) {
  event.preventDefault();
  say("");
  const value = (id) => {
    const text = $(id).value.trim();
    return /^-?\d+$/.test(text) && text.length < 16 ? Number(text) : text;
  };
  try {
    const doc = await postJSON("/api/analogy", {
      positive: [value("analogy-b"), value("analogy-c")], negative: [value("analogy-a")], k: 10,
      min_count: minCount(),
    });
    const list = $("analogy-results");
    list.replaceChildren(...doc.neighbours.map((n) => resultItem(n, n.similarity.toFixed(3))));
    list.dataset.count = String(doc.neighbours.length);
  } catch (err) {
    say(err.message);
  }
}

// ------------------------------------------------------------------ wording

function applyWording() {
  const one = noun();
  const titled = !state.info || state.info.has_titles;
  const what = titled ? "a title or ID" : "an ID";
  $("find-title").textContent = `Find ${article(one)} ${one}`;
  $("search-label").textContent = titled ? "Title or ID" : "ID";
  $("search").placeholder = one === "movie" ? "e.g. star wars"
    : titled ? "type a title or ID" : "type an ID or part of one";
  $("neighbours-hint").textContent = `Pick ${article(one)} ${one}, or click a point on the map.`;
  document.querySelector("label[for='min-count']").textContent = `Only ${nouns()} with at least`;
  $("rate-title").textContent = `Rate a few ${nouns()}`;
  $("rate-label").textContent = capital(one);
  $("rate-search").placeholder = `type ${what}, Enter to add`;
  for (const id of ["suggestions", "rate-suggestions"]) {
    $(id).setAttribute("aria-label", `Matching ${nouns()}`);
  }
  for (const id of ["analogy-a", "analogy-b", "analogy-c"]) $(id).placeholder = what;
  $("map").setAttribute("aria-label", `2-D map of the ${nouns()}; use the search for keyboard access`);
}

// ------------------------------------------------------------------ start

async function start() {
  combobox($("search"), $("suggestions"), (item) => {
    $("search").value = itemName(item);
    showNeighbours(item.key);
  });
  combobox($("rate-search"), $("rate-suggestions"), addRating);
  $("search-form").addEventListener("submit", (event) => event.preventDefault());
  $("rate-form").addEventListener("submit", (event) => event.preventDefault());
  $("recommend").addEventListener("click", recommend);
  $("analogy-form").addEventListener("submit", solveAnalogy);
  $("min-count").addEventListener("change", () => {
    if (state.selected !== null) showNeighbours(state.selected);
    if (state.map || $("map").dataset.state === "error") fetchMap();
  });
  try {
    state.info = await api("/api/info");
    const i = state.info;
    $("model-info").textContent =
      `${i.model_class}: ${i.n_items} ${nouns()}, ${i.n_users} users, ${i.embedding_dim} dimensions`;
    if (Number.isInteger(i.default_min_count)) {
      $("min-count").value = String(i.default_min_count);
      $("min-count-default").textContent = `(default ${i.default_min_count}; 0 shows all)`;
    }
  } catch (err) {
    $("model-info").textContent = "model information unavailable";
    say(err.message);
  }
  applyWording();
  fillRatingScale();
  document.body.dataset.ready = "true";
  loadMap();
}

document.addEventListener("DOMContentLoaded", start);
