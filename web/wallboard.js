"use strict";
let today = {};
let estimates = {}; // today's wait-estimate accuracy, by queue

login((me) => {
  if (me.role === "agent") { // the page is for supervisors and admins; the API refuses agents anyway
    document.querySelector("main").replaceChildren(Object.assign(document.createElement("p"), {className: "error", textContent: "The wallboard is for supervisors. Agents: use /agent."}));
    return;
  }
  live(render);
  connectSoftphone();
  refreshToday();
  setInterval(refreshToday, 10000);
  refreshCampaigns();
  setInterval(refreshCampaigns, 3000);
  refreshHeard();
  setInterval(refreshHeard, 1000);
});

// refreshHeard draws the live calls speech analytics hears (hidden with
// none): their sentiment so far and the phrases heard, alerts in red.
async function refreshHeard() {
  let calls;
  try {
    calls = (await api("GET", "/api/v1/speech/live")).calls || [];
  } catch (e) { return; /* speech off, or next time */ }
  document.getElementById("heard-box").classList.toggle("hidden", !calls.length);
  const tb = document.querySelector("#heard tbody");
  tb.replaceChildren();
  calls.sort((a, b) => (b.alert - a.alert) || ((a.sentiment ?? 0) - (b.sentiment ?? 0)));
  for (const c of calls) {
    const tr = document.createElement("tr");
    tr.dataset.call = c.call_id;
    if (c.alert) tr.classList.add("alert");
    cell(tr, c.call_id);
    cell(tr, c.queue);
    cell(tr, c.agent);
    cell(tr, c.state);
    cell(tr, c.sentiment == null ? "—" : c.sentiment.toFixed(2), "sentiment");
    cell(tr, (c.cues || []).map((q) => q.phrase).join(", "), "phrases");
    tb.appendChild(tr);
  }
}

// refreshCampaigns draws the live campaign panel (hidden with none).
async function refreshCampaigns() {
  let list;
  try {
    list = (await api("GET", "/api/v1/campaigns")).campaigns || [];
  } catch (e) { return; /* next time */ }
  document.getElementById("campaigns-box").classList.toggle("hidden", !list.length);
  const tb = document.querySelector("#campaigns tbody");
  tb.replaceChildren();
  for (const c of list) {
    const tr = document.createElement("tr");
    tr.dataset.campaign = c.name;
    cell(tr, c.name);
    cell(tr, c.mode, "mode");
    cell(tr, c.state, "state");
    cell(tr, c.lines, "lines");
    cell(tr, c.attempts, "attempts");
    cell(tr, c.connected, "connected");
    cell(tr, c.machines, "machines");
    cell(tr, c.abandoned, "dropped");
    cell(tr, c.live ? (c.abandon_rate * 100).toFixed(1) + "%" : "—", "abandon_rate");
    cell(tr, (c.abandon_rate_30d * 100).toFixed(1) + "%", "abandon_rate_30d");
    cell(tr, c.dnc_skipped, "dnc_skipped");
    cell(tr, c.pending, "pending");
    if (c.live && c.abandon_rate >= (c.target || 0.03)) tr.classList.add("alert");
    tb.appendChild(tr);
  }
}

async function refreshToday() {
  const from = new Date(); from.setHours(0, 0, 0, 0);
  const to = new Date(from.getTime() + 24 * 3600 * 1000);
  try {
    const rep = await api("GET", "/api/v1/reports/queues?interval=30m&from=" + encodeURIComponent(from.toISOString()) +
      "&to=" + encodeURIComponent(to.toISOString()));
    today = Object.fromEntries(rep.totals.map((t) => [t.queue, t]));
    drawCharts(rep);
    const est = await api("GET", "/api/v1/reports/wait-estimates?from=" + encodeURIComponent(from.toISOString()) +
      "&to=" + encodeURIComponent(to.toISOString()));
    estimates = Object.fromEntries(est.queues.map((q) => [q.queue, q.total]));
  } catch (e) { /* next time */ }
}

function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }

function cell(tr, v, label) {
  const td = document.createElement("td");
  td.textContent = v;
  if (label) td.dataset.label = label;
  tr.appendChild(td);
}

function render(snap) {
  text("clock", new Date(snap.at).toLocaleTimeString());
  const qb = document.querySelector("#queues tbody");
  qb.replaceChildren();
  for (const q of snap.queues) {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.name;
    const by = (s) => q.agents.filter((a) => a.state === s).length;
    const t = today[q.name] || {};
    cell(tr, q.name);
    cell(tr, q.waiting, "waiting");
    cell(tr, Math.round(q.longest_wait_seconds) + " s", "longest");
    cell(tr, q.estimated_wait_known ? Math.round(q.estimated_wait_seconds) + " s" : "—", "estimated");
    const e = estimates[q.name] || {};
    cell(tr, e.calls ? pct(e.within_share) + " (±" + Math.round(e.median_abs_error_seconds) + " s)" : "—", "estimate_accuracy");
    cell(tr, q.callbacks_pending, "callbacks");
    cell(tr, pct(t.service_level), "service_level");
    cell(tr, pct(t.abandonment_rate), "abandonment");
    cell(tr, by("available"), "available");
    cell(tr, by("on_call") + by("on_hold") + by("ringing"), "on_call");
    cell(tr, by("away"), "away");
    qb.appendChild(tr);
  }
  renderWaiting(snap.queues);
  const ab = document.querySelector("#agents tbody");
  ab.replaceChildren();
  for (const a of snap.agents || []) {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.id;
    cell(tr, a.id);
    cell(tr, a.state.replace("_", " "), "state");
    cell(tr, a.reason || "");
    cell(tr, pendingText(a), "pending");
    cell(tr, secs(a.since));
    cell(tr, a.call_id || "");
    cell(tr, a.call_node || "", "node");
    cell(tr, a.answered_today);
    const td = document.createElement("td");
    td.append(
      button("Available", "agents-error", () => api("POST", "/api/v1/agents/" + a.id + "/state", {state: "available"})),
      button("Away", "agents-error", () => api("POST", "/api/v1/agents/" + a.id + "/state", {state: "away", reason: "supervisor"})),
      button("Log out", "agents-error", () => api("POST", "/api/v1/agents/" + a.id + "/logout")));
    tr.appendChild(td);
    const mon = document.createElement("td");
    if (a.call_id && (a.state === "on_call" || a.state === "on_hold")) {
      for (const mode of ["Listen", "Whisper", "Barge"]) {
        mon.append(button(mode, "agents-error", () => api("POST", "/api/v1/calls/" + a.call_id + "/monitor", {mode: mode.toLowerCase()})));
      }
    }
    tr.appendChild(mon);
    ab.appendChild(tr);
  }
  // A monitor rings the wallboard's softphone: answer it at once.
  const sp = snap.softphone;
  document.getElementById("btn-stop-monitor").disabled = !(sp && (sp.on_call || sp.ringing));
  if (sp && sp.ringing && !answering) {
    answering = true;
    api("POST", "/api/v1/webrtc/answer").catch(() => {}).finally(() => { answering = false; });
  }
}
let answering = false;

function button(label, errId, f) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label; b.style.marginRight = ".3rem";
  b.addEventListener("click", async () => {
    text(errId, "");
    try { await f(); } catch (e) { text(errId, e.message); }
  });
  return b;
}

// The waiting table is rebuilt only when its calls change, so a
// supervisor's half-typed priority is not wiped every second.
let waitingKey = "";
function renderWaiting(queues) {
  const rows = [];
  for (const q of queues) for (const c of q.calls || []) rows.push([q, c]);
  const key = rows.map(([q, c]) => q.name + c.id + c.position + c.priority).join("|") + "#" + queues.map((q) => q.name).join(",");
  const tb = document.querySelector("#waiting tbody");
  for (const [q, c] of rows) { // waits tick every time
    const td = tb.querySelector(`tr[data-call="${c.id}"] td[data-label="wait"]`);
    if (td) td.textContent = Math.round(c.wait_seconds) + " s";
  }
  if (key === waitingKey) return;
  waitingKey = key;
  tb.replaceChildren();
  for (const [q, c] of rows) {
    const tr = document.createElement("tr");
    tr.dataset.call = c.id;
    cell(tr, q.name, "queue");
    cell(tr, c.position, "position");
    cell(tr, c.id.slice(-6) + (c.callback ? " (callback)" : ""));
    cell(tr, c.node || "", "node");
    cell(tr, Math.round(c.wait_seconds) + " s", "wait");
    cell(tr, c.priority, "priority");
    const td = document.createElement("td");
    const sel = document.createElement("select");
    sel.setAttribute("aria-label", "Queue");
    for (const other of queues) sel.add(new Option(other.name, other.name, false, other.name === q.name));
    const prio = document.createElement("input");
    prio.type = "number"; prio.value = c.priority; prio.size = 3; prio.style.width = "5rem";
    prio.setAttribute("aria-label", "Priority");
    td.append(sel, prio, button("Move", "waiting-error", () => {
      const body = {priority: Number(prio.value)};
      if (sel.value !== q.name) body.queue = sel.value;
      return api("POST", "/api/v1/calls/" + c.id + "/queue", body);
    }));
    tr.appendChild(td);
    tb.appendChild(tr);
  }
}

// drawCharts draws the day's intervals, all queues summed: bars of offered
// and answered calls, and the service level as a line (gaps where no call).
function drawCharts(rep) {
  const n = 48, W = 480, H = 160, pad = 16, bw = (W - pad) / n;
  const sum = Array.from({length: n}, () => ({offered: 0, answered: 0, inSL: 0, eligible: 0}));
  for (const r of rep.rows) {
    const i = Math.floor((new Date(r.interval_start) - new Date(rep.from)) / 1800000);
    if (i < 0 || i >= n) continue;
    sum[i].offered += r.offered; sum[i].answered += r.answered;
    const eligible = r.offered - r.short_abandoned;
    if (r.service_level !== null) { sum[i].inSL += r.service_level * eligible; sum[i].eligible += eligible; }
  }
  const top = Math.max(1, ...sum.map((s) => s.offered));
  const ns = "http://www.w3.org/2000/svg";
  const el = (tag, attrs) => { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
  const calls = document.getElementById("chart-calls");
  calls.replaceChildren();
  sum.forEach((s, i) => {
    const x = pad + i * bw;
    const ho = (H - pad) * s.offered / top, ha = (H - pad) * s.answered / top;
    calls.append(el("rect", {x, y: H - pad - ho, width: bw - 1, height: ho, fill: "#34424f"}));
    calls.append(el("rect", {x, y: H - pad - ha, width: bw - 1, height: ha, fill: "#4aa3ff"}));
  });
  for (const h of [0, 6, 12, 18]) {
    const t = el("text", {x: pad + h * 2 * bw, y: H - 2, fill: "#93a4b5", "font-size": 10}); t.textContent = h + ":00"; calls.append(t);
  }
  const sl = document.getElementById("chart-sl");
  sl.replaceChildren();
  for (const p of [0, 50, 80, 100]) {
    const y = H - pad - (H - 2 * pad) * p / 100;
    sl.append(el("line", {x1: pad, x2: W, y1: y, y2: y, stroke: p === 80 ? "#f0b429" : "#243140"}));
    const t = el("text", {x: 0, y: y + 3, fill: "#93a4b5", "font-size": 9}); t.textContent = p; sl.append(t);
  }
  const segments = [[]];
  sum.forEach((s, i) => {
    if (!s.eligible) { if (segments[segments.length - 1].length) segments.push([]); return; }
    const x = pad + i * bw + bw / 2, y = H - pad - (H - 2 * pad) * s.inSL / s.eligible;
    segments[segments.length - 1].push(x.toFixed(1) + " " + y.toFixed(1));
  });
  for (const seg of segments) {
    if (seg.length === 1) sl.append(el("circle", {cx: seg[0].split(" ")[0], cy: seg[0].split(" ")[1], r: 3, fill: "#2fbf71"}));
    else if (seg.length > 1) sl.append(el("path", {d: "M" + seg.join("L"), fill: "none", stroke: "#2fbf71", "stroke-width": 2}));
  }
}

document.getElementById("btn-connect").addEventListener("click", connectSoftphone);
document.getElementById("btn-stop-monitor").addEventListener("click", () =>
  api("DELETE", "/api/v1/monitor").catch((e) => text("agents-error", e.message)));
