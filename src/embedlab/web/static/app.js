// embedlab explorer: plain JS, no dependencies, everything served by the app itself.
// The API it talks to is described at /openapi.json; the page asks /openapi.json which
// endpoints exist, so it degrades (hides a panel, falls back) when one is missing.
"use strict";

// Tableau 10 (grey taken out) and ten further distinct colours: at most 19 levels, then
// grey for "other" and missing values.
const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
  "#17becf", "#000075", "#800000", "#469990", "#f032e6", "#808000", "#911eb4", "#aaffc3",
  "#ffd8b1", "#9a6324", "#fabed4",
];
const OTHER = "#a8adb3";
const PLAIN = "#3b6fb6";
const MISSING_CODE = 65535;
const VIRIDIS = [
  "#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
  "#b5de2b", "#fde725",
];
const METHOD_NAMES = { pca: "PCA", tsne: "t-SNE", umap: "UMAP" };
const NARROW = "(max-width: 760px)";

const state = {
  info: null,
  paths: null, // the API's paths (from /openapi.json), or null: assume all exist
  selected: null, // the item whose neighbours are listed
  neighbours: [],
  rated: new Map(), // String(key) -> {item, rating}
  user: null,
  rowItems: new Map(), // row -> item payload (what the page has seen)
  keyRows: new Map(), // String(key) -> row (legacy map without rows)
  map: null,
  colour: null,
  legendOn: new Set(),
  counts: null, // Float32Array of counts per row, or null
  view: { zoom: 1, cx: 0, cy: 0 },
  restoring: true,
};

// ------------------------------------------------------------------ helpers

function $(id) { return document.getElementById(id); }

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function noun() { return (state.info && state.info.item_noun) || "item"; }
function nouns() { return noun() + "s"; }
function article(word) { return /^[aeiou]/i.test(word) ? "an" : "a"; }
function capital(word) { return word.charAt(0).toUpperCase() + word.slice(1); }
function hasModel() { return !state.info || state.info.has_model !== false; }
function hasCounts() {
  if (!state.info) return true;
  if (state.info.has_counts === undefined) return state.info.has_model !== false;
  return state.info.has_counts;
}
function has(path) { return !state.paths || state.paths.has(path); }
// A model of clicks, plays or purchases: a visitor adds items they like (weight 1 each)
// instead of rating them, scores are preference scores with no scale, counts are
// interactions.
function implicit() { return Boolean(state.info && state.info.feedback === "implicit"); }
function countWord() { return implicit() ? "interactions" : "ratings"; }

// The global line: only for what stops the page from loading.
function say(message) { $("status").textContent = message || ""; }

// A message next to the field that caused it: kind "error", "success", "empty" or "".
function tell(id, message, kind) {
  const node = $(id);
  node.textContent = message || "";
  node.className = "msg" + (kind && message ? " " + kind : "");
}

let announceTimer = null;
function announce(message) {
  const node = $("announce");
  clearTimeout(announceTimer);
  node.textContent = "";
  announceTimer = setTimeout(() => { node.textContent = message; }, 60);
}

function describeError(body, status) {
  if (status === 0) return "the server did not answer; check that it is still running, then try again";
  if (!body) return `the server answered ${status}; try again`;
  if (typeof body.detail === "string") return body.detail;
  if (Array.isArray(body.detail)) {
    return body.detail.map((d) => {
      const where = (d.loc || []).slice(1).join(".");
      return where ? `${where}: ${d.msg}` : d.msg;
    }).join("; ");
  }
  return `the server answered ${status}; try again`;
}

class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError(describeError(null, 0), 0, null);
  }
  let body = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try { body = await response.json(); } catch (err) { body = null; }
  }
  return { response, status: response.status, body };
}

async function api(path, options) {
  const { status, body, response } = await request(path, options);
  if (!response.ok) throw new ApiError(describeError(body, status), status, body);
  return body;
}

function postJSON(path, payload) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
}

function itemName(item) { return item.label || String(item.key); }

function countText(n) {
  if (n === null || n === undefined) return "";
  return hasModel() ? `${n} ${countWord()}` : `count ${n}`;
}

function remember(item) {
  if (item && Number.isInteger(item.row)) state.rowItems.set(item.row, item);
  return item;
}

function rowOf(item) {
  if (Number.isInteger(item.row)) return item.row;
  const row = state.keyRows.get(String(item.key));
  return row === undefined ? null : row;
}

// What tells two items apart beside the label: the ID, the year (when the label does
// not show it), else the first metadata value; then genres and count.
function itemDetails(item) {
  const parts = [];
  if (item.genres && item.genres.length) parts.push(item.genres.join(", "));
  const count = countText(item.n_ratings);
  if (count) parts.push(count);
  if (item.year !== null && item.year !== undefined && !String(item.label || "").includes(String(item.year))) {
    parts.push(String(item.year));
  } else if (item.year === null || item.year === undefined) {
    const meta = item.meta || {};
    const first = Object.keys(meta).find((k) => meta[k] !== null && meta[k] !== "");
    if (first !== undefined) parts.push(`${first}: ${meta[first]}`);
  }
  if (item.label) parts.push(`ID ${item.key}`);
  return parts.join(" · ");
}

function numberText(x, digits) {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

// "cosine 0.830" or "distance 1.270": the measure named next to each number.
function measureText(entry, metric) {
  if (metric === "euclidean" && typeof entry.distance === "number") {
    return `distance ${numberText(entry.distance, 3)}`;
  }
  return `cosine ${numberText(entry.similarity, 3)}`;
}

function scaleText(scale) {
  if (!scale) return "";
  const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  return ` (${fmt(scale[0])}–${fmt(scale[1])})`;
}

// One result line: the item as a button (selects it), a score, details, extras.
function itemLine(item, scoreText, extra, onActivate) {
  remember(item);
  const button = el("button", { type: "button", className: "link" }, itemName(item));
  button.addEventListener("click", () => (onActivate || ((it) => selectItem(it.key)))(item, button));
  const details = itemDetails(item);
  const li = el("li", {}, button,
    scoreText ? el("span", { className: "score" }, scoreText) : null,
    details ? el("span", { className: "meta" }, " " + details) : null,
    likeButton(item),
    extra || null);
  li.dataset.key = String(item.key);
  if (Number.isInteger(item.row)) li.dataset.row = String(item.row);
  return li;
}

function fillList(list, lines) {
  list.replaceChildren(...lines);
  list.dataset.count = String(lines.length);
}

// ------------------------------------------------------------------ URL state

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  const raw = {};
  for (const part of window.location.search.replace(/^\?/, "").split("&")) {
    const at = part.indexOf("=");
    if (at > 0) raw[part.slice(0, at)] = part.slice(at + 1);
  }
  const ratings = [];
  if (raw.r) {
    for (const entry of raw.r.split(",")) {
      const at = entry.lastIndexOf(":");
      if (at <= 0) continue;
      let key;
      try { key = decodeURIComponent(entry.slice(0, at)); } catch (err) { continue; }
      const rating = Number(entry.slice(at + 1));
      if (key && Number.isFinite(rating)) ratings.push([key, rating]);
    }
  }
  return {
    item: params.get("item"),
    k: params.get("k"),
    metric: params.get("metric"),
    minCount: params.get("mc"),
    colour: params.get("colour"),
    projection: params.get("proj"),
    isolate: params.get("iso") === "1",
    zoom: Number(params.get("z")),
    cx: Number(params.get("x")),
    cy: Number(params.get("y")),
    user: params.get("user"),
    only: params.get("only") ? params.get("only").split("|") : [],
    ratings,
  };
}

let urlTimer = null;
function saveUrl() {
  if (state.restoring) return;
  clearTimeout(urlTimer);
  urlTimer = setTimeout(writeUrl, 80);
}

function writeUrl() {
  const parts = [];
  const add = (name, value) => {
    if (value !== null && value !== undefined && value !== "") parts.push(`${name}=${encodeURIComponent(value)}`);
  };
  if (state.selected) add("item", String(state.selected.key));
  add("k", $("k").value);
  add("metric", $("metric").value);
  if (hasCounts()) add("mc", $("min-count").value.trim());
  add("colour", $("colour").value || "none");
  add("proj", $("projection").value);
  if ($("isolate").checked) add("iso", "1");
  if (state.colour && state.colour.kind === "categorical" && state.legendOn.size) {
    add("only", [...state.legendOn].map((j) => (j < 0 ? "(other)" : state.colour.levels[j].value)).join("|"));
  }
  const v = state.view;
  if (v.zoom !== 1 || v.cx !== 0 || v.cy !== 0) {
    add("z", v.zoom.toFixed(3));
    add("x", v.cx.toFixed(4));
    add("y", v.cy.toFixed(4));
  }
  if (state.rated.size) {
    const r = [...state.rated.values()].map((e) => `${encodeURIComponent(String(e.item.key))}:${e.rating}`);
    parts.push(`r=${r.join(",")}`);
  }
  if (state.user !== null) add("user", String(state.user));
  const query = parts.length ? "?" + parts.join("&") : "";
  window.history.replaceState(null, "", window.location.pathname + query);
}

// ------------------------------------------------------------------ combobox

// An input with a suggestion listbox (aria-activedescendant pattern).
// fetchOptions(q) -> [{text, detail, key, value}]; onPick(option.value); onEnter(q) when
// Enter is pressed with no suggestion highlighted.
function combobox(input, list, { fetchOptions, onPick, onEnter, onResults, openOnFocus }) {
  let options = [];
  let optionsFor = null; // the query the options answer
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
    const lis = list.querySelectorAll("li");
    lis.forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    active = index;
    if (index >= 0 && lis[index]) {
      input.setAttribute("aria-activedescendant", lis[index].id);
      lis[index].scrollIntoView({ block: "nearest" });
    }
  }

  function pick(index) {
    const option = options[index];
    if (!option) return;
    close();
    onPick(option.value);
  }

  function render() {
    list.replaceChildren();
    options.forEach((option, i) => {
      const li = el("li", { id: `${list.id}-${i}`, className: "suggestion" }, option.text,
        option.detail ? el("span", { className: "meta" }, " " + option.detail) : null);
      li.setAttribute("role", "option");
      li.dataset.key = String(option.key);
      li.setAttribute("aria-selected", "false");
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(i); });
      list.append(li);
    });
    list.hidden = options.length === 0;
    input.setAttribute("aria-expanded", options.length ? "true" : "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  async function refresh() {
    const q = input.value.trim();
    const mine = ++seq;
    try {
      const found = await fetchOptions(q);
      if (mine !== seq) return;
      options = found;
      optionsFor = q;
      render();
      if (onResults) onResults(q, found, null);
    } catch (err) {
      if (mine !== seq) return;
      options = [];
      render();
      if (onResults) onResults(q, [], err);
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  });
  if (openOnFocus) input.addEventListener("focus", () => { if (!options.length) refresh(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      if (list.hidden) render();
      highlight(Math.min(active + 1, options.length - 1));
    } else if (event.key === "ArrowUp" && options.length) {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (!list.hidden && active >= 0) {
        pick(active);
      } else {
        clearTimeout(timer);
        seq += 1; // a pending answer must not reopen the list
        close();
        const q = input.value.trim();
        onEnter(q, optionsFor === q ? options : []);
      }
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  return { refresh, close };
}

// ------------------------------------------------------------------ search

function searchMode() { return $("search-regex").checked ? "regex" : "text"; }

function searchUrl(q, n) {
  let url = `/api/search?q=${encodeURIComponent(q)}&n=${n}`;
  const column = $("search-column").value;
  if (column) url += `&column=${encodeURIComponent(column)}`;
  if (searchMode() === "regex") url += "&mode=regex";
  return url;
}

async function searchItems(q, n) {
  if (!q) return { items: [], n_matches: 0 };
  const doc = await api(searchUrl(q, n));
  doc.items.forEach(remember);
  return doc;
}

function itemOption(item) {
  return { text: itemName(item), detail: itemDetails(item), key: item.key, value: item };
}

function noMatchText(q) {
  const hint = searchMode() === "regex"
    ? "check the pattern, or switch off regex"
    : "try part of the title, an ID, or another column";
  return `No match for “${q}”: ${hint}.`;
}

function searchFeedback(q, found, err) {
  if (err) {
    const fix = searchMode() === "regex" && err.status === 422 ? " Fix the pattern and try again." : "";
    tell("search-msg", err.message + fix, "error");
  } else if (q && !found.length) {
    tell("search-msg", noMatchText(q), "empty");
  } else {
    tell("search-msg", "");
  }
}

// Enter in the search box: list every match (up to 20) and select the first.
let runSeq = 0;
async function runSearch(q) {
  const mine = ++runSeq;
  if (!q) { tell("search-msg", `Type a title or ID to find ${article(noun())} ${noun()}.`, "empty"); return; }
  let doc;
  try {
    doc = await searchItems(q, 20);
  } catch (err) {
    if (mine === runSeq) searchFeedback(q, [], err);
    return;
  }
  if (mine !== runSeq) return;
  const wrap = $("search-results-wrap");
  if (!doc.items.length) {
    wrap.hidden = true;
    fillList($("search-results"), []);
    searchFeedback(q, [], null);
    announce(noMatchText(q));
    return;
  }
  const total = Number.isInteger(doc.n_matches) ? doc.n_matches : doc.items.length;
  const shown = total > doc.items.length ? `${total} matches; the first ${doc.items.length} listed` : `${total} ${total === 1 ? "match" : "matches"}`;
  tell("search-msg", shown, "");
  $("search-results-title").textContent = `Matches for “${q}”`;
  fillList($("search-results"), doc.items.map((item) => itemLine(item, null, null,
    (it) => selectItem(it.key, { focusList: false }))));
  wrap.hidden = false;
  selectItem(doc.items[0].key);
}

// ------------------------------------------------------------------ neighbours

function minCount() {
  if (!hasCounts()) return null;
  const text = $("min-count").value.trim();
  const value = Number(text);
  return text !== "" && Number.isInteger(value) && value >= 0 ? value : null;
}

function minCountQuery(first) {
  const value = minCount();
  return value === null ? "" : `${first ? "?" : "&"}min_count=${value}`;
}

function metric() { return $("metric").value || "cosine"; }

let neighbourSeq = 0;

// Show the neighbours of one item. source "map": focus stays on the map and, on a
// phone, the list scrolls into view. focusList: focus the new list (Enter on a
// neighbour keeps the focus in the list).
async function selectItem(key, opts) {
  const options = opts || {};
  const mine = ++neighbourSeq;
  const list = $("neighbours");
  const focusInList = options.focusList !== undefined ? options.focusList : list.contains(document.activeElement);
  const k = Number($("k").value) || 10;
  const url = `/api/items/${encodeURIComponent(key)}/neighbours?k=${k}&metric=${metric()}${minCountQuery(false)}`;
  let doc;
  try {
    doc = await api(url);
  } catch (err) {
    if (mine !== neighbourSeq) return;
    neighbourError(err, key);
    return;
  }
  if (mine !== neighbourSeq) return;
  tell("neighbour-msg", "");
  const query = remember(doc.query[0]);
  const used = doc.metric || "cosine";
  state.selected = query;
  state.neighbours = doc.neighbours.map(remember);
  $("neighbours-title").textContent = `Neighbours of ${itemName(query)}`;
  $("neighbours-hint").textContent = itemDetails(query);
  const like = $("like-selected");
  like.hidden = !(implicit() && hasModel());
  like.dataset.key = String(query.key);
  like.setAttribute("aria-label", `I like this: ${itemName(query)}`);
  syncLikes();
  fillList(list, doc.neighbours.map((n) => itemLine(n, measureText(n, used))));
  list.dataset.query = String(query.key);
  list.dataset.metric = used;
  $("search").value = itemName(query);
  for (const li of $("search-results").children) {
    const on = li.dataset.key === String(query.key);
    li.classList.toggle("current", on);
    if (on) li.setAttribute("aria-current", "true");
    else li.removeAttribute("aria-current");
  }
  const by = used === "euclidean" ? "Euclidean distance" : "cosine similarity";
  const none = doc.neighbours.length ? "" : `; none left with at least ${minCount()} ${hasModel() ? countWord() : "count"}, lower the filter`;
  if (!doc.neighbours.length) tell("neighbour-msg", `No neighbours shown${none}.`, "empty");
  announce(`${doc.neighbours.length} neighbours of ${itemName(query)}, by ${by}${none}`);
  if (focusInList) {
    const first = list.querySelector("button");
    if (first) first.focus();
    else $("neighbours-title").focus();
  }
  if (options.source === "map" && window.matchMedia(NARROW).matches) {
    $("neighbours-title").scrollIntoView({ block: "start" });
  }
  requestDraw();
  saveUrl();
}

function neighbourError(err, key) {
  const msg = $("neighbour-msg");
  tell("neighbour-msg", err.message, "error");
  const suggestions = err.body && Array.isArray(err.body.suggestions) ? err.body.suggestions : [];
  if (suggestions.length) {
    msg.append(" Did you mean: ");
    suggestions.forEach((item, i) => {
      const b = el("button", { type: "button", className: "link" }, itemName(item));
      b.addEventListener("click", () => selectItem(item.key));
      msg.append(b, i < suggestions.length - 1 ? ", " : "?");
    });
  }
  announce(`No neighbours for ${key}: ${err.message}`);
}

// An item by its ID (the neighbours endpoint with k=1 names the query item).
async function lookupItem(key) {
  const doc = await api(`/api/items/${encodeURIComponent(key)}/neighbours?k=1${hasCounts() ? "&min_count=0" : ""}`);
  return remember(doc.query[0]);
}

// ------------------------------------------------------------------ map: data

let mapSeq = 0;

function projection() { return $("projection").value || (state.info && state.info.map_method) || ""; }

async function fetchMap() {
  const mine = ++mapSeq;
  const canvas = $("map");
  canvas.dataset.state = "loading";
  let delay = 0.5;
  for (;;) {
    const method = projection();
    const query = [method ? `method=${encodeURIComponent(method)}` : "", minCountQuery(true).replace("?", "")]
      .filter(Boolean).join("&");
    let answer;
    try {
      answer = await request("/api/map" + (query ? "?" + query : ""));
    } catch (err) {
      if (mine === mapSeq) mapFailed(err.message);
      return;
    }
    if (mine !== mapSeq) return;
    if (answer.status === 202) {
      mapComputing(answer.body || {});
      const retry = Number(answer.response.headers.get("Retry-After")) || 0;
      const wait = Math.min(Math.max(delay, retry > 0 ? Math.min(retry, 2) : 0), 5);
      delay = Math.min(delay * 1.5, 4);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      if (mine !== mapSeq) return;
      continue;
    }
    if (answer.status !== 200) {
      mapFailed(describeError(answer.body, answer.status));
      return;
    }
    try {
      await mapReady(answer.body, mine);
    } catch (err) {
      if (mine === mapSeq) mapFailed(err.message);
    }
    return;
  }
}

function mapComputing(body) {
  const canvas = $("map");
  canvas.dataset.state = "computing";
  const name = METHOD_NAMES[body.method] || body.method || "";
  const progress = $("map-progress");
  const done = typeof body.progress === "number" ? body.progress : null;
  if (done === null) progress.removeAttribute("value");
  else progress.value = done;
  progress.hidden = false;
  const pct = done === null ? "" : ` ${Math.round(done * 100)}%`;
  const seconds = body.elapsed_s ? ` (${Math.round(body.elapsed_s)} s so far)` : "";
  $("map-hint").textContent = `Computing the ${name} map…${pct}${seconds} It appears here once ready; the rest of the page works meanwhile.`;
}

function mapFailed(message) {
  const canvas = $("map");
  canvas.dataset.state = "error";
  $("map-progress").hidden = true;
  $("map-hint").textContent = `The map is not available: ${message}. Try another projection, or reload the page.`;
}

async function mapReady(body, mine) {
  const started = performance.now();
  let layout;
  if (body.points_url) {
    const res = await fetch(body.points_url);
    if (!res.ok) throw new Error(`the map's points could not be loaded (${res.status}); reload the page`);
    const buffer = await res.arrayBuffer();
    if (mine !== mapSeq) return;
    const n = new DataView(buffer).getUint32(0, true);
    layout = {
      n,
      xs: new Float32Array(buffer, 4, n),
      ys: new Float32Array(buffer, 4 + 4 * n, n),
      rows: new Uint32Array(buffer, 4 + 8 * n, n),
      legacy: false,
    };
  } else {
    layout = legacyLayout(body.points || []);
  }
  Object.assign(layout, {
    method: body.method,
    nShown: body.n,
    nTotal: body.n_total,
    minCount: body.min_count,
    labelled: body.labelled || layout.labelled || [],
  });
  let maxRow = state.info ? state.info.n_items - 1 : 0;
  for (let i = 0; i < layout.n; i += 1) if (layout.rows[i] > maxRow) maxRow = layout.rows[i];
  const index = new Int32Array(maxRow + 1).fill(-1);
  for (let i = 0; i < layout.n; i += 1) index[layout.rows[i]] = i;
  layout.index = index;
  buildGrid(layout);
  state.map = layout;
  if (layout.legacy && !state.colour && $("colour").value) await loadColours();
  const canvas = $("map");
  $("map-progress").hidden = true;
  const name = METHOD_NAMES[layout.method] || layout.method;
  const filtered = hasCounts() && layout.nTotal && layout.nShown < layout.nTotal
    ? ` of ${layout.nTotal.toLocaleString("en")} (those with at least ${layout.minCount} ${hasModel() ? countWord() : "count"})` : "";
  $("map-hint").textContent = `${layout.n.toLocaleString("en")} ${nouns()}${filtered}, laid out by ${name}; nearby points have similar embeddings.`;
  canvas.dataset.method = layout.method || "";
  drawNow();
  // fetch, parse, index and first draw, in ms (for benchmarks)
  canvas.dataset.loadMs = String(Math.round(performance.now() - started));
  canvas.dataset.state = "ready";
}

// The map of an older server: a JSON list of points with keys (no rows).
function legacyLayout(points) {
  const n = points.length;
  const layout = { n, xs: new Float32Array(n), ys: new Float32Array(n), rows: new Uint32Array(n), legacy: true, genres: [] };
  state.keyRows.clear();
  const ranked = [];
  points.forEach((p, i) => {
    layout.xs[i] = p.x;
    layout.ys[i] = p.y;
    layout.rows[i] = i;
    layout.genres.push(p.genre || null);
    state.keyRows.set(String(p.key), i);
    state.rowItems.set(i, { row: i, key: p.key, label: p.label, genres: p.genre ? [p.genre] : [], n_ratings: p.n_ratings, year: null, meta: {} });
    ranked.push([p.n_ratings || 0, i]);
  });
  ranked.sort((a, b) => b[0] - a[0]);
  layout.labelled = ranked.slice(0, 30).map(([, i]) => ({ row: i, label: points[i].label || String(points[i].key), x: points[i].x, y: points[i].y }));
  return layout;
}

// A grid over [-1, 1]^2, built once per layout: cell start offsets and point ids.
function buildGrid(layout) {
  const g = Math.max(8, Math.min(1024, Math.ceil(Math.sqrt(layout.n / 3))));
  const cells = new Uint32Array(g * g + 1);
  const cellOf = new Uint32Array(layout.n);
  for (let i = 0; i < layout.n; i += 1) {
    const cx = Math.min(g - 1, Math.max(0, Math.floor((layout.xs[i] + 1) * 0.5 * g)));
    const cy = Math.min(g - 1, Math.max(0, Math.floor((layout.ys[i] + 1) * 0.5 * g)));
    const c = cy * g + cx;
    cellOf[i] = c;
    cells[c + 1] += 1;
  }
  for (let c = 0; c < g * g; c += 1) cells[c + 1] += cells[c];
  const fill = cells.slice(0, g * g);
  const ids = new Uint32Array(layout.n);
  for (let i = 0; i < layout.n; i += 1) ids[fill[cellOf[i]]++] = i;
  layout.grid = { g, cells, ids };
}

// The layout point nearest to data (x, y) within r (data units), or -1.
function nearestIndex(x, y, r) {
  const layout = state.map;
  if (!layout || !layout.n) return -1;
  const { g, cells, ids } = layout.grid;
  const lo = (v) => Math.max(0, Math.floor((v - r + 1) * 0.5 * g));
  const hi = (v) => Math.min(g - 1, Math.floor((v + r + 1) * 0.5 * g));
  let best = -1;
  let bestD = r * r;
  for (let cy = lo(y); cy <= hi(y); cy += 1) {
    for (let cx = lo(x); cx <= hi(x); cx += 1) {
      const c = cy * g + cx;
      for (let j = cells[c]; j < cells[c + 1]; j += 1) {
        const i = ids[j];
        if (visibility(layout.rows[i]) === 0) continue;
        const dx = layout.xs[i] - x;
        const dy = layout.ys[i] - y;
        const d = dx * dx + dy * dy;
        if (d <= bestD) { best = i; bestD = d; }
      }
    }
  }
  return best;
}

// ------------------------------------------------------------------ map: colours

function decode64(text, Kind) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return new Kind(bytes.buffer, 0, Math.floor(bytes.length / Kind.BYTES_PER_ELEMENT));
}

function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// A colour as a little-endian RGBA pixel (ImageData's byte order on every usual CPU).
function pixel(rgb, fade) {
  const f = fade || 0;
  const [r, g, b] = rgb.map((c) => Math.round(c + (255 - c) * f));
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

const VIRIDIS_RGB = VIRIDIS.map(hexToRgb);
function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS_RGB.length - 1);
  const i = Math.min(VIRIDIS_RGB.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS_RGB[i].map((c, j) => Math.round(c + (VIRIDIS_RGB[i + 1][j] - c) * f));
}

function columnInfo(name) {
  const columns = (state.info && state.info.columns) || [];
  return columns.find((c) => c.name === name) || null;
}

let colourSeq = 0;

async function loadColours() {
  const mine = ++colourSeq;
  const column = $("colour").value;
  state.legendOn.clear();
  if (!column) {
    state.colour = null;
  } else if (has("/api/colours")) {
    try {
      const doc = await api(`/api/colours?column=${encodeURIComponent(column)}`);
      if (mine !== colourSeq) return;
      state.colour = parseColours(doc);
    } catch (err) {
      if (mine !== colourSeq) return;
      state.colour = null;
      $("legend-title").textContent = `Colours not available: ${err.message}.`;
    }
  } else if (state.map && state.map.legacy) {
    state.colour = legacyColours(state.map.genres);
  } else {
    state.colour = null;
  }
  if (mine !== colourSeq) return;
  if (state.pendingOnly && state.colour && state.colour.kind === "categorical") {
    state.pendingOnly.forEach((value) => {
      const j = value === "(other)" ? -1 : state.colour.levels.findIndex((l) => l.value === value);
      if (value === "(other)" || j >= 0) state.legendOn.add(j);
    });
  }
  state.pendingOnly = null;
  buildLut();
  renderLegend();
  requestDraw();
}

function parseColours(doc) {
  if (doc.kind === "numeric") {
    return {
      column: doc.column, kind: "numeric", min: doc.min, max: doc.max,
      values: decode64(doc.values, Float32Array),
      log: doc.column === "n_ratings" && doc.min >= 0 && doc.max > 100,
    };
  }
  return {
    column: doc.column, kind: "categorical", multi: !!doc.multi, levels: doc.levels || [],
    codes: decode64(doc.codes, Uint16Array),
    members: doc.members ? decode64(doc.members, Uint32Array) : null,
  };
}

// Colours from an older server's map: each point's first genre.
function legacyColours(genres) {
  const counts = new Map();
  for (const g of genres) if (g) counts.set(g, (counts.get(g) || 0) + 1);
  const levels = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 19)
    .map(([value, count]) => ({ value, count }));
  const where = new Map(levels.map((l, i) => [l.value, i]));
  const codes = new Uint16Array(genres.length).fill(MISSING_CODE);
  genres.forEach((g, i) => { if (where.has(g)) codes[i] = where.get(g); });
  return { column: "genres", kind: "categorical", multi: false, levels, codes, members: null };
}

// Per-row pixel colours (full and faded), recomputed when the colours or the legend
// filter change; drawing then reads one array per point.
function buildLut() {
  const c = state.colour;
  const n = state.map ? state.map.index.length : (state.info ? state.info.n_items : 0);
  const full = new Uint32Array(n);
  const faded = new Uint32Array(n);
  const plain = hexToRgb(PLAIN);
  if (!c) {
    full.fill(pixel(plain));
    faded.fill(pixel(plain, 0.85));
  } else if (c.kind === "numeric") {
    const span = c.max - c.min || 1;
    const scale = c.log ? Math.log1p(span) : span;
    const grey = hexToRgb(OTHER);
    for (let r = 0; r < n; r += 1) {
      const v = c.values[r];
      let rgb = grey;
      if (Number.isFinite(v)) rgb = viridis(c.log ? Math.log1p(Math.max(0, v - c.min)) / scale : (v - c.min) / span);
      full[r] = pixel(rgb);
      faded[r] = pixel(rgb, 0.85);
    }
  } else {
    const rgbs = c.levels.map((_, i) => hexToRgb(PALETTE[i % PALETTE.length]));
    const fullLevel = rgbs.map((rgb) => pixel(rgb));
    const fadedLevel = rgbs.map((rgb) => pixel(rgb, 0.85));
    const grey = hexToRgb(OTHER);
    const greyFull = pixel(grey);
    const greyFaded = pixel(grey, 0.85);
    // With a legend filter on a multi column, a row takes the colour of the first
    // selected level it has (so every Sci-Fi item looks Sci-Fi).
    const chosen = [...state.legendOn].filter((j) => j >= 0).sort((a, b) => a - b);
    for (let r = 0; r < n && r < c.codes.length; r += 1) {
      let code = c.codes[r];
      if (c.multi && c.members && chosen.length) {
        const m = c.members[r];
        for (const j of chosen) if (m & (1 << j)) { code = j; break; }
      }
      if (code === MISSING_CODE || code >= c.levels.length) {
        full[r] = greyFull;
        faded[r] = greyFaded;
      } else {
        full[r] = fullLevel[code];
        faded[r] = fadedLevel[code];
      }
    }
  }
  state.lut = { full, faded };
}

// Whether row r passes the legend filter.
function inLegend(r) {
  const c = state.colour;
  if (!c || c.kind !== "categorical" || !state.legendOn.size) return true;
  const code = c.codes[r];
  const missing = code === MISSING_CODE || code >= c.levels.length;
  if (state.legendOn.has(-1) && missing) return true;
  if (c.multi && c.members) {
    const m = c.members[r];
    for (const j of state.legendOn) if (j >= 0 && m & (1 << j)) return true;
    return false;
  }
  return state.legendOn.has(code);
}

let highlighted = new Set();

// 2: drawn in full, 1: faded (filtered out or outside the isolated selection).
function visibility(r) {
  if ($("isolate").checked && highlighted.size && !highlighted.has(r)) return 1;
  return inLegend(r) ? 2 : 1;
}

function renderLegend() {
  const legend = $("legend");
  const bar = $("colourbar");
  legend.replaceChildren();
  bar.hidden = true;
  const c = state.colour;
  const title = $("legend-title");
  if (!c) {
    if (!$("colour").value) title.textContent = "Every point in one colour; pick a column to colour by.";
    return;
  }
  if (c.kind === "numeric") {
    title.textContent = `Colour: ${c.column}${c.log ? " (log scale)" : ""}; grey: missing.`;
    const stops = VIRIDIS.map((hex, i) => `${hex} ${Math.round((i / (VIRIDIS.length - 1)) * 100)}%`);
    $("colourbar-ramp").style.backgroundImage = `linear-gradient(to right, ${stops.join(", ")})`;
    $("colourbar-min").textContent = formatValue(c.min);
    $("colourbar-max").textContent = formatValue(c.max);
    bar.hidden = false;
    return;
  }
  const multi = c.multi ? "; an item with several takes its rarest one's colour" : "";
  title.textContent = `Colour: ${c.column}${multi}. Click an entry to show only those ${nouns()}.`;
  const entries = c.levels.map((level, j) => [j, level.value, level.count, PALETTE[j % PALETTE.length]]);
  entries.push([-1, "other or missing", null, OTHER]);
  for (const [j, value, count, colour] of entries) {
    const swatch = el("span", { className: "swatch" });
    swatch.style.backgroundColor = colour;
    const button = el("button", { type: "button" }, swatch, value,
      count !== null ? el("span", { className: "count" }, String(count)) : null);
    button.setAttribute("aria-pressed", state.legendOn.has(j) ? "true" : "false");
    button.dataset.level = String(j);
    button.addEventListener("click", () => toggleLevel(j, value));
    legend.append(el("li", {}, button));
  }
  if (state.legendOn.size) {
    const all = el("button", { type: "button", id: "legend-all" }, "Show all");
    all.addEventListener("click", () => {
      state.legendOn.clear();
      buildLut();
      renderLegend();
      requestDraw();
      announce(`Showing every ${noun()}`);
      $("legend").querySelector("button").focus();
      saveUrl();
    });
    legend.append(el("li", {}, all));
  }
}

function toggleLevel(j, value) {
  if (state.legendOn.has(j)) state.legendOn.delete(j);
  else state.legendOn.add(j);
  buildLut();
  renderLegend();
  const button = $("legend").querySelector(`button[data-level="${j}"]`);
  if (button) button.focus();
  let shown = 0;
  const layout = state.map;
  if (layout) for (let i = 0; i < layout.n; i += 1) if (inLegend(layout.rows[i])) shown += 1;
  $("map").dataset.shown = String(shown);
  announce(state.legendOn.size ? `${value}: ${shown} ${nouns()} shown on the map` : `Showing every ${noun()}`);
  requestDraw();
  saveUrl();
}

function formatValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "missing";
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

function colourValueText(r) {
  const c = state.colour;
  if (!c) return "";
  if (c.kind === "numeric") return `${c.column}: ${formatValue(c.values[r])}`;
  if (c.multi && c.members) {
    const m = c.members[r];
    const names = c.levels.filter((_, j) => m & (1 << j)).map((l) => l.value);
    return `${c.column}: ${names.length ? names.join(", ") : "other"}`;
  }
  const code = c.codes[r];
  return `${c.column}: ${code < c.levels.length ? c.levels[code].value : "other or missing"}`;
}

// ------------------------------------------------------------------ map: drawing

function geometry() {
  const canvas = $("map");
  const rect = canvas.getBoundingClientRect();
  const css = Math.max(rect.width, 50);
  const ratio = window.devicePixelRatio || 1;
  const pad = 14;
  const s = (css / 2 - pad) * state.view.zoom;
  return { css, ratio, s, ox: css / 2 - state.view.cx * s, oy: css / 2 + state.view.cy * s };
}

function toScreen(x, y, geo) { return [geo.ox + x * geo.s, geo.oy - y * geo.s]; }
function toData(sx, sy, geo) { return [(sx - geo.ox) / geo.s, (geo.oy - sy) / geo.s]; }

let drawPending = false;
function requestDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; drawNow(); });
}

function drawNow() {
  const canvas = $("map");
  const layout = state.map;
  if (!layout || canvas.getBoundingClientRect().width < 20) return; // not laid out yet
  if (!state.lut || state.lut.full.length < layout.index.length) buildLut();
  const geo = geometry();
  const size = Math.round(geo.css * geo.ratio);
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  const image = ctx.createImageData(size, size);
  const buf = new Uint32Array(image.data.buffer);
  buf.fill(0xffffffff);
  highlighted = new Set();
  if (state.selected) {
    const r = rowOf(state.selected);
    if (r !== null) highlighted.add(r);
    for (const n of state.neighbours) {
      const nr = rowOf(n);
      if (nr !== null) highlighted.add(nr);
    }
  }
  const dot = Math.max(1, Math.round((layout.n > 200000 ? 1 : layout.n > 20000 ? 2 : layout.n > 2000 ? 4 : 6) * geo.ratio * Math.min(2, Math.sqrt(state.view.zoom))));
  const half = dot >> 1;
  const s = geo.s * geo.ratio;
  const ox = geo.ox * geo.ratio;
  const oy = geo.oy * geo.ratio;
  const { full, faded } = state.lut;
  const isolate = $("isolate").checked && highlighted.size > 0;
  const filtering = state.colour && state.colour.kind === "categorical" && state.legendOn.size > 0;
  const started = performance.now();
  let drawn = 0;
  const round = layout.n <= 5000; // few points: round dots drawn as paths below
  // two passes: faded points under full ones
  for (let pass = isolate || filtering ? 1 : 2; pass <= 2; pass += 1) {
    for (let i = 0; i < layout.n; i += 1) {
      const r = layout.rows[i];
      let v = 2;
      if (isolate && !highlighted.has(r)) v = 1;
      else if (filtering && !inLegend(r)) v = 1;
      if (v !== pass) continue;
      const px = Math.round(ox + layout.xs[i] * s) - half;
      const py = Math.round(oy - layout.ys[i] * s) - half;
      if (px + dot <= 0 || py + dot <= 0 || px >= size || py >= size) continue;
      if (v === 2) drawn += 1;
      if (round) continue;
      const colour = v === 2 ? full[r] : faded[r];
      const x0 = Math.max(0, px);
      const x1 = Math.min(size, px + dot);
      const y1 = Math.min(size, py + dot);
      for (let y = Math.max(0, py); y < y1; y += 1) {
        const base = y * size;
        for (let x = x0; x < x1; x += 1) buf[base + x] = colour;
      }
    }
  }
  ctx.putImageData(image, 0, 0);
  ctx.setTransform(geo.ratio, 0, 0, geo.ratio, 0, 0);
  if (layout.n <= 5000) drawDots(ctx, geo, layout, isolate, filtering);
  drawLabels(ctx, geo, layout);
  drawRings(ctx, geo, layout);
  canvas.dataset.points = String(layout.n);
  canvas.dataset.drawMs = String(Math.round(performance.now() - started));
  canvas.dataset.drawn = String(drawn);
  canvas.dataset.zoom = state.view.zoom.toFixed(3);
  canvas.dataset.highlighted = String(highlighted.size);
  canvas.dataset.selected = state.selected && rowOf(state.selected) !== null ? String(rowOf(state.selected)) : "";
  const what = state.selected ? `; ${itemName(state.selected)} and its neighbours ringed` : "";
  canvas.setAttribute("aria-label", `2-D map of ${layout.n} ${nouns()}${what}`);
}

function cssColour(px) {
  return `rgb(${px & 255}, ${(px >>> 8) & 255}, ${(px >>> 16) & 255})`;
}

// Up to a few thousand points: round dots with a thin outline, faded ones first.
function drawDots(ctx, geo, layout, isolate, filtering) {
  const { full, faded } = state.lut;
  const radius = layout.n > 1000 ? 2.5 : 4;
  for (let pass = 1; pass <= 2; pass += 1) {
    for (let i = 0; i < layout.n; i += 1) {
      const r = layout.rows[i];
      const v = (isolate && !highlighted.has(r)) || (filtering && !inLegend(r)) ? 1 : 2;
      if (v !== pass) continue;
      const [x, y] = toScreen(layout.xs[i], layout.ys[i], geo);
      if (x < -radius || y < -radius || x > geo.css + radius || y > geo.css + radius) continue;
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
      ctx.fillStyle = cssColour(v === 2 ? full[r] : faded[r]);
      ctx.fill();
      if (v === 2) {
        ctx.lineWidth = 0.75;
        ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
        ctx.stroke();
      }
    }
  }
}

function drawRings(ctx, geo, layout) {
  if (!state.selected) return;
  const ring = (item, radius, width, colour) => {
    const r = rowOf(item);
    if (r === null || r >= layout.index.length || layout.index[r] < 0) return null;
    const i = layout.index[r];
    const [x, y] = toScreen(layout.xs[i], layout.ys[i], geo);
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.lineWidth = width + 2;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    ctx.stroke();
    return [x, y];
  };
  for (const n of state.neighbours) ring(n, 7, 2, "#bf5b00");
  const at = ring(state.selected, 10, 3, "#1b1f24");
  if (at) label(ctx, itemName(state.selected), at[0] + 11, at[1] - 8, [], true);
}

function label(ctx, text, x, y, placed, bold) {
  ctx.font = `${bold ? "bold " : ""}12px system-ui, sans-serif`;
  const w = ctx.measureText(text).width;
  const css = ctx.canvas.width / (window.devicePixelRatio || 1);
  if (x + w > css - 2) x = Math.max(2, x - w - 16); // flip to the left near the right edge
  const box = [x - 2, y - 11, x + w + 2, y + 3];
  for (const b of placed) if (box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3]) return false;
  placed.push(box);
  ctx.lineWidth = 3;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
  ctx.strokeText(text, x, y);
  ctx.fillStyle = "#1b1f24";
  ctx.fillText(text, x, y);
  return true;
}

function drawLabels(ctx, geo, layout) {
  const placed = [];
  if (state.selected) {
    const r = rowOf(state.selected);
    if (r !== null && r < layout.index.length && layout.index[r] >= 0) {
      const i = layout.index[r];
      const [x, y] = toScreen(layout.xs[i], layout.ys[i], geo);
      ctx.font = "bold 12px system-ui, sans-serif";
      placed.push([x + 9, y - 19, x + 13 + ctx.measureText(itemName(state.selected)).width, y - 5]);
    }
  }
  let shown = 0;
  const most = Math.round((geo.css / 32) * Math.sqrt(state.view.zoom));
  const selectedRow = state.selected ? rowOf(state.selected) : null;
  for (const p of layout.labelled || []) {
    if (shown >= most) break;
    if (p.row === selectedRow) continue; // labelled in bold by its ring
    if (layout.index[p.row] === undefined || layout.index[p.row] < 0) continue;
    if (visibility(p.row) !== 2) continue;
    const [x, y] = toScreen(p.x, p.y, geo);
    if (x < 0 || y < 0 || x > geo.css || y > geo.css) continue;
    const text = p.label.length > 28 ? p.label.slice(0, 27) + "…" : p.label;
    if (label(ctx, text, x + 5, y - 4, placed, false)) shown += 1;
  }
  $("map").dataset.labels = String(shown);
}

// ------------------------------------------------------------------ map: interaction

function eventPoint(event) {
  const rect = $("map").getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}

function hitAt(sx, sy) {
  const geo = geometry();
  const [x, y] = toData(sx, sy, geo);
  return nearestIndex(x, y, 10 / geo.s);
}

async function itemForRow(row) {
  if (state.rowItems.has(row)) return state.rowItems.get(row);
  // an endpoint that looks an item up by its row, when the server has one
  const path = state.paths ? [...state.paths].find((p) => p.includes("{row}")) : "/api/rows/{row}";
  if (!path) return null;
  try {
    const doc = await api(path.replace("{row}", String(row)));
    return remember(doc.item || (doc.items && doc.items[0]) || doc);
  } catch (err) {
    return null;
  }
}

let tipSeq = 0;
async function showTip(sx, sy) {
  const tip = $("map-tip");
  const i = hitAt(sx, sy);
  const mine = ++tipSeq;
  if (i < 0) { tip.hidden = true; return; }
  const row = state.map.rows[i];
  const fill = (item) => {
    const name = item ? itemName(item) : `${noun()} at row ${row}`;
    const count = item && item.n_ratings !== null && item.n_ratings !== undefined ? item.n_ratings
      : state.counts && Number.isFinite(state.counts[row]) ? state.counts[row] : null;
    const value = colourValueText(row);
    const parts = [el("strong", {}, name)];
    if (value) parts.push(el("span", {}, value));
    if (count !== null && hasCounts()) parts.push(el("span", {}, (value ? " · " : "") + countText(count)));
    tip.replaceChildren(...parts);
  };
  fill(state.rowItems.get(row) || null);
  const wrap = $("map-wrap").getBoundingClientRect();
  tip.hidden = false;
  const left = Math.min(sx + 12, wrap.width - tip.offsetWidth - 4);
  tip.style.left = `${Math.max(0, left)}px`;
  tip.style.top = `${sy + 14}px`;
  if (!state.rowItems.has(row)) {
    await new Promise((resolve) => setTimeout(resolve, 120)); // only once the pointer rests
    if (mine !== tipSeq) return;
    const item = await itemForRow(row);
    if (mine === tipSeq && item) fill(item);
  }
}

async function selectRow(i) {
  const row = state.map.rows[i];
  const item = await itemForRow(row);
  if (!item) {
    tell("neighbour-msg", `This point (row ${row}) cannot be looked up on this server; search for it by title or ID.`, "error");
    return;
  }
  selectItem(item.key, { source: "map", focusList: false });
}

function zoomBy(factor, sx, sy) {
  const geo = geometry();
  const at = sx === undefined ? [geo.css / 2, geo.css / 2] : [sx, sy];
  const before = toData(at[0], at[1], geo);
  state.view.zoom = Math.min(200, Math.max(0.5, state.view.zoom * factor));
  const after = toData(at[0], at[1], geometry());
  state.view.cx += before[0] - after[0];
  state.view.cy += before[1] - after[1];
  requestDraw();
  saveUrl();
}

function panBy(dxPixels, dyPixels) {
  const geo = geometry();
  state.view.cx -= dxPixels / geo.s;
  state.view.cy += dyPixels / geo.s;
  requestDraw();
  saveUrl();
}

function wireMap() {
  const canvas = $("map");
  const tip = $("map-tip");
  let down = null;
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    down = { x: event.clientX, y: event.clientY, moved: false, id: event.pointerId };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!state.map) return;
    if (down) {
      const dx = event.clientX - down.x;
      const dy = event.clientY - down.y;
      if (down.moved || Math.abs(dx) + Math.abs(dy) > 4) {
        if (!down.moved) {
          down.moved = true;
          canvas.classList.add("dragging");
          try { canvas.setPointerCapture(down.id); } catch (err) { /* already released */ }
        }
        panBy(dx, dy);
        down.x = event.clientX;
        down.y = event.clientY;
        tip.hidden = true;
        return;
      }
    }
    const [sx, sy] = eventPoint(event);
    showTip(sx, sy);
  });
  canvas.addEventListener("pointerup", (event) => {
    const was = down;
    down = null;
    canvas.classList.remove("dragging");
    if (!was || was.moved || !state.map) return;
    const [sx, sy] = eventPoint(event);
    const i = hitAt(sx, sy);
    if (i >= 0) selectRow(i);
  });
  canvas.addEventListener("pointerleave", () => { tipSeq += 1; tip.hidden = true; });
  canvas.addEventListener("wheel", (event) => {
    if (!state.map) return;
    event.preventDefault();
    const [sx, sy] = eventPoint(event);
    zoomBy(Math.exp(-event.deltaY * 0.0015), sx, sy);
  }, { passive: false });
  canvas.addEventListener("keydown", (event) => {
    const step = 40;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[event.key]) {
      event.preventDefault();
      panBy(...moves[event.key]);
    } else if (event.key === "+" || event.key === "=") {
      event.preventDefault();
      zoomBy(1.25);
    } else if (event.key === "-" || event.key === "_") {
      event.preventDefault();
      zoomBy(0.8);
    } else if (event.key === "0") {
      resetView();
    } else if (event.key === "Enter" && state.map) {
      // the point nearest the middle of the view (pan onto it with the arrow keys)
      event.preventDefault();
      const geo = geometry();
      const i = hitAt(geo.css / 2, geo.css / 2) >= 0 ? hitAt(geo.css / 2, geo.css / 2) : nearestIndex(state.view.cx, state.view.cy, 4);
      if (i >= 0) selectRow(i);
    }
  });
  $("zoom-in").addEventListener("click", () => zoomBy(1.25));
  $("zoom-out").addEventListener("click", () => zoomBy(0.8));
  $("zoom-reset").addEventListener("click", resetView);
  // redraw whenever the canvas changes size (window, scroll bar, layout)
  let drawnWidth = 0;
  new ResizeObserver((entries) => {
    const width = Math.round(entries[entries.length - 1].contentRect.width);
    if (width > 0 && width !== drawnWidth) {
      drawnWidth = width;
      requestDraw();
    }
  }).observe(canvas);
}

function resetView() {
  state.view = { zoom: 1, cx: 0, cy: 0 };
  requestDraw();
  saveUrl();
}

// For tests and bookmarklets: where a row is drawn, in CSS pixels of the canvas.
window.embedlabMap = {
  screenOf(row) {
    const layout = state.map;
    if (!layout || row >= layout.index.length || layout.index[row] < 0) return null;
    const i = layout.index[row];
    return toScreen(layout.xs[i], layout.ys[i], geometry());
  },
  rows() { return state.map ? Array.from(state.map.rows) : []; },
  rowOfKey(key) { return state.keyRows.has(String(key)) ? state.keyRows.get(String(key)) : null; },
};

// ------------------------------------------------------------------ ratings

function ratingScale() {
  return (state.info && state.info.rating_scale) || [1, 5];
}

// What the visitor's entries are called: "ratings", or for an implicit model "items"
// (each one an interaction).
function visitorWhat() { return implicit() ? nouns() : "ratings"; }

function weightText(w) {
  return Number.isInteger(w) ? String(w) : String(Number(w.toPrecision(4)));
}

function ratingSelect(value, labelText) {
  const scale = ratingScale();
  const select = el("select", {});
  for (let v = Math.floor(scale[1]); v >= Math.ceil(scale[0]); v -= 1) {
    select.append(el("option", { value: String(v) }, String(v)));
  }
  select.value = String(value);
  select.setAttribute("aria-label", labelText);
  return select;
}

// "I like this": a toggle beside each item of an implicit model (a click = weight 1).
function likeButton(item) {
  if (!implicit() || !hasModel()) return null;
  const name = itemName(item);
  const button = el("button", { type: "button", className: "like" }, "I like this");
  button.dataset.key = String(item.key);
  button.setAttribute("aria-label", `I like this: ${name}`);
  button.setAttribute("aria-pressed", state.rated.has(String(item.key)) ? "true" : "false");
  button.addEventListener("click", () => toggleLike(item));
  return button;
}

function toggleLike(item) {
  const key = String(item.key);
  if (state.rated.has(key)) removeRating(key);
  else addRating(item);
}

function syncLikes() {
  for (const button of document.querySelectorAll("button.like")) {
    const key = button.dataset.key;
    button.setAttribute("aria-pressed", key !== undefined && state.rated.has(key) ? "true" : "false");
  }
}

function removeRating(key) {
  const entry = state.rated.get(key);
  if (!entry) return;
  const name = itemName(entry.item);
  state.rated.delete(key);
  renderRated();
  tell("rate-msg", `${name} removed from your ${visitorWhat()}.`, "success");
  ratingsChanged();
}

function renderRated() {
  const list = $("rated");
  list.replaceChildren();
  for (const [key, entry] of state.rated) {
    const name = itemName(entry.item);
    let value;
    if (implicit()) {
      value = entry.rating === 1 ? null : el("span", { className: "score" }, `weight ${weightText(entry.rating)}`);
    } else {
      value = ratingSelect(entry.rating, `Your rating of ${name}`);
      value.addEventListener("change", () => {
        entry.rating = Number(value.value);
        tell("rate-msg", `${name}: now rated ${entry.rating}.`, "success");
        ratingsChanged();
      });
    }
    const remove = el("button", { type: "button" }, "Remove");
    remove.setAttribute("aria-label", implicit() ? `Remove ${name} from your ${nouns()}` : `Remove your rating of ${name}`);
    remove.addEventListener("click", () => {
      const keys = [...state.rated.keys()];
      const at = keys.indexOf(key);
      removeRating(key);
      const buttons = list.querySelectorAll("li button");
      const next = buttons[Math.min(at, buttons.length - 1)];
      (next || $("rate-search")).focus();
    });
    const li = el("li", {}, el("span", {}, name, el("span", { className: "meta" }, " " + itemDetails(entry.item))), value, remove);
    li.dataset.key = key;
    list.append(li);
  }
  list.dataset.count = String(state.rated.size);
  $("recommend").disabled = state.rated.size === 0;
  syncLikes();
}

function addRating(item) {
  const limit = state.info && state.info.limits ? state.info.limits.max_ratings : 100;
  const key = String(item.key);
  if (!state.rated.has(key) && state.rated.size >= limit) {
    const what = implicit() ? `add at most ${limit} ${nouns()}` : `rate at most ${limit} ${nouns()}`;
    tell("rate-msg", `You can ${what}; remove one first.`, "error");
    return;
  }
  $("rate-search").value = "";
  if (implicit()) {
    if (state.rated.has(key)) {
      tell("rate-msg", `${itemName(item)} is already among your ${nouns()}.`, "success");
      return;
    }
    state.rated.set(key, { item, rating: 1 });
    renderRated();
    tell("rate-msg", `${itemName(item)} added to your ${nouns()}; recommendations update below.`, "success");
    ratingsChanged();
    return;
  }
  const rating = Number($("rate-value").value);
  const again = state.rated.has(key);
  state.rated.set(key, { item, rating });
  renderRated();
  tell("rate-msg", `${itemName(item)} ${again ? "now" : ""} rated ${rating}; recommendations update below.`.replace("  ", " "), "success");
  ratingsChanged();
}

// The rating box's Enter (or, for an implicit model, its Add button): the highlighted
// suggestion, else the best match of the text.
async function addTyped(q, options) {
  if (options && options.length) { addRating(options[0].value); return; }
  const verb = implicit() ? "add" : "rate";
  if (!q) { tell("rate-msg", `Type a title or ID to ${verb} ${article(noun())} ${noun()}.`, "empty"); return; }
  try {
    const doc = await api(`/api/search?q=${encodeURIComponent(q)}&n=1`);
    if (doc.items.length) addRating(doc.items[0]);
    else tell("rate-msg", `No match for “${q}”: try part of the title or an ID.`, "empty");
  } catch (err) {
    tell("rate-msg", err.message, "error");
  }
}

let recommendTimer = null;
function ratingsChanged() {
  saveUrl();
  clearTimeout(recommendTimer);
  recommendTimer = setTimeout(recommend, 250);
}

// "predicted rating 4.2 (1–5)", or for an implicit model "preference score 0.245" (no
// scale: the score only ranks items).
function scoreText(item, scale, labelText) {
  if (implicit()) return `${labelText} ${numberText(item.score, 3)}`;
  return `${labelText} ${numberText(item.score, 1)}${scaleText(scale)}`;
}

function recommendationLine(item, scale, labelText) {
  const because = item.because && item.because.length
    ? el("span", { className: "because" }, "because you liked " + item.because.join(" and ")) : null;
  return itemLine(item, scoreText(item, scale, labelText), because);
}

function defaultScoreLabel() {
  return (state.info && state.info.score_label) || "predicted rating";
}

function noRatingsText() {
  return implicit()
    ? `Add ${article(noun())} ${noun()} you like to get recommendations.`
    : "Rate an item to get recommendations.";
}

let recommendSeq = 0;
async function recommend() {
  clearTimeout(recommendTimer);
  const mine = ++recommendSeq;
  const list = $("recommendations");
  if (!state.rated.size) {
    fillList(list, []);
    tell("rec-msg", noRatingsText(), "");
    return;
  }
  const ratings = [...state.rated.values()].map((e) => ({ item: e.item.key, rating: e.rating }));
  tell("rec-msg", "Updating…", "");
  list.setAttribute("aria-busy", "true");
  try {
    const doc = await postJSON("/api/recommendations", { ratings, n: 10, explain: true, min_count: minCount() });
    if (mine !== recommendSeq) return;
    const scale = implicit() ? null : doc.rating_scale || ratingScale();
    const labelText = doc.score_label || defaultScoreLabel();
    // focus stays in the list when the user acted there (an "I like this" removes the line)
    const focused = [...list.querySelectorAll("li")].findIndex((li) => li.contains(document.activeElement));
    fillList(list, doc.items.map((r) => recommendationLine(r, scale, labelText)));
    if (focused >= 0) {
      const lines = list.querySelectorAll("li");
      const line = lines[Math.min(focused, lines.length - 1)];
      const target = line ? line.querySelector("button.like") || line.querySelector("button") : null;
      (target || $("rate-search")).focus();
    }
    list.dataset.ratings = String(ratings.length);
    const n = ratings.length;
    const from = implicit()
      ? `from your ${n} interaction${n === 1 ? "" : "s"}`
      : `for your ${n} rating${n === 1 ? "" : "s"}`;
    if (!doc.items.length) tell("rec-msg", `No ${nouns()} left to recommend; lower the minimum count.`, "empty");
    else tell("rec-msg", `${doc.items.length} ${nouns()} ${from}.`, "");
    announce(`${doc.items.length} recommendations updated`);
  } catch (err) {
    if (mine !== recommendSeq) return;
    tell("rec-msg", `No recommendations: ${err.message}.`, "error");
  } finally {
    if (mine === recommendSeq) list.removeAttribute("aria-busy");
  }
}

// ------------------------------------------------------------------ training users

async function findUsers(q) {
  if (!has("/api/users")) return [];
  const doc = await api(`/api/users?q=${encodeURIComponent(q)}&n=20`);
  return doc.users.map((u) => ({
    text: `user ${u.id}`,
    detail: implicit() ? `${u.n_ratings} interactions` : `${u.n_ratings} ratings, mean ${numberText(u.mean_rating, 2)}`,
    key: u.id,
    value: u,
  }));
}

let userSeq = 0;
async function showUser(id) {
  const mine = ++userSeq;
  state.user = id;
  $("user-search").value = String(id);
  tell("user-msg", "Loading…", "");
  const enc = encodeURIComponent(id);
  const history = has("/api/users/{user}/history")
    ? api(`/api/users/${enc}/history?n=20`) : Promise.resolve(null);
  const recs = api(`/api/users/${enc}/recommendations?n=10&explain=true${minCountQuery(false)}`);
  try {
    const [hist, doc] = await Promise.all([history, recs]);
    if (mine !== userSeq) return;
    const scale = implicit() ? null : doc.rating_scale || ratingScale();
    const labelText = doc.score_label || defaultScoreLabel();
    if (hist && implicit()) {
      $("user-history-title").textContent = `Interactions of user ${id} (${hist.n_ratings})`;
      fillList($("user-history"), hist.items.map((it) => itemLine(it, `weight ${weightText(it.rating)}`)));
    } else if (hist) {
      $("user-history-title").textContent = `Rated by user ${id} (${hist.n_ratings}, mean ${numberText(hist.mean_rating, 2)})`;
      fillList($("user-history"), hist.items.map((it) => itemLine(it, `rated ${it.rating}`)));
    } else {
      $("user-history-title").textContent = `${implicit() ? "Interactions" : "Rated"} (not available on this server)`;
      fillList($("user-history"), []);
    }
    $("user-recs-title").textContent = `Recommended for user ${id}`;
    fillList($("user-recs"), doc.items.map((r) => userLine(r, scale, labelText)));
    $("user-recs").dataset.user = String(id);
    tell("user-msg", `User ${id}: ${hist ? `${hist.items.length} of their ${countWord()} and ` : ""}${doc.items.length} recommendations.`, "success");
    announce(`User ${id}: ${doc.items.length} recommendations`);
    saveUrl();
  } catch (err) {
    if (mine !== userSeq) return;
    state.user = null;
    fillList($("user-history"), []);
    fillList($("user-recs"), []);
    tell("user-msg", `${err.message}. Pick a user from the suggestions.`, "error");
    saveUrl();
  }
}

// A training user's recommendation: "because they liked", not "you" (for an implicit
// model "because they interacted with": their items are no likes).
function userLine(item, scale, labelText) {
  const why = implicit() ? "because they interacted with " : "because they liked ";
  const because = item.because && item.because.length
    ? el("span", { className: "because" }, why + item.because.join(" and ")) : null;
  return itemLine(item, scoreText(item, scale, labelText), because);
}

// ------------------------------------------------------------------ analogy

async function solveAnalogy(event) {
  event.preventDefault();
  const value = (id) => {
    const text = $(id).value.trim();
    return /^-?\d+$/.test(text) && text.length < 16 ? Number(text) : text;
  };
  try {
    const doc = await postJSON("/api/analogy", {
      positive: [value("analogy-b"), value("analogy-c")], negative: [value("analogy-a")], k: 10,
      min_count: minCount(),
    });
    fillList($("analogy-results"), doc.neighbours.map((n) => itemLine(n, measureText(n, "cosine"))));
    tell("analogy-msg", `${doc.neighbours.length} answers.`, "");
  } catch (err) {
    const hint = err.status === 404 ? " Check the IDs, or search for the item by title first." : "";
    tell("analogy-msg", err.message + hint, "error");
  }
}

// ------------------------------------------------------------------ set-up

function applyInfo(saved) {
  const info = state.info || {};
  const one = noun();
  const titled = info.has_titles !== false;
  const what = titled ? "a title or ID" : "an ID";
  $("find-title").textContent = `Find ${article(one)} ${one}`;
  $("search-label").textContent = titled ? "Title or ID" : "ID";
  $("search").placeholder = one === "movie" ? "e.g. star wars" : titled ? "type a title or ID" : "type an ID or part of one";
  $("neighbours-hint").textContent = `Pick ${article(one)} ${one}, or click a point on the map.`;
  $("rate-title").textContent = implicit() ? `Pick a few ${nouns()} you like` : `Rate a few ${nouns()}`;
  $("rate-label").textContent = capital(one);
  $("rate-search").placeholder = `type ${what}, Enter to add`;
  $("rate-value-wrap").hidden = implicit();
  $("rate-add").hidden = !implicit();
  $("rate-add").setAttribute("aria-label", `Add the ${one} you typed to your ${nouns()}`);
  $("rated").setAttribute("aria-label", implicit() ? `Your ${nouns()}` : "Your ratings");
  tell("rec-msg", noRatingsText(), "");
  $("user-history-title").textContent = implicit() ? "Interactions" : "Rated";
  for (const id of ["suggestions", "rate-suggestions"]) $(id).setAttribute("aria-label", `Matching ${nouns()}`);
  for (const id of ["analogy-a", "analogy-b", "analogy-c"]) $(id).placeholder = what;

  // search columns
  const columns = $("search-column");
  columns.replaceChildren(el("option", { value: "" }, titled ? "title or ID" : "ID"));
  for (const name of info.searchable || []) {
    if (name === "label" && titled) columns.append(el("option", { value: "label" }, "title only"));
    else if (name === "key") columns.append(el("option", { value: "key" }, "ID only"));
    else if (name !== "label") columns.append(el("option", { value: name }, name));
  }
  $("search-column").closest(".control").hidden = !(info.searchable && info.searchable.length);
  // k
  const maxK = info.limits ? info.limits.max_k : 100;
  $("k").replaceChildren(...[5, 10, 20, 50, 100].filter((k) => k <= maxK)
    .map((k) => el("option", { value: String(k) }, `${k} neighbours`)));
  const wantedK = Number(saved.k);
  $("k").value = Number.isInteger(wantedK) && wantedK >= 1 && wantedK <= maxK ? String(wantedK) : "10";
  if (!$("k").value) {
    $("k").append(el("option", { value: String(Number(saved.k)) }, `${Number(saved.k)} neighbours`));
    $("k").value = String(Number(saved.k));
  }
  // metric
  const metrics = info.metrics || ["cosine"];
  $("metric").replaceChildren(...metrics.map((m) => el("option", { value: m },
    m === "cosine" ? "cosine similarity" : m === "euclidean" ? "Euclidean distance" : m)));
  if (saved.metric && metrics.includes(saved.metric)) $("metric").value = saved.metric;
  $("metric").closest(".control").hidden = metrics.length < 2;
  // min count
  $("min-count-wrap").hidden = !hasCounts();
  $("min-count-label").textContent = hasModel() ? "at least" : "count at least";
  $("min-count-unit").textContent = hasModel() ? countWord() : "";
  if (Number.isInteger(info.default_min_count)) {
    $("min-count").value = String(info.default_min_count);
    $("min-count-default").textContent = `(default ${info.default_min_count}; 0 shows all)`;
  }
  if (saved.minCount !== null && /^\d+$/.test(saved.minCount)) $("min-count").value = saved.minCount;
  // projection
  const methods = info.map_methods || (info.map_method ? [info.map_method] : []);
  $("projection").replaceChildren(...methods.map((m) => el("option", { value: m }, METHOD_NAMES[m] || m)));
  const method = saved.projection && methods.includes(saved.projection) ? saved.projection : info.map_method;
  if (method) $("projection").value = method;
  $("projection").closest(".control").hidden = methods.length < 2;
  // colour
  const colour = $("colour");
  colour.replaceChildren(el("option", { value: "" }, "nothing (one colour)"));
  let cols = info.columns;
  if (!cols && info.genres && info.genres.length) cols = [{ name: "genres", kind: "categorical", multi: true }];
  for (const c of cols || []) {
    colour.append(el("option", { value: c.name }, c.name === "n_ratings" ? (hasModel() ? `number of ${countWord()}` : "count") : c.name));
  }
  const names = (cols || []).map((c) => c.name);
  let wanted = info.default_colour !== undefined ? info.default_colour : names[0];
  if (saved.colour === "none") wanted = "";
  else if (saved.colour && names.includes(saved.colour)) wanted = saved.colour;
  colour.value = wanted || "";
  $("isolate").checked = saved.isolate;
  state.pendingOnly = saved.only.length ? saved.only : null;
  if (saved.zoom > 0) state.view = { zoom: saved.zoom, cx: saved.cx || 0, cy: saved.cy || 0 };
  // panels that need a model
  $("rate-panel").hidden = !hasModel();
  $("user-panel").hidden = !hasModel();
  const scale = ratingScale();
  const select = $("rate-value");
  select.replaceChildren();
  if (!implicit()) {
    for (let v = Math.floor(scale[1]); v >= Math.ceil(scale[0]); v -= 1) select.append(el("option", { value: String(v) }, String(v)));
    select.value = String(Math.floor(scale[1]));
  }
  const source = info.source && info.source !== info.model_class ? ` from ${info.source}` : "";
  const users = hasModel() ? `, ${info.n_users} users` : "";
  $("model-info").textContent = `${info.model_class || "model"}${source}: ${info.n_items} ${nouns()}${users}, ${info.embedding_dim} dimensions`;
  $("map").setAttribute("aria-label", `2-D map of the ${nouns()}`);
}

function wire() {
  combobox($("search"), $("suggestions"), {
    fetchOptions: async (q) => (await searchItems(q, 8)).items.map(itemOption),
    onPick: (item) => { $("search").value = itemName(item); selectItem(item.key); },
    onEnter: (q) => runSearch(q),
    onResults: searchFeedback,
  });
  $("search-regex").addEventListener("change", () => { tell("search-msg", ""); if ($("search").value.trim()) runSearch($("search").value.trim()); });
  $("search-column").addEventListener("change", () => { tell("search-msg", ""); });
  combobox($("rate-search"), $("rate-suggestions"), {
    fetchOptions: async (q) => (q ? (await api(`/api/search?q=${encodeURIComponent(q)}&n=8`)).items.map(itemOption) : []),
    onPick: addRating,
    onEnter: addTyped,
    onResults: (q, found, err) => {
      if (err) tell("rate-msg", err.message, "error");
      else if (q && !found.length) tell("rate-msg", `No match for “${q}”: try part of the title or an ID.`, "empty");
      else if (q) tell("rate-msg", "");
    },
  });
  combobox($("user-search"), $("user-suggestions"), {
    fetchOptions: findUsers,
    onPick: (user) => showUser(user.id),
    onEnter: async (q, options) => {
      let found = options;
      if (!found.length && q) {
        try { found = await findUsers(q); } catch (err) { found = []; }
      }
      const exact = found.find((o) => String(o.key) === q);
      if (exact || found.length) showUser((exact || found[0]).value.id);
      else if (q) showUser(q);
      else tell("user-msg", "Type a user ID.", "empty");
    },
    onResults: (q, found, err) => {
      if (err) tell("user-msg", err.message, "error");
      else if (q && !found.length && has("/api/users")) tell("user-msg", `No user ID matches “${q}”.`, "empty");
      else tell("user-msg", "");
    },
    openOnFocus: true,
  });
  for (const id of ["search-form", "rate-form", "user-form", "neighbour-form", "map-form"]) {
    $(id).addEventListener("submit", (event) => event.preventDefault());
  }
  $("recommend").addEventListener("click", recommend);
  $("rate-add").addEventListener("click", () => addTyped($("rate-search").value.trim(), []));
  $("like-selected").addEventListener("click", () => { if (state.selected) toggleLike(state.selected); });
  $("analogy-form").addEventListener("submit", solveAnalogy);
  const refreshNeighbours = () => { if (state.selected) selectItem(state.selected.key, { focusList: false }); saveUrl(); };
  $("k").addEventListener("change", refreshNeighbours);
  $("metric").addEventListener("change", refreshNeighbours);
  $("min-count").addEventListener("change", () => {
    const v = $("min-count").value.trim();
    if (v !== "" && !/^\d+$/.test(v)) {
      tell("neighbour-msg", `The minimum count must be a whole number ≥ 0 (got “${v}”).`, "error");
      return;
    }
    tell("neighbour-msg", "");
    refreshNeighbours();
    fetchMap();
    if (state.rated.size) recommend();
    if (state.user !== null) showUser(state.user);
  });
  $("projection").addEventListener("change", () => { resetView(); fetchMap(); saveUrl(); });
  $("colour").addEventListener("change", () => { loadColours(); saveUrl(); });
  $("isolate").addEventListener("change", () => {
    requestDraw();
    saveUrl();
    if ($("isolate").checked && !state.selected) tell("neighbour-msg", `Select ${article(noun())} ${noun()} to isolate it and its neighbours on the map.`, "empty");
  });
  wireMap();
}

async function loadCounts() {
  if (!hasCounts() || !has("/api/colours") || !state.info || !state.info.columns) return;
  if (!state.info.columns.some((c) => c.name === "n_ratings")) return;
  try {
    const doc = await api("/api/colours?column=n_ratings");
    state.counts = decode64(doc.values, Float32Array);
  } catch (err) {
    state.counts = null;
  }
}

async function restore(saved) {
  const jobs = [];
  if (saved.ratings.length && hasModel()) {
    jobs.push((async () => {
      const found = await Promise.all(saved.ratings.map(async ([key, rating]) => {
        try { return { key, item: await lookupItem(key), rating }; } catch (err) { return { key, item: null, rating }; }
      }));
      const missing = [];
      for (const { key, item, rating } of found) {
        if (item) state.rated.set(String(item.key), { item, rating });
        else missing.push(key);
      }
      renderRated();
      if (missing.length) tell("rate-msg", `Left out of the link's ${visitorWhat()}, not ${nouns()} of this model: ${missing.join(", ")}.`, "error");
      if (state.rated.size) await recommend();
    })());
  }
  if (saved.item) jobs.push(selectItem(saved.item, { focusList: false }));
  if (saved.user && hasModel()) jobs.push(showUser(saved.user));
  await Promise.all(jobs);
}

async function start() {
  wire();
  const saved = readUrl();
  try {
    state.info = await api("/api/info");
  } catch (err) {
    $("model-info").textContent = "model information unavailable";
    say(`The page could not load the model's description (${err.message}); reload the page, and check that the server is running.`);
  }
  try {
    const spec = await api("/openapi.json");
    state.paths = new Set(Object.keys(spec.paths || {}));
  } catch (err) {
    state.paths = null;
  }
  applyInfo(saved);
  document.body.dataset.ready = "true";
  const colours = loadColours();
  const counts = loadCounts();
  fetchMap();
  await Promise.all([restore(saved), colours, counts]);
  state.restoring = false;
  document.body.dataset.restored = "true";
  saveUrl();
}

document.addEventListener("DOMContentLoaded", start);
