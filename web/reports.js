"use strict";

login((me) => {
  if (me.role === "agent") { text("error", "Reports are for supervisors."); return; }
  document.getElementById("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
  const today = new Date();
  const d = (x) => x.toISOString().slice(0, 10);
  document.getElementById("from").value = d(new Date(today.getTime() - 6 * 864e5));
  document.getElementById("to").value = d(today);
  document.getElementById("run").addEventListener("click", run);
  run();
});

function range() {
  const from = new Date(document.getElementById("from").value + "T00:00:00");
  const to = new Date(new Date(document.getElementById("to").value + "T00:00:00").getTime() + 864e5);
  return {from: from.toISOString(), to: to.toISOString(), interval: document.getElementById("interval").value};
}

const fmtS = (s) => Math.round(s) + " s";
const pct = (v) => v === null || v === undefined ? "—" : Math.round(v * 100) + "%";

async function run() {
  text("error", "");
  const r = range();
  const q = new URLSearchParams(r).toString();
  document.getElementById("csv").href = "/api/v1/reports/queues?format=csv&" + q;
  try {
    const [rep, hourly, agents, calls, estimates, ivr, campaigns] = await Promise.all([
      api("GET", "/api/v1/reports/queues?" + q),
      api("GET", "/api/v1/reports/queues?" + new URLSearchParams({from: r.from, to: r.to, interval: "60m"})),
      api("GET", "/api/v1/reports/agents?" + new URLSearchParams({from: r.from, to: r.to})),
      api("GET", "/api/v1/calls?limit=50&since=" + encodeURIComponent(r.from)),
      api("GET", "/api/v1/reports/wait-estimates?" + new URLSearchParams({from: r.from, to: r.to})),
      api("GET", "/api/v1/reports/ivr?" + new URLSearchParams({from: r.from, to: r.to})),
      api("GET", "/api/v1/reports/campaigns?" + new URLSearchParams({from: r.from, to: r.to, interval: "24h"})).catch(() => null),
    ]);
    totals(rep); intervals(rep); heatmap(hourly); agentTable(agents); callTable(calls.calls); estimateTable(estimates); ivrTable(ivr);
    campaignTable(campaigns);
    speechTables(await api("GET", "/api/v1/reports/speech?" + new URLSearchParams({from: r.from, to: r.to,
      tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"})).catch(() => null));
  } catch (e) { text("error", e.message); }
}

function row(tb, cells, attrs) {
  const tr = document.createElement("tr");
  for (const k in attrs || {}) tr.dataset[k] = attrs[k];
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.append(c); else td.textContent = c;
    tr.appendChild(td);
  }
  tb.appendChild(tr);
  return tr;
}

// ivrTable: each flow's steps, then where its calls ended.
function ivrTable(rep) {
  const tb = document.querySelector("#ivr tbody");
  tb.replaceChildren();
  const secs = (v) => v === null || v === undefined ? "—" : (Math.round(v * 10) / 10) + " s";
  const ends = [];
  for (const f of rep.flows) {
    for (const st of f.steps) {
      const keys = Object.entries(st.choices || {}).sort().map(([k, v]) => k + ": " + pct(v)).join(", ");
      const spoken = st.type === "menu" ? (st.spoken || 0) + " said" + (st.unsure ? ", " + st.unsure + " unsure" : "") : "—";
      row(tb, [f.flow, st.step, st.type, st.entered, keys || "—", spoken, st.timeouts, st.invalid, st.hung_up, secs(st.median_seconds), secs(st.p90_seconds)],
        {flow: f.flow, step: st.step});
    }
    ends.push(f.flow + ": " + f.calls + " calls — " + Object.entries(f.funnel).sort().map(([k, n]) => k.replace("_", " ") + " " + n).join(", "));
  }
  text("ivr-funnel", ends.join("; "));
}

// campaignTable: each outbound campaign's figures over the period.
function campaignTable(rep) {
  const tb = document.querySelector("#campaigns tbody");
  tb.replaceChildren();
  const pct1 = (v) => (100 * (v || 0)).toFixed(1) + " %";
  for (const k of (rep && rep.campaigns) || []) {
    row(tb, [k.campaign, k.attempts, k.connected, k.right_party_contacts, k.live, k.dropped, pct1(k.abandon_rate), pct1(k.abandon_rate_30d),
      k.machines, k.busy, k.no_answer, k.skipped + " (" + k.dnc_skipped + ")", k.list_penetration === undefined ? "—" : pct(k.list_penetration),
      fmtS(k.talk_seconds), k.agent_occupancy === undefined ? "—" : pct(k.agent_occupancy)], {campaign: k.campaign});
  }
}

// estimateTable: per queue, each day with estimated calls, then the total.
function estimateTable(rep) {
  const tb = document.querySelector("#estimates tbody");
  tb.replaceChildren();
  const secs = (v) => v === null || v === undefined ? "—" : Math.round(v) + " s";
  for (const q of rep.queues) {
    for (const d of [...q.days.filter((d) => d.calls + d.not_estimated > 0), q.total]) {
      const day = d === q.total ? "total" : new Date(d.day).toLocaleDateString();
      row(tb, [q.queue, day, d.calls, secs(d.median_abs_error_seconds), secs(d.bias_seconds), pct(d.within_share), d.not_estimated],
        {queue: q.queue, day});
    }
  }
}

function totals(rep) {
  const tb = document.querySelector("#totals tbody");
  tb.replaceChildren();
  for (const t of rep.totals) {
    row(tb, [t.queue, t.offered, t.answered, t.abandoned, pct(t.service_level), fmtS(t.asa_seconds), fmtS(t.aht_seconds),
      fmtS(t.longest_wait_seconds), t.transfers, pct(t.first_call_resolution)], {queue: t.queue});
  }
  const dl = document.getElementById("definitions");
  dl.replaceChildren();
  for (const [k, v] of Object.entries(rep.definitions)) {
    const dt = document.createElement("dt"); dt.textContent = figureName(k);
    const dd = document.createElement("dd"); dd.textContent = v;
    dl.append(dt, dd);
  }
}

const ns = "http://www.w3.org/2000/svg";
function el(tag, attrs) { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }

function intervals(rep) {
  const byStart = new Map();
  for (const r of rep.rows) {
    const s = byStart.get(r.interval_start) || {offered: 0, answered: 0, inSL: 0, eligible: 0};
    s.offered += r.offered; s.answered += r.answered;
    if (r.service_level !== null) { const e = r.offered - r.short_abandoned; s.inSL += r.service_level * e; s.eligible += e; }
    byStart.set(r.interval_start, s);
  }
  const sums = [...byStart.values()];
  const svg = document.getElementById("chart-intervals");
  svg.replaceChildren();
  const W = 960, H = 200, pad = 20, bw = (W - pad) / Math.max(1, sums.length);
  const top = Math.max(1, ...sums.map((s) => s.offered));
  let path = [];
  sums.forEach((s, i) => {
    const x = pad + i * bw;
    const ho = (H - pad) * s.offered / top, ha = (H - pad) * s.answered / top;
    svg.append(el("rect", {x, y: H - pad - ho, width: Math.max(bw - 1, 1), height: ho, fill: "#34424f"}));
    svg.append(el("rect", {x, y: H - pad - ha, width: Math.max(bw - 1, 1), height: ha, fill: "#4aa3ff"}));
    if (s.eligible) path.push((x + bw / 2).toFixed(1) + " " + (H - pad - (H - 2 * pad) * s.inSL / s.eligible).toFixed(1));
  });
  if (path.length > 1) svg.append(el("path", {d: "M" + path.join("L"), fill: "none", stroke: "#2fbf71", "stroke-width": 2}));
}

function heatmap(rep) {
  const grid = Array.from({length: 7}, () => new Array(24).fill(0));
  for (const r of rep.rows) {
    const t = new Date(r.interval_start);
    grid[t.getDay()][t.getHours()] += r.offered;
  }
  const top = Math.max(1, ...grid.flat());
  const table = document.getElementById("heatmap");
  table.replaceChildren();
  const head = document.createElement("tr");
  head.append(document.createElement("th"));
  for (let h = 0; h < 24; h++) { const th = document.createElement("th"); th.textContent = h; head.append(th); }
  table.append(head);
  ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].forEach((day, d) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th"); th.textContent = day; tr.append(th);
    for (let h = 0; h < 24; h++) {
      const td = document.createElement("td");
      const v = grid[d][h];
      td.textContent = v || "";
      td.style.background = v ? `rgba(74,163,255,${0.15 + 0.85 * v / top})` : "transparent";
      td.dataset.cell = d + "-" + h;
      tr.append(td);
    }
    table.append(tr);
  });
}

function agentTable(rep) {
  const tb = document.querySelector("#agents tbody");
  tb.replaceChildren();
  const top = Math.max(1, ...rep.rows.map((r) => r.answered));
  for (const r of rep.rows) {
    const bar = document.createElement("div");
    bar.style.cssText = `height:.8rem;background:#4aa3ff;width:${Math.round(160 * r.answered / top)}px`;
    const s = r.state_seconds;
    row(tb, [r.agent, r.answered, fmtS(r.aht_seconds), pct(r.occupancy), fmtS(s.available || 0), fmtS((s.on_call || 0) + (s.on_hold || 0)),
      fmtS(s.wrap_up || 0), fmtS(s.away || 0), bar], {agent: r.agent});
  }
}

function callTable(calls) {
  const tb = document.querySelector("#calls tbody");
  tb.replaceChildren();
  for (const c of calls) {
    const play = document.createElement("button");
    play.type = "button"; play.textContent = "Play";
    play.addEventListener("click", () => playCall(c));
    row(tb, [new Date(c.arrived_at).toLocaleString(), c.caller, c.queue || "", c.agent || "", c.outcome, fmtS(c.talk_seconds || 0),
      c.recorded ? play : ""], {call: c.id});
  }
}

// playCall loads a recording, draws each channel's waveform (caller above,
// agent below) and the call's events on the timeline.
async function playCall(c) {
  text("error", "");
  const res = await fetch("/api/v1/calls/" + c.id + "/recording", {credentials: "same-origin", headers: {"X-Switchboard-UI": "1"}});
  if (!res.ok) { text("error", "no recording for this call"); return; }
  const buf = await res.arrayBuffer();
  const audio = document.getElementById("audio");
  audio.src = URL.createObjectURL(new Blob([buf], {type: "audio/wav"}));
  document.getElementById("player").classList.remove("hidden");
  text("player-title", "Call " + c.id + " — caller (top) and agent (bottom)");
  const ctx = new (window.AudioContext || window.webkitAudioContext)();
  const decoded = await ctx.decodeAudioData(buf.slice(0));
  const canvas = document.getElementById("waveform");
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  for (let ch = 0; ch < Math.min(2, decoded.numberOfChannels); ch++) {
    const data = decoded.getChannelData(ch);
    const step = Math.max(1, Math.floor(data.length / canvas.width));
    const mid = canvas.height / 4 + ch * canvas.height / 2;
    g.fillStyle = ch === 0 ? "#2fbf71" : "#4aa3ff";
    for (let x = 0; x < canvas.width; x++) {
      let peak = 0;
      for (let i = x * step; i < (x + 1) * step && i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
      const h = peak * canvas.height / 4;
      g.fillRect(x, mid - h, 1, Math.max(1, 2 * h));
    }
  }
  canvas.dataset.drawn = String(decoded.duration.toFixed(1));
  showTranscript(c.id);
  scoreForm(c);
  const full = await api("GET", "/api/v1/calls/" + c.id);
  const ol = document.getElementById("timeline");
  ol.replaceChildren();
  const start = new Date(full.connected_at || full.arrived_at).getTime();
  for (const e of full.events) {
    const li = document.createElement("li");
    li.textContent = ((new Date(e.at).getTime() - start) / 1000).toFixed(1) + " s — " + e.kind + (e.detail ? ": " + e.detail : "");
    ol.append(li);
  }
}

// The scoring form beside the player: the configured scorecards, each
// question a checkbox (met or not), a comment; the call's saved score, if
// any, fills it.
let scorecards = null, scoring = null;
async function scoreForm(c) {
  scoring = c;
  if (!scorecards) {
    scorecards = await api("GET", "/api/v1/qa/scorecards");
    const sel = document.getElementById("scorecard");
    sel.replaceChildren(...scorecards.map((sc) => new Option(sc.Name, sc.Name)));
    sel.addEventListener("change", () => questions(null));
  }
  text("score-result", "");
  document.getElementById("score-comment").value = "";
  let saved = null;
  try {
    const scores = await api("GET", "/api/v1/qa/scores?agent=" + encodeURIComponent(c.agent) + "&from=" +
      encodeURIComponent(new Date(new Date(c.arrived_at).getTime() - 864e5).toISOString()));
    saved = (scores || []).find((q) => q.call_id === c.id) || null;
  } catch (e) { /* none */ }
  if (saved) {
    document.getElementById("scorecard").value = saved.scorecard;
    document.getElementById("score-comment").value = saved.comment || "";
    text("score-result", "saved: " + Math.round(saved.score) + " by " + saved.reviewer);
  }
  questions(saved);
}

function questions(saved) {
  const sc = scorecards.find((s) => s.Name === document.getElementById("scorecard").value);
  const box = document.getElementById("questions");
  box.replaceChildren();
  for (const sec of (sc && sc.Sections) || []) {
    const fs = document.createElement("fieldset");
    const lg = document.createElement("legend"); lg.textContent = sec.Name; fs.append(lg);
    for (const q of sec.Questions) {
      const id = "q-" + q.ID;
      const cb = Object.assign(document.createElement("input"), {type: "checkbox", id, name: q.ID});
      cb.checked = !!(saved && saved.answers && saved.answers[q.ID]);
      const lb = document.createElement("label"); lb.htmlFor = id;
      lb.textContent = " " + q.Text + " (" + q.Weight + (q.AutoFail ? ", auto-fail" : "") + ")";
      const div = document.createElement("div"); div.append(cb, lb); fs.append(div);
    }
    box.append(fs);
  }
}

document.getElementById("score-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!scoring) return;
  const answers = {};
  for (const cb of document.querySelectorAll("#questions input[type=checkbox]")) answers[cb.name] = cb.checked;
  try {
    const res = await api("POST", "/api/v1/calls/" + scoring.id + "/score",
      {scorecard: document.getElementById("scorecard").value, answers, comment: document.getElementById("score-comment").value});
    text("score-result", "saved: " + Math.round(res.score));
  } catch (e) { text("score-result", e.message); }
});

// figureName is a figure's name in words, for its definition.
function figureName(k) {
  const names = {offered: "Offered", answered: "Answered", abandoned: "Abandoned", short_abandoned: "Short abandons",
    service_level: "Service level", abandonment_rate: "Abandonment rate", asa_seconds: "Average speed of answer (ASA)",
    aht_seconds: "Average handle time (AHT)", longest_wait_seconds: "Longest wait", transfers: "Transfers",
    first_call_resolution: "First-call resolution (FCR)", occupancy: "Occupancy", talk_seconds: "Talk time"};
  if (names[k]) return names[k];
  const w = k.replace(/_seconds$/, "").replaceAll("_", " ");
  return w.charAt(0).toUpperCase() + w.slice(1);
}

// callLink is a button that plays a call found by its ID.
function callLink(id) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = id.slice(-6); b.title = id; b.dataset.call = id;
  b.addEventListener("click", async () => {
    try { playCall(await api("GET", "/api/v1/calls/" + id)); } catch (e) { text("error", e.message); }
  });
  return b;
}

function speechTables(res) {
  for (const id of ["speech-agents", "speech-queues", "trends"]) document.querySelector("#" + id + " tbody").replaceChildren();
  if (!res) return;
  const rep = res.report;
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const sentimentRows = (id, rows) => {
    const tb = document.querySelector("#" + id + " tbody");
    for (const r of rows) {
      const calls = document.createElement("span");
      calls.append(...r.call_ids.slice(0, 10).map(callLink));
      row(tb, [r.name, r.calls, r.mean_start.toFixed(2), r.mean_end.toFixed(2), r.negative_starts, r.turned,
        r.negative_starts ? pct(r.turn_rate) : "—", calls], {name: r.name});
    }
  };
  sentimentRows("speech-agents", rep.agents);
  sentimentRows("speech-queues", rep.queues);
  const tb = document.querySelector("#trends tbody");
  for (const t of rep.trends) {
    const when = t.cells.slice().sort((a, b) => b.count - a.count).slice(0, 4)
      .map((c) => days[c.weekday] + " " + String(c.hour).padStart(2, "0") + "h: " + c.count).join(", ");
    const calls = document.createElement("span");
    calls.append(...t.call_ids.slice(0, 10).map(callLink));
    row(tb, [t.queue, t.phrase, t.count, t.this_week, t.last_week, (t.change > 0 ? "+" : "") + t.change, when, calls], {phrase: t.phrase});
  }
}

async function search() {
  const q = document.getElementById("search-q").value.trim();
  const table = document.getElementById("search-hits");
  const tb = table.querySelector("tbody");
  tb.replaceChildren();
  if (!q) { table.classList.add("hidden"); return; }
  try {
    const res = await api("GET", "/api/v1/transcripts?" + new URLSearchParams({q}));
    table.classList.remove("hidden");
    for (const h of res.transcripts) {
      const words = document.createElement("span");
      // the store marks the words found [like this]
      for (const part of h.snippet.split(/(\[[^\]]*\])/)) {
        if (part.startsWith("[") && part.endsWith("]")) {
          const m = document.createElement("mark"); m.textContent = part.slice(1, -1); words.append(m);
        } else words.append(part);
      }
      row(tb, [new Date(h.call_started).toLocaleString(), h.queue, h.agent, words,
        h.sentiment_start.toFixed(2) + " → " + h.sentiment_end.toFixed(2), callLink(h.call_id)], {call: h.call_id});
    }
  } catch (e) { text("error", e.message); }
}

// showTranscript puts the call's transcript beside its recording, each
// word lit while the recording plays it.
async function showTranscript(id) {
  const box = document.getElementById("transcript-box");
  const div = document.getElementById("transcript");
  div.replaceChildren();
  box.classList.add("hidden");
  let t;
  try { t = await api("GET", "/api/v1/calls/" + id + "/transcript"); } catch (e) { return; /* none yet */ }
  box.classList.remove("hidden");
  text("transcript-summary", t.summary || "");
  const s = t.sentiment || {};
  text("transcript-sentiment", "Caller sentiment: " + (s.start ?? 0).toFixed(2) + " at the start, " + (s.end ?? 0).toFixed(2) +
    " at the end, " + (s.lowest ?? 0).toFixed(2) + " at its lowest." + (t.spotted && t.spotted.length ? " Heard: " +
    t.spotted.map((p) => p.phrase + " (" + p.at.toFixed(1) + " s)").join(", ") + "." : ""));
  for (const u of t.utterances) {
    const p = document.createElement("p");
    p.className = "utt " + u.channel;
    p.dataset.start = u.start; p.dataset.end = u.end;
    const who = document.createElement("strong");
    who.textContent = (u.channel === "caller" ? "Caller" : "Agent") + " " + u.start.toFixed(1) + " s: ";
    p.append(who);
    for (const w of (u.words && u.words.length ? u.words : [{word: u.text, start: u.start, end: u.end}])) {
      const span = document.createElement("span");
      span.className = "word"; span.textContent = w.word; span.dataset.start = w.start; span.dataset.end = w.end;
      p.append(span, " ");
    }
    div.append(p);
  }
  const audio = document.getElementById("audio");
  audio.ontimeupdate = () => {
    const now = audio.currentTime;
    for (const w of div.querySelectorAll(".word")) {
      w.classList.toggle("now", now >= +w.dataset.start && now <= +w.dataset.end + 0.15);
    }
  };
}
