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
  renderWaiting(snap.queues);
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
    const td = document.createElement("td");
    td.append(
      button("Available", "agents-error", () => api("POST", "/api/v1/agents/" + a.id + "/state", {state: "available"})),
      button("Away", "agents-error", () => api("POST", "/api/v1/agents/" + a.id + "/state", {state: "away", reason: "supervisor"})),
      button("Log out", "agents-error", () => api("POST", "/api/v1/agents/" + a.id + "/logout")));
    tr.appendChild(td);
    ab.appendChild(tr);
  }
}

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
