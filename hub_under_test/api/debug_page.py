"""The hub's debug page: GET /debug.

One self-contained HTML page (no build step, no outside assets) over the JSON API: the
connected stations with their state, one station's frames as they come (polled) with the
hub's answers beside the station's CALLs, and a form to send any CSMS-initiated command of
the station's protocol.  GET /debug/commands?protocol=ocpp1.6 lists those commands.
"""
from __future__ import annotations

from aiohttp import web

from simulator.protocol import CSMS, VERSIONS, catalog

from .common import BadParameter, _json, query_params


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def commands(request: web.Request) -> web.Response:
    query_params(request, "protocol")
    protocol = request.query.get("protocol", "ocpp1.6")
    if protocol == "ocpp1.5":   # SOAP: the ChargePointService's operations
        from simulator.protocol.soap.schema import CHARGE_POINT_SERVICE, SERVICES
        return _json(sorted(SERVICES[CHARGE_POINT_SERVICE].operations))
    if protocol not in VERSIONS:
        raise BadParameter("protocol", f"protocol must be one of {', '.join(VERSIONS)}, "
                                       f"got {protocol!r}")
    actions = catalog(protocol).actions
    return _json(sorted(name for name, spec in actions.items() if spec.initiated_by(CSMS)))


def routes() -> list[web.RouteDef]:
    return [web.get("/debug", page), web.get("/debug/commands", commands)]


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>chargesim hub — debug</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1em; display: grid; gap: 1em;
         grid-template-columns: minmax(18em, 1fr) 3fr; }
  h1 { grid-column: 1 / -1; font-size: 1.2em; margin: 0; }
  table { border-collapse: collapse; width: 100%; }
  td, th { border-bottom: 1px solid #ddd; padding: .2em .4em; text-align: left; vertical-align: top; }
  tr.station { cursor: pointer; }
  tr.station.selected { background: #e8f0ff; }
  #frames td.raw { font-family: monospace; white-space: pre-wrap; word-break: break-all; }
  tr.from-station td.who { color: #05a; }
  tr.from-hub td.who { color: #a50; }
  tr.callerror td.raw { color: #b00; }
  .note { color: #777; font-style: italic; }
  tr.repaired td.raw { background: #fff4d6; }
  .badge { display: inline-block; font: .75em sans-serif; padding: 0 .4em; margin-right: .4em;
           border-radius: .3em; background: #e0a800; color: #000; }
  form { display: grid; gap: .4em; margin-bottom: 1em; }
  textarea { font-family: monospace; min-height: 5em; }
  #answer { font-family: monospace; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>chargesim hub — debug</h1>
<section>
  <h2>Stations</h2>
  <table id="stations"><thead><tr><th>id</th><th>protocol</th><th>registration</th>
    <th>connectors</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2 id="title">Pick a station</h2>
  <form id="command" hidden>
    <label>Command <select id="action"></select></label>
    <label>Payload (JSON) <textarea id="payload">{}</textarea></label>
    <button type="submit" id="send">Send</button>
    <div id="answer"></div>
  </form>
  <table id="frames"><thead><tr><th>time</th><th>from</th><th>frame</th></tr></thead>
    <tbody></tbody></table>
</section>
<script>
"use strict";
let selected = null, protocol = null;

async function getJson(path) {
  const resp = await fetch(path);
  return [resp.status, await resp.json()];
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function connectorsText(s) {
  const c = s.connectors || {};
  return Object.keys(c).map(k => k + ": " + (c[k].status || c[k])).join(", ");
}

async function refreshStations() {
  const [status, stations] = await getJson("/stations");
  if (status !== 200) return;
  const body = document.querySelector("#stations tbody");
  body.replaceChildren();
  for (const s of stations) {
    const row = body.insertRow();
    row.className = "station" + (s.id === selected ? " selected" : "");
    row.dataset.id = s.id;
    cell(row, s.id); cell(row, s.protocol); cell(row, s.registration || "");
    cell(row, connectorsText(s));
    row.onclick = () => select(s.id, s.protocol);
  }
}

async function select(id, proto) {
  selected = id;
  document.querySelector("#title").textContent = "Station " + id;
  document.querySelector("#command").hidden = false;
  if (proto !== protocol) {
    protocol = proto;
    const [, actions] = await getJson("/debug/commands?protocol=" + encodeURIComponent(proto));
    const select = document.querySelector("#action");
    select.replaceChildren(...actions.map(a => new Option(a, a)));
  }
  await refreshStations();
  await refreshFrames();
}

async function refreshFrames() {
  if (!selected) return;
  const [status, frames] = await getJson("/stations/" + encodeURIComponent(selected) + "/frames");
  if (status !== 200) return;
  const body = document.querySelector("#frames tbody");
  body.replaceChildren();
  for (const f of frames) {
    const row = body.insertRow();
    const kind = f.raw.startsWith("[4") ? " callerror" : "";
    const repaired = f.repairs && f.repairs.length ? " repaired" : "";
    row.className = (f.sender === "station" ? "from-station" : "from-hub") + kind + repaired;
    cell(row, f.ts.slice(11, 23));
    cell(row, f.sender === "station" ? "station →" : "← hub", "who");
    const raw = cell(row, f.raw, "raw");
    if (repaired) {   // lenient mode changed this CALL before handling it
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "repaired";
      badge.title = f.repairs.join("; ");
      raw.prepend(badge);
    }
    if (f.note) {
      const note = document.createElement("div");
      note.className = "note";
      note.textContent = f.note;
      raw.appendChild(note);
    }
  }
}

document.querySelector("#command").onsubmit = async (event) => {
  event.preventDefault();
  const action = document.querySelector("#action").value;
  const answer = document.querySelector("#answer");
  answer.textContent = "sending " + action + " …";
  const resp = await fetch("/stations/" + encodeURIComponent(selected) + "/commands/" + action,
                           {method: "POST", body: document.querySelector("#payload").value});
  answer.textContent = resp.status + " " + JSON.stringify(await resp.json());
  await refreshFrames();
};

refreshStations();
setInterval(refreshStations, 2000);
setInterval(refreshFrames, 1000);
</script>
</body>
</html>
"""
