// Gregor console: hash routes, each rendering one view from the JSON endpoints under /api/v1/.
// The DOM is built with el() from text nodes only, so nothing a client wrote (topic names,
// record keys and values) is ever parsed as HTML.
"use strict";

const main = document.getElementById("main");
const statusLine = document.getElementById("status");
const SVGNS = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function api(path) {
  const resp = await fetch("/api/v1/" + path, { headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error || resp.status + " " + resp.statusText);
  return body;
}

const enc = encodeURIComponent;
const num = (n) => Number(n).toLocaleString("en-US");
function bytes(n) {
  if (n < 0) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : Math.round(n)) + " " + units[i];
}
const time = (ms) => new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");

// Status badges: the colour is a second signal; the word is always there.
function badge(status) {
  const s = status || "none";
  const cls = { OK: "st-ok", ok: "st-ok", WARN: "st-warn", "under-replicated": "st-warn" }[s] ||
    (s === "none" ? "st-none" : "st-err");
  return el("span", { class: "status " + cls }, s === "none" ? "no commits" : s);
}

function table(caption, head, rows, numeric) {
  numeric = numeric || [];
  return el("table", {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, h)))),
    el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: numeric.includes(i) ? "num" : null }, c))))
      : el("tr", {}, el("td", { colspan: head.length, class: "muted" }, "None."))));
}

function pager(total, offset, limit, hrefFor) {
  const from = total ? offset + 1 : 0, to = Math.min(offset + limit, total);
  return el("nav", { class: "pager", "aria-label": "Pages" },
    offset > 0 ? el("a", { href: hrefFor(Math.max(offset - limit, 0)) }, "Previous") : null,
    el("span", {}, `${num(from)}–${num(to)} of ${num(total)}`),
    to < total ? el("a", { href: hrefFor(offset + limit) }, "Next") : null);
}

// A sparkline: points [{t, v}] as an inline SVG line, labelled for screen readers.
function sparkline(points, label, fmt) {
  const w = 120, h = 24;
  const s = svg("svg", { class: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img" });
  const last = points.length ? points[points.length - 1].v : null;
  s.setAttribute("aria-label", label + (last == null ? ": no samples yet" : ": latest " + fmt(last)));
  if (points.length > 1) {
    const max = Math.max(...points.map((p) => p.v), 1);
    const d = points.map((p, i) => `${(i / (points.length - 1)) * w},${h - 1 - (p.v / max) * (h - 2)}`).join(" ");
    s.append(svg("polyline", { class: "line", points: d }));
  }
  return s;
}

// A bytes-in rate: its sparkline (when there are two samples or more) and the latest value.
function rateCell(points, label) {
  const fmt = (v) => bytes(v) + "/s";
  if (!points.length) return el("span", { class: "muted" }, "no samples yet");
  return [points.length > 1 ? sparkline(points, label, fmt) : null, " ", fmt(points[points.length - 1].v)];
}

// A line chart of a series over time, with a y scale and time labels.
function lineChart(points, title, fmt) {
  const w = 640, h = 200, l = 56, r = 8, t = 10, b = 24;
  const s = svg("svg", { class: "chart", width: "100%", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-labelledby": "chart-title" });
  const titleEl = svg("title", { id: "chart-title" });
  const last = points.length ? points[points.length - 1] : null;
  titleEl.textContent = `${title}: ${points.length} samples` + (last ? `, now ${fmt(last.v)}` : "");
  s.append(titleEl);
  s.append(svg("line", { class: "axis", x1: l, y1: h - b, x2: w - r, y2: h - b }));
  s.append(svg("line", { class: "axis", x1: l, y1: t, x2: l, y2: h - b }));
  if (!points.length) return s;
  // The x axis is always the last hour, ending at the newest point (which is now).
  const t1 = points[points.length - 1].t, t0 = t1 - 3600 * 1000;
  points = points.filter((p) => p.t >= t0);
  const vmax = Math.max(...points.map((p) => p.v), 1);
  const x = (p) => l + ((p.t - t0) / (t1 - t0)) * (w - l - r);
  const y = (p) => h - b - (p.v / vmax) * (h - b - t);
  const label = (tx, ty, txt, anchor) => {
    const e = svg("text", { x: tx, y: ty, "text-anchor": anchor });
    e.textContent = txt;
    s.append(e);
  };
  label(l - 4, t + 8, fmt(vmax), "end");
  label(l - 4, h - b, "0", "end");
  label(l, h - 6, "60 min ago", "start");
  label(w - r, h - 6, "now " + new Date(t1).toLocaleTimeString(), "end");
  const d = points.map((p) => `${x(p)},${y(p)}`).join(" ");
  s.append(svg("polygon", { class: "area", points: `${x(points[0])},${h - b} ${d} ${x(points[points.length - 1])},${h - b}` }));
  s.append(svg("polyline", { class: "line", points: d }));
  for (const p of points.slice(-1)) s.append(svg("circle", { cx: x(p), cy: y(p), r: 3, fill: "currentColor" }));
  return s;
}

function params(query) {
  const p = new URLSearchParams(query || "");
  return { get: (k, d) => (p.has(k) ? p.get(k) : d), raw: p };
}

// ---- views ----

async function overview() {
  const c = await api("cluster");
  return [
    el("h1", { tabindex: "-1" }, "Cluster overview"),
    el("dl", { class: "facts" },
      el("dt", {}, "Cluster id"), el("dd", { class: "mono" }, c.cluster_id),
      el("dt", {}, "Controller"), el("dd", {}, c.controller_id < 0 ? "unknown" : "broker " + c.controller_id),
      el("dt", {}, "Topics"), el("dd", {}, num(c.topics)),
      el("dt", {}, "Partitions"), el("dd", {}, num(c.partitions)),
      el("dt", {}, "Under-replicated"), el("dd", {}, badge(c.under_replicated ? "under-replicated" : "ok"), " ", num(c.under_replicated)),
      el("dt", {}, "Offline"), el("dd", {}, badge(c.offline ? "offline" : "ok"), " ", num(c.offline))),
    el("h2", {}, "Brokers"),
    table("Registered brokers", ["Id", "Endpoints", "Rack", "Role", "State"], c.brokers.map((b) => [
      String(b.id), b.endpoints.join(", "), b.rack || "—", b.controller ? "controller" : "broker", badge(b.fenced ? "fenced" : "ok")])),
    el("h2", {}, "Partitions needing attention"),
    table(c.problems_truncated ? `The first ${c.problems.length} partitions offline or under-replicated` : "Partitions offline or under-replicated",
      ["Topic", "Partition", "Leader", "Replicas", "ISR", "State"], c.problems.map((p) => [
        el("a", { href: "#/topics/" + enc(p.topic) }, p.topic), String(p.partition), p.leader < 0 ? "none" : String(p.leader),
        p.replicas.join(", "), p.isr.join(", "), badge(p.state)]), [1]),
  ];
}

async function topicList(query) {
  const q = params(query), offset = Number(q.get("offset", 0)), filter = q.get("q", "");
  const res = await api(`topics?offset=${offset}&limit=50&q=${enc(filter)}`);
  const form = el("form", { class: "inline", role: "search" },
    el("label", {}, "Filter topics by name", el("input", { type: "search", name: "q", value: filter })),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => { e.preventDefault(); location.hash = "#/topics?q=" + enc(form.q.value); });
  const href = (o) => `#/topics?q=${enc(filter)}&offset=${o}`;
  return [
    el("h1", { tabindex: "-1" }, "Topics"), form,
    table("Topics, sorted by name", ["Topic", "Partitions", "Replication", "State", "Size here", "Bytes in"], res.topics.map((t) => [
      el("a", { href: "#/topics/" + enc(t.name) }, t.name), num(t.partitions), String(t.replication_factor),
      badge(t.offline ? "offline" : t.under_replicated ? "under-replicated" : "ok"), bytes(t.size_bytes),
      rateCell(t.bytes_in_per_sec, "Bytes in per second of " + t.name)]), [1, 2, 4]),
    pager(res.total, res.offset, res.limit, href),
  ];
}

async function topicView(name, query) {
  const offset = Number(params(query).get("offset", 0));
  const t = await api(`topics/${enc(name)}?offset=${offset}&limit=100`);
  const configs = Object.entries(t.configs).sort();
  const rate = t.bytes_in_per_sec;
  return [
    el("h1", { tabindex: "-1" }, "Topic ", el("span", { class: "mono" }, t.name)),
    el("dl", { class: "facts" },
      el("dt", {}, "Topic id"), el("dd", { class: "mono" }, t.id),
      el("dt", {}, "Partitions"), el("dd", {}, num(t.partitions)),
      el("dt", {}, "Replication factor"), el("dd", {}, String(t.replication_factor)),
      el("dt", {}, "Size on this broker"), el("dd", {}, bytes(t.size_bytes)),
      el("dt", {}, "Bytes in"), el("dd", {}, rateCell(rate, "Bytes in per second"))),
    el("h2", {}, "Configuration overrides"),
    table("Overrides; every other config is the broker default", ["Name", "Value"], configs.map(([k, v]) => [el("span", { class: "mono" }, k), el("span", { class: "mono" }, v)])),
    el("h2", {}, "Partitions"),
    table("Partitions", ["Partition", "Leader", "Replicas", "ISR", "State", "Log start", "High watermark", "Size", "Records"], t.partition_list.map((p) => [
      String(p.partition), p.leader < 0 ? "none" : String(p.leader), p.replicas.join(", "), p.isr.join(", "), badge(p.state),
      p.hosted ? num(p.log_start_offset) : "—", p.hosted ? num(p.high_watermark) : "—", bytes(p.size_bytes),
      p.hosted ? el("a", { href: `#/browse/${enc(t.name)}/${p.partition}` }, "Browse", el("span", { class: "sr-only" }, " partition " + p.partition)) : "not hosted here"]), [0, 5, 6, 7]),
    pager(t.partitions, t.partitions_offset, t.partitions_limit, (o) => `#/topics/${enc(t.name)}?offset=${o}`),
  ];
}

async function groupList(query) {
  const offset = Number(params(query).get("offset", 0));
  const res = await api(`groups?offset=${offset}&limit=50`);
  return [
    el("h1", { tabindex: "-1" }, "Consumer groups"),
    table("Groups, sorted by id", ["Group", "State", "Type", "Lag status", "Total lag"], res.groups.map((g) => [
      el("a", { href: "#/groups/" + enc(g.group) }, g.group), g.state || "—", g.type || "—", badge(g.status), num(g.total_lag)]), [4]),
    pager(res.total, res.offset, res.limit, (o) => `#/groups?offset=${o}`),
  ];
}

async function groupView(name, query) {
  const offset = Number(params(query).get("offset", 0));
  const [g, hist] = await Promise.all([api(`groups/${enc(name)}?offset=${offset}&limit=100`), api(`groups/${enc(name)}/lag/history`)]);
  const lag = g.lag;
  const parts = lag ? lag.partitions : [];
  return [
    el("h1", { tabindex: "-1" }, "Group ", el("span", { class: "mono" }, g.group)),
    el("dl", { class: "facts" },
      el("dt", {}, "State"), el("dd", {}, g.state || "unknown (commits only)"),
      el("dt", {}, "Type"), el("dd", {}, g.type || "—"),
      el("dt", {}, "Protocol"), el("dd", {}, [g.protocol_type, g.protocol].filter(Boolean).join(" / ") || "—"),
      el("dt", {}, "Lag status"), el("dd", {}, badge(lag && lag.status)),
      el("dt", {}, "Total lag"), el("dd", {}, lag ? num(lag.total_lag) + " records" : "—"),
      el("dt", {}, "Oldest unconsumed"), el("dd", {}, lag ? lag.max_lag_seconds.toFixed(1) + " s" : "—")),
    el("h2", { id: "lag-chart" }, "Total lag, last hour"),
    el("figure", { "aria-labelledby": "lag-chart" }, lineChart(hist.points, "Total lag of " + g.group, num),
      el("figcaption", {}, `Sampled every ${hist.interval_ms / 1000} s; the last point is now.`)),
    el("h2", {}, "Members"),
    table("Members and their assigned partitions", ["Member", "Client id", "Host", "Assignment"], g.members.map((m) => [
      el("span", { class: "mono" }, m.member_id), m.client_id, m.client_host,
      m.assignment.map((a) => a.topic + ": " + a.partitions.join(", ")).join("; ") || "none"])),
    el("h2", {}, "Lag by partition"),
    table("Lag by partition", ["Topic", "Partition", "Status", "Committed", "Log end", "Lag", "Lag (s)"], parts.map((p) => [
      el("a", { href: "#/topics/" + enc(p.topic) }, p.topic), String(p.partition), [badge(p.status), p.lag_growing ? " lag growing" : ""],
      num(p.committed_offset), p.log_end_offset < 0 ? "—" : num(p.log_end_offset), num(p.lag), p.lag_seconds.toFixed(1)]), [1, 3, 4, 5, 6]),
    pager(g.lag_partitions, g.partitions_offset, g.partitions_limit, (o) => `#/groups/${enc(g.group)}?offset=${o}`),
  ];
}

function field(f) {
  if (f.null) return el("span", { class: "muted" }, "null");
  const shown = f.encoding === "text" ? f.text : f.hex;
  return el("span", { class: "mono" }, f.encoding === "hex" ? el("span", { class: "muted" }, "hex ") : null, shown,
    f.truncated ? el("span", { class: "muted" }, ` … (${num(f.size)} bytes)`) : null);
}

async function browse(topic, partition, query) {
  const q = params(query);
  const count = q.get("count", "20");
  const path = `topics/${enc(topic)}/partitions/${enc(partition)}/records?count=${enc(count)}` + (q.raw.has("offset") ? "&offset=" + enc(q.get("offset")) : "");
  const form = el("form", { class: "inline" },
    el("label", {}, "Start offset", el("input", { type: "number", name: "offset", min: 0, value: q.get("offset", "") })),
    el("label", {}, "Records (at most 100)", el("input", { type: "number", name: "count", min: 1, max: 100, value: count })),
    el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const o = form.offset.value === "" ? "" : "&offset=" + enc(form.offset.value);
    location.hash = `#/browse/${enc(topic)}/${enc(partition)}?count=${enc(form.count.value)}${o}`;
  });
  const head = [el("h1", { tabindex: "-1" }, "Records of ", el("span", { class: "mono" }, `${topic}-${partition}`)), form];
  let res;
  try {
    res = await api(path);
  } catch (err) {
    return [...head, el("p", { role: "alert", class: "st-err" }, err.message)];
  }
  return [...head,
    el("p", {}, `Offsets ${num(res.log_start_offset)} to ${num(res.high_watermark - 1)} are readable.`),
    table(`Records from offset ${num(res.offset)}`, ["Offset", "Timestamp", "Key", "Value", "Headers"], res.records.map((r) => [
      String(r.offset), el("time", { datetime: new Date(r.timestamp).toISOString() }, time(r.timestamp)), field(r.key), field(r.value),
      r.headers.length ? el("ul", {}, r.headers.map((h) => el("li", {}, el("span", { class: "mono" }, h.key), ": ", field(h.value)))) : "—"]), [0]),
    res.next_offset < res.high_watermark
      ? el("a", { href: `#/browse/${enc(topic)}/${enc(partition)}?count=${enc(count)}&offset=${res.next_offset}` }, "Next records") : null,
  ];
}

// ---- routing ----

async function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let view, section = "#/";
  if (parts[0] === "topics" && parts.length === 1) [view, section] = [() => topicList(query), "#/topics"];
  else if (parts[0] === "topics") [view, section] = [() => topicView(parts[1], query), "#/topics"];
  else if (parts[0] === "groups" && parts.length === 1) [view, section] = [() => groupList(query), "#/groups"];
  else if (parts[0] === "groups") [view, section] = [() => groupView(parts[1], query), "#/groups"];
  else if (parts[0] === "browse" && parts.length === 3) [view, section] = [() => browse(parts[1], parts[2], query), "#/topics"];
  else view = overview;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  statusLine.className = "";
  statusLine.textContent = "Loading…";
  try {
    const nodes = await view();
    main.replaceChildren(...nodes.filter(Boolean));
    statusLine.textContent = "Updated " + new Date().toLocaleTimeString();
    const h = main.querySelector("h1");
    document.title = (h ? h.textContent + " · " : "") + "Gregor console";
    if (route.moved && h) h.focus();
  } catch (err) {
    statusLine.className = "error";
    statusLine.textContent = "Error: " + err.message;
  }
  route.moved = true;
}

window.addEventListener("hashchange", route);
document.getElementById("refresh").addEventListener("click", route);
route();
