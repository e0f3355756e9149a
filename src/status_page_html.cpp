#include "status_page_html.hpp"

namespace actorrent {

namespace {

// Every string from the API reaches the page through textContent or
// setAttribute, never as markup: names and paths are outside bytes.
constexpr std::string_view page = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>actorrent</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
h1 { font-size: 1.3em; margin: 0 0 .5em; }
#conn { font-size: .9em; color: #666; margin-left: 1em; }
#conn.down { color: #b00; }
.torrent { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8em 1em; margin: 0 0 1em; }
.torrent h2 { font-size: 1.1em; margin: 0 0 .3em; word-break: break-all; }
.meta { color: #555; font-size: .9em; }
.bar { height: 14px; background: #e4e4e4; border-radius: 7px; overflow: hidden; margin: .4em 0; }
.bar > div { height: 100%; background: #3a7bd5; width: 0; transition: width .5s; }
.state-seeding .bar > div { background: #2e9e4f; }
.state-paused .bar > div { background: #999; }
svg.chart { width: 100%; max-width: 480px; height: 80px; background: #f4f6f9; border-radius: 4px; display: block; }
.legend { font-size: .8em; color: #555; }
.legend .down { color: #3a7bd5; } .legend .up { color: #d5803a; }
table { border-collapse: collapse; margin: .4em 0; font-size: .9em; }
th, td { text-align: left; padding: 2px 10px 2px 0; }
th { color: #666; font-weight: 600; border-bottom: 1px solid #ddd; }
td.num, th.num { text-align: right; }
details { margin: .3em 0; }
button { margin-right: .4em; }
#token { width: 14em; }
</style>
</head>
<body>
<h1>actorrent <span id="conn">connecting</span></h1>
<p class="meta">Token for pause/resume/recheck (when the server asks for one):
<input id="token" type="password" autocomplete="off"></p>
<div id="torrents"><p class="meta" id="empty">No torrents yet.</p></div>
<script>
"use strict";
const rates = new Map();     // info_hash -> [{down, up}], the last 60 seconds
const views = new Map();     // info_hash -> elements of its card
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("actorrent-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("actorrent-token", tokenInput.value));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}
function rate(n) { return bytes(n || 0) + "/s"; }
function table(headers, rows) {
  const head = el("tr", {}, ...headers.map(([h, cls]) => el("th", cls ? {class: cls} : {}, h)));
  const body = rows.map(r => el("tr", {}, ...r.map((c, i) => el("td", headers[i][1] ? {class: headers[i][1]} : {}, String(c)))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}
async function control(hash, action) {
  const headers = {};
  if (tokenInput.value) headers["X-Actorrent-Token"] = tokenInput.value;
  try {
    const r = await fetch("/api/torrents/" + hash + "/" + action, {method: "POST", headers});
    if (!r.ok) alert(action + ": " + ((await r.json()).error || r.status));
  } catch (e) { alert(action + ": " + e); }
}
function card(t) {
  const v = {};
  v.root = el("div", {class: "torrent", "data-info-hash": t.info_hash});
  v.name = el("h2", {class: "name"});
  v.meta = el("div", {class: "meta"});
  v.bar = el("div", {class: "bar"}, v.fill = el("div"));
  v.progress = el("div", {class: "progress-text"});
  v.chart = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  v.chart.setAttribute("class", "chart");
  v.chart.setAttribute("viewBox", "0 0 60 40");
  v.chart.setAttribute("preserveAspectRatio", "none");
  v.down = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  v.up = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  v.down.setAttribute("style", "fill:none;stroke:#3a7bd5;stroke-width:1;vector-effect:non-scaling-stroke");
  v.up.setAttribute("style", "fill:none;stroke:#d5803a;stroke-width:1;vector-effect:non-scaling-stroke");
  v.chart.append(v.down, v.up);
  v.legend = el("div", {class: "legend"});
  const buttons = el("div", {},
    ...["pause", "resume", "recheck"].map(a => {
      const b = el("button", {type: "button", class: a}, a[0].toUpperCase() + a.slice(1));
      b.addEventListener("click", () => control(t.info_hash, a));
      return b;
    }));
  v.peers = el("details", {class: "peers", open: ""});
  v.files = el("details", {class: "files", open: ""});
  v.trackers = el("details", {class: "trackers"});
  v.root.append(v.name, v.meta, v.bar, v.progress, v.chart, v.legend, buttons, v.peers, v.files, v.trackers);
  return v;
}
function fill(details, title, content) {
  details.replaceChildren(el("summary", {}, title), content);
}
function show(t) {
  let v = views.get(t.info_hash);
  if (!v) {
    v = card(t);
    views.set(t.info_hash, v);
    document.getElementById("torrents").append(v.root);
  }
  const h = rates.get(t.info_hash) || [];
  h.push({down: t.download_rate || 0, up: t.upload_rate || 0});
  while (h.length > 60) h.shift();
  rates.set(t.info_hash, h);

  v.root.className = "torrent state-" + t.state;
  v.name.textContent = t.name;
  v.meta.textContent = t.state + " \u00b7 " + t.info_hash + " \u00b7 " + t.peers_connected + " peers";
  const pct = (100 * t.progress);
  v.fill.style.width = pct.toFixed(2) + "%";
  v.progress.textContent = pct.toFixed(1) + "% \u00b7 " + bytes(t.bytes_done) + " of " + bytes(t.bytes_total);
  v.progress.setAttribute("data-bytes-done", String(t.bytes_done));
  v.progress.setAttribute("data-progress", String(t.progress));

  const peak = Math.max(1, ...h.map(s => Math.max(s.down, s.up)));
  const pts = key => h.map((s, i) => (60 - h.length + i) + "," + (40 - 38 * s[key] / peak).toFixed(2)).join(" ");
  v.down.setAttribute("points", pts("down"));
  v.up.setAttribute("points", pts("up"));
  v.legend.replaceChildren(el("span", {class: "down"}, "\u25bc " + rate(t.download_rate)), "  ",
                           el("span", {class: "up"}, "\u25b2 " + rate(t.upload_rate)),
                           "  (last minute, peak " + rate(peak) + ")");

  fill(v.peers, "Peers (" + t.peers.length + ")",
       table([["address"], ["client"], ["down", "num"], ["up", "num"], ["received", "num"], ["sent", "num"], ["flags"]],
             t.peers.map(p => [p.address, p.client, rate(p.download_rate), rate(p.upload_rate),
                               bytes(p.downloaded), bytes(p.uploaded), p.flags])));
  fill(v.files, "Files (" + t.files.length + ")",
       table([["path"], ["size", "num"], ["done", "num"], ["%", "num"]],
             t.files.map(f => [f.path, bytes(f.size), bytes(f.done),
                               (f.size > 0 ? 100 * f.done / f.size : 100).toFixed(1)])));
  fill(v.trackers, "Trackers (" + t.trackers.length + ")",
       table([["url"], ["result"], ["message"], ["next announce", "num"], ["seeders", "num"], ["leechers", "num"]],
             t.trackers.map(k => [k.url, k.last_result || "-", k.message,
                                  k.next_announce == null ? "-" : Math.round(k.next_announce) + " s",
                                  k.seeders == null ? "-" : k.seeders, k.leechers == null ? "-" : k.leechers])));
}
async function poll() {
  const conn = document.getElementById("conn");
  try {
    const r = await fetch("/api/torrents", {cache: "no-store"});
    if (!r.ok) throw new Error("HTTP " + r.status);
    const data = await r.json();
    const seen = new Set();
    for (const t of data.torrents) { show(t); seen.add(t.info_hash); }
    for (const [hash, v] of views)
      if (!seen.has(hash)) { v.root.remove(); views.delete(hash); rates.delete(hash); }
    document.getElementById("empty").hidden = data.torrents.length > 0;
    conn.textContent = "updated " + new Date().toLocaleTimeString();
    conn.className = "";
  } catch (e) {
    conn.textContent = "not connected (" + e.message + ")";
    conn.className = "down";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)html";

} // namespace

std::string_view status_page_html() noexcept { return page; }

} // namespace actorrent
