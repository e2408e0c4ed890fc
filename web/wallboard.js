"use strict";
let today = {};

login(() => {
  live(render);
  refreshToday();
  setInterval(refreshToday, 10000);
});

async function refreshToday() {
  const from = new Date(); from.setHours(0, 0, 0, 0);
  const to = new Date(from.getTime() + 24 * 3600 * 1000);
  try {
    const rep = await api("GET", "/api/v1/reports/queues?interval=24h&from=" + encodeURIComponent(from.toISOString()) +
      "&to=" + encodeURIComponent(to.toISOString()));
    today = Object.fromEntries(rep.totals.map((t) => [t.queue, t]));
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
    cell(tr, q.callbacks_pending, "callbacks");
    cell(tr, pct(t.service_level), "service_level");
    cell(tr, pct(t.abandonment_rate), "abandonment");
    cell(tr, by("available"), "available");
    cell(tr, by("on_call") + by("on_hold") + by("ringing"), "on_call");
    cell(tr, by("away"), "away");
    qb.appendChild(tr);
  }
  const ab = document.querySelector("#agents tbody");
  ab.replaceChildren();
  for (const a of snap.agents || []) {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.id;
    cell(tr, a.id);
    cell(tr, a.state.replace("_", " "), "state");
    cell(tr, a.reason || "");
    cell(tr, secs(a.since));
    cell(tr, a.call_id || "");
    cell(tr, a.answered_today);
    ab.appendChild(tr);
  }
}
