"use strict";
let me = null, current = null;

login((who) => {
  me = who;
  text("who", who.username);
  live(render);
  myScores();
  setInterval(myScores, 60000);
  connectSoftphone().then(() => { document.getElementById("btn-mute").disabled = !window.softphone; });
});

document.getElementById("btn-connect").addEventListener("click", connectSoftphone);

function render(snap) {
  const a = snap.agent;
  if (!a) { text("state", "not an agent"); return; }
  agentState = a.state;
  const st = document.getElementById("state");
  st.textContent = a.state.replace("_", " ");
  st.className = "state " + a.state;
  text("reason", a.reason ? "(" + a.reason + ")" : "");
  const pending = pendingText(a);
  text("pending", pending);
  document.getElementById("pending").classList.toggle("hidden", !pending);
  document.getElementById("unreachable").classList.toggle("hidden", !a.unreachable);
  text("since", a.wrap_up_until ? "ends in " + Math.max(0, Math.round((new Date(a.wrap_up_until) - Date.now()) / 1000)) + " s"
    : "for " + secs(a.since));
  document.getElementById("btn-available").classList.toggle("pressed", a.state === "available");
  document.getElementById("btn-away").classList.toggle("pressed", a.state === "away");
  document.getElementById("btn-extend").disabled = a.state !== "wrap_up";
  const c = snap.call;
  current = snap.call_active && (a.state === "on_call" || a.state === "on_hold") && c ? c : null;
  renderAfter(snap);
  const onCall = !!current;
  text("c-caller", c ? (c.caller_name ? c.caller_name + " <" + c.caller + ">" : c.caller) : "—");
  text("c-queue", c && c.queue ? c.queue : "—");
  text("c-wait", c && c.wait_seconds ? Math.round(c.wait_seconds) + " s" : "—");
  text("c-path", c && c.ivr_path ? c.ivr_path : "—");
  text("c-digits", c && c.digits ? c.digits : "—");
  const ringing = !!(snap.softphone && snap.softphone.ringing) || (a.state === "ringing" && snap.softphone && snap.softphone.connected);
  // A call the agent just placed from this page (Call, a preview's Dial)
  // rings their softphone first: it is answered for them.
  if (ringing && snap.softphone && snap.softphone.ringing && selfDial && a.call_id === selfDial) {
    selfDial = "";
    act("call-error", () => api("POST", "/api/v1/webrtc/answer"));
  }
  text("progress", snap.live && snap.live.progress && snap.live.progress !== "connected" ? "Call: " + snap.live.progress : "");
  document.getElementById("btn-answer").disabled = !ringing;
  document.getElementById("btn-reject").disabled = !ringing;
  if (ringing && snap.softphone.caller) text("c-caller", snap.softphone.caller);
  const lv = onCall ? snap.live : null;
  renderCues(lv);
  const consult = lv ? lv.consult : snap.consult;
  const consulting = !!consult || (lv && lv.state === "consulting");
  const inConference = !!lv && lv.state === "conference";
  const mine = inConference ? (lv.parties || []).find((p) => p.kind === "agent" && p.agent === me.username) : null;
  // Held: the caller on hold, or (in a conference) the agent out of its audio.
  const held = lv ? lv.state === "held" || !!(mine && mine.held) : a.state === "on_hold";
  // What the call's state allows, as the call core says (live.commands);
  // a call seen only through the agent's state (no live view yet) allows
  // what its state does.
  const cmds = new Set(lv && lv.commands ? lv.commands : onCall ? (held ? ["hangup", "resume"] : ["hangup", "hold", "dtmf"]) : []);
  const can = (c) => onCall && cmds.has(c);
  const state = ringing ? "ringing" : !onCall ? "idle" : consulting ? "consulting" : inConference ? "conference" : held ? "held" : "connected";
  document.getElementById("call-box").dataset.callState = state;
  show("incoming", ringing);
  text("in-caller", ringing ? (snap.softphone && snap.softphone.caller) || (c && c.caller) || "" : "");
  text("in-queue", ringing && c && c.queue ? "for " + c.queue : "");
  ringer.set(ringing);
  if (ringing) notifyIncoming((snap.softphone && snap.softphone.caller) || (c && c.caller) || "");
  show("no-call", !onCall && !ringing);
  show("call", onCall || ringing);
  enable("btn-hangup", can("hangup"));
  enable("btn-hold", can("hold") && !held);
  enable("btn-resume", can("resume") && held);
  enable("btn-transfer", can("transfer"));
  enable("btn-consult", can("consult"));
  enable("btn-conference", can("conference"));
  show("transfer-box", can("transfer") || can("consult") || can("conference"));
  show("btn-merge", can("merge") || !!(consult && consult.connected));
  show("btn-leave", can("leave") && !!mine);
  show("btn-complete", can("consult/complete") || !!(consult && consult.connected));
  show("btn-cancel-consult", can("consult/cancel") || !!consult);
  text("consult", consult ? (consult.connected ? "talking to " : "ringing ") + consult.target + "; the caller is on hold" : "");
  text("live-state", lv ? "Call state: " + lv.state.replace("_", " ") : "");
  renderParties(inConference ? lv.parties || [] : []);
  holdTimer.update(onCall ? c.id : "", c ? c.queue : "", lv && lv.state === "held" && lv.held_since ? new Date(lv.held_since) : null);
  show("keypad", can("dtmf"));
  for (const b of document.querySelectorAll("#keypad button")) b.disabled = !can("dtmf");
  enable("btn-rec-pause", can("recording/pause"));
  enable("btn-rec-resume", can("recording/resume"));
  enable("btn-rec-start", can("recording/start"));
  enable("btn-mute", onCall && !!window.softphone);
  show("dial-row", !onCall && !ringing);
  renderDay(a);
}

// show shows or hides the element id; enable also shows a control only
// when it may be used, and disables it otherwise.
function show(id, on) { document.getElementById(id).classList.toggle("hidden", !on); }
function enable(id, on) { const b = document.getElementById(id); b.disabled = !on; b.classList.toggle("hidden", !on); }

// renderDay shows the agent's figures since midnight, in words.
function renderDay(a) {
  const dur = (s) => {
    s = Math.round(s || 0);
    return s < 60 ? s + " s" : s < 3600 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  };
  const st = a.state_seconds_today || {};
  text("d-answered", String(a.answered_today || 0));
  text("d-talk", dur(a.talk_seconds_today));
  text("d-avg", a.answered_today ? dur(a.talk_seconds_today / a.answered_today) : "—");
  text("d-available", dur(st.available));
  text("d-wrap", dur(st.wrap_up));
  text("d-away", dur(st.away));
}

// The ring tone: the North American ring (440 + 480 Hz, 2 s on, 4 s off)
// made by the page while a call rings here.
const ringer = {
  ctx: null, timer: null, on: false,
  set(on) {
    if (on === this.on) return;
    this.on = on;
    if (!on) { clearInterval(this.timer); this.timer = null; return; }
    const burst = () => {
      try {
        this.ctx = this.ctx || new AudioContext();
        const g = this.ctx.createGain();
        g.gain.value = 0.08;
        g.connect(this.ctx.destination);
        for (const f of [440, 480]) {
          const o = this.ctx.createOscillator();
          o.frequency.value = f;
          o.connect(g);
          o.start();
          o.stop(this.ctx.currentTime + 2);
        }
      } catch (e) { /* no audio: the card still shows */ }
    };
    burst();
    this.timer = setInterval(burst, 6000);
  },
};
window.ringer = ringer;

// notifyIncoming shows a browser notification of a ringing call once per
// call, when the page is not in front and the user allowed them.
let notified = "";
function notifyIncoming(caller) {
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden || notified === caller) return;
  notified = caller;
  const n = new Notification("Incoming call", {body: caller ? "From " + caller : "A call is ringing", tag: "switchboard-call"});
  n.onclick = () => { window.focus(); n.close(); };
}

// Keyboard shortcuts: Alt+A answer, Alt+H hang up, Alt+O hold or resume,
// Alt+M mute; each acts only when its button is showing.
document.addEventListener("keydown", (ev) => {
  if (!ev.altKey) return;
  const ids = {a: ["btn-answer"], h: ["btn-hangup"], o: ["btn-hold", "btn-resume"], m: ["btn-mute"]}[ev.key.toLowerCase()];
  if (!ids) return;
  for (const id of ids) {
    const b = document.getElementById(id);
    if (!b.disabled && !b.classList.contains("hidden")) { ev.preventDefault(); b.click(); return; }
  }
});

// The parties table is rebuilt only when the parties change, so a Remove
// button is not replaced under the pointer every second.
let partiesKey = "";
function renderParties(parties) {
  document.getElementById("parties-box").classList.toggle("hidden", !parties.length);
  const key = parties.map((p) => p.id + ":" + (p.held ? "h" : "")).join("|");
  if (key === partiesKey) return;
  partiesKey = key;
  const tb = document.querySelector("#parties tbody");
  tb.replaceChildren();
  for (const p of parties) {
    const tr = document.createElement("tr");
    tr.dataset.party = p.id;
    tr.dataset.kind = p.kind;
    const self = p.kind === "agent" && p.agent === me.username;
    const who = p.kind === "agent" ? "Agent " + p.agent + (self ? " (you)" : "") : p.number || p.kind;
    for (const v of [who + (p.held ? " (on hold)" : ""), p.kind, new Date(p.joined_at).toLocaleTimeString()]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    const td = document.createElement("td");
    if (p.kind !== "caller" && !self) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = "Remove"; b.className = "btn-remove";
      b.setAttribute("aria-label", "Remove " + who);
      b.addEventListener("click", () => act("call-error", () =>
        api("DELETE", "/api/v1/calls/" + current.id + "/conference/" + encodeURIComponent(p.id))));
      td.appendChild(b);
    }
    tr.appendChild(td);
    tb.appendChild(tr);
  }
}

async function act(errId, f) {
  const err = document.getElementById(errId);
  err.textContent = "";
  try { await f(); } catch (e) { err.textContent = e.message; }
}

document.getElementById("btn-available").addEventListener("click", () => {
  // Going available is the moment to ask for notifications of ringing calls.
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  act("state-error", () => api("POST", "/api/v1/agents/" + me.username + "/state", {state: "available"}));
});
document.getElementById("btn-away").addEventListener("click", () =>
  act("state-error", () => api("POST", "/api/v1/agents/" + me.username + "/state",
    {state: "away", reason: document.getElementById("away-reason").value})));
document.getElementById("btn-extend").addEventListener("click", () =>
  act("state-error", () => api("POST", "/api/v1/agents/" + me.username + "/state", {state: "wrap_up", extend_seconds: 30})));
document.getElementById("btn-answer").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/webrtc/answer")));
document.getElementById("btn-reject").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/webrtc/reject")));
document.getElementById("btn-hangup").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/hangup")));
document.getElementById("btn-hold").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/hold", {on: true})));
document.getElementById("btn-resume").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/hold", {on: false})));
document.getElementById("btn-transfer").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/transfer", {to: document.getElementById("transfer-to").value})));

let lastCallId = "";

async function lookupCRM(number) {
  const box = document.getElementById("crm-box");
  try {
    const res = await api("GET", "/api/v1/callers/" + encodeURIComponent(number) + "/crm");
    const dl = document.getElementById("crm");
    dl.replaceChildren();
    for (const f of res.fields) {
      const dt = document.createElement("dt"); dt.textContent = f.name;
      const dd = document.createElement("dd"); dd.textContent = f.value;
      dl.append(dt, dd);
    }
    const link = document.getElementById("crm-link");
    link.href = res.link || "#";
    link.classList.toggle("hidden", !res.link);
    box.classList.remove("hidden");
  } catch (e) {
    box.classList.add("hidden"); // no CRM configured, or it did not answer
  }
}

// renderContact shows an outbound campaign's contact card: the fields of
// the contact's row in the campaign's list.
function renderContact(snap) {
  const lv = snap.live;
  const contact = lv && lv.contact;
  const box = document.getElementById("contact-box");
  box.classList.toggle("hidden", !contact);
  if (!contact) return;
  text("contact-campaign", lv.campaign ? "(campaign " + lv.campaign + ")" : "");
  const dl = document.getElementById("contact");
  dl.replaceChildren();
  for (const k of Object.keys(contact).sort()) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = contact[k];
    dl.append(dt, dd);
  }
}

// renderCues lists the phrases heard on the call (speech analytics), the
// newest first, each with what to do.
function renderCues(lv) {
  const cues = (lv && lv.cues) || [];
  document.getElementById("cues-box").classList.toggle("hidden", !cues.length);
  const ul = document.getElementById("cues");
  const key = JSON.stringify(cues);
  if (ul.dataset.key === key) return; // unchanged: the screen reader is not told again
  ul.dataset.key = key;
  ul.replaceChildren(...cues.slice().reverse().map((c) => {
    const li = document.createElement("li");
    li.dataset.phrase = c.phrase;
    if (c.alert) li.className = "alert";
    const b = document.createElement("strong");
    b.textContent = "\u201c" + c.phrase + "\u201d";
    li.append(b, " " + (c.cue || "") + (c.alert ? " (a supervisor is alerted)" : ""));
    return li;
  }));
}

// The call's automatic summary, once its transcript is made: shown in the
// wrap-up, editable, saved with the disposition.
let summaryOf = "", summaryAsked = 0;
async function loadSummary(id) {
  if (summaryOf === id || Date.now() - summaryAsked < 3000) return;
  summaryAsked = Date.now();
  try {
    const t = await api("GET", "/api/v1/calls/" + id + "/transcript");
    if (id !== lastCallId) return;
    summaryOf = id;
    document.getElementById("summary").value = t.summary || "";
    document.getElementById("summary-box").classList.remove("hidden");
  } catch (e) { /* 404 until it is made: asked again */ }
}

function renderAfter(snap) {
  renderContact(snap);
  const c = snap.call;
  document.getElementById("btn-dispose").disabled = !c;
  if (!c) return;
  if (c.id !== lastCallId) lookupCRM(c.caller);
  const box = document.getElementById("script-box");
  box.classList.toggle("hidden", !snap.script);
  text("script", snap.script || "");
  if (c.id !== lastCallId) { // a new call: fresh form
    lastCallId = c.id;
    const sel = document.getElementById("disposition");
    const free = document.getElementById("disposition-free");
    sel.replaceChildren(...(snap.dispositions || []).map((d) => new Option(d, d)));
    sel.classList.toggle("hidden", !(snap.dispositions || []).length);
    free.classList.toggle("hidden", !!(snap.dispositions || []).length);
    free.value = ""; document.getElementById("tags").value = ""; document.getElementById("notes").value = "";
    text("dispose-status", "");
    summaryOf = ""; summaryAsked = 0;
    document.getElementById("summary").value = "";
    document.getElementById("summary-box").classList.add("hidden");
  }
  if (!snap.call_active) loadSummary(c.id);
  if (snap.disposition) text("dispose-status", "saved: " + snap.disposition.code);
  const tb = document.querySelector("#history tbody");
  tb.replaceChildren();
  for (const h of snap.history || []) {
    const tr = document.createElement("tr");
    for (const v of [new Date(h.arrived_at).toLocaleString(), h.queue || "", h.agent || "", h.outcome, h.disposition || "", h.notes || ""]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    tb.appendChild(tr);
  }
}

document.getElementById("btn-dispose").addEventListener("click", () => act("dispose-error", async () => {
  const sel = document.getElementById("disposition");
  const code = sel.classList.contains("hidden") ? document.getElementById("disposition-free").value : sel.value;
  const tags = document.getElementById("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  const d = await api("POST", "/api/v1/calls/" + lastCallId + "/disposition", {code, tags, notes: document.getElementById("notes").value});
  if (summaryOf === lastCallId) {
    await api("PUT", "/api/v1/calls/" + lastCallId + "/transcript/summary", {summary: document.getElementById("summary").value});
  }
  text("dispose-status", "saved: " + d.code);
}));

for (const b of document.querySelectorAll("#keypad button[data-key]")) {
  b.addEventListener("click", () => act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/dtmf", {digits: b.dataset.key})));
}
document.getElementById("btn-mute").addEventListener("click", () => {
  const pc = window.softphone;
  if (!pc) return;
  const btn = document.getElementById("btn-mute");
  const muted = btn.textContent === "Mute";
  for (const s of pc.getSenders()) if (s.track) s.track.enabled = !muted;
  btn.textContent = muted ? "Unmute" : "Mute";
});
document.getElementById("btn-call").addEventListener("click", () => act("call-error", async () => {
  const r = await api("POST", "/api/v1/calls/click-to-call", {agent: me.username, number: document.getElementById("dial").value});
  selfDial = r.call_id || "";
}));

// ---- preview campaigns: the next contact, dialled or skipped ----

// selfDial is the call the agent placed from this page (Call, a preview's
// Dial): its ring on the softphone is answered for them, and no other's.
// previewing is the contact shown ({campaign, contact}); previewPaused
// stops the panel's polling from a Dial until the agent is free again.
let agentState = "", selfDial = "", previewing = null, previewPaused = 0;

// refreshPreview shows the next contact of a running preview campaign the
// agent works, while they are available and on no call.
async function refreshPreview() {
  const box = document.getElementById("preview-box");
  if (!me || agentState !== "available" || current || Date.now() < previewPaused) { box.classList.add("hidden"); return; }
  if (document.visibilityState !== "visible") return; // claims a contact only for an agent who can see it
  let mine;
  try { mine = await api("GET", "/api/v1/campaigns/mine"); } catch (e) { box.classList.add("hidden"); return; }
  const k = (mine.campaigns || []).find((c) => c.mode === "preview");
  if (!k) { box.classList.add("hidden"); previewing = null; return; }
  let p;
  try { p = await api("GET", "/api/v1/campaigns/" + encodeURIComponent(k.name) + "/preview"); } catch (e) { text("preview-error", e.message); return; }
  box.classList.remove("hidden");
  text("preview-campaign", "(campaign " + k.name + ")");
  previewing = p.contact ? {campaign: k.name, contact: p.contact} : null;
  show("preview-none", !p.contact);
  show("preview-actions", !!p.contact);
  const dl = document.getElementById("preview-contact");
  dl.replaceChildren();
  text("preview-script", "");
  if (!p.contact) return;
  const fields = Object.assign({number: p.contact.number}, p.contact.fields || {});
  if (p.contact.attempts) fields["attempts so far"] = String(p.contact.attempts);
  if (p.contact.last_outcome) fields["last outcome"] = p.contact.last_outcome.replace("_", " ");
  for (const key of Object.keys(fields)) {
    const dt = document.createElement("dt"); dt.textContent = key;
    const dd = document.createElement("dd"); dd.textContent = fields[key];
    dl.append(dt, dd);
  }
  text("preview-script", p.script || "");
}
setInterval(refreshPreview, 5000);

document.getElementById("btn-preview-dial").addEventListener("click", () => act("preview-error", async () => {
  if (!previewing) return;
  previewPaused = Date.now() + 20000; // the poll waits while the call starts
  document.getElementById("preview-box").classList.add("hidden");
  try {
    const r = await api("POST", "/api/v1/campaigns/" + encodeURIComponent(previewing.campaign) + "/preview/dial");
    selfDial = r.call_id || "";
  } catch (e) {
    previewPaused = 0;
    refreshPreview();
    throw e;
  }
}));
document.getElementById("btn-preview-skip").addEventListener("click", () => act("preview-error", async () => {
  if (!previewing) return;
  await api("POST", "/api/v1/campaigns/" + encodeURIComponent(previewing.campaign) + "/preview/skip", {reason: document.getElementById("preview-reason").value});
  refreshPreview();
}));
document.getElementById("btn-consult").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/consult", {to: document.getElementById("transfer-to").value})));
document.getElementById("btn-complete").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/consult/complete")));
document.getElementById("btn-cancel-consult").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/consult/cancel")));
document.getElementById("btn-conference").addEventListener("click", () => act("call-error", () => {
  const to = document.getElementById("transfer-to").value.trim();
  if (!to) throw new Error("Add to call: enter an extension, queue or number first");
  return api("POST", "/api/v1/calls/" + current.id + "/conference", {to});
}));
document.getElementById("btn-merge").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/conference", {to: ""})));
document.getElementById("btn-leave").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/conference/leave")));
document.getElementById("btn-rec-pause").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/recording/pause")));
document.getElementById("btn-rec-resume").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/recording/resume")));
document.getElementById("btn-rec-start").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/recording/start")));

// holdTimer shows how long the caller has been on hold and reminds the
// agent, with a banner and a short beep. The page is not given the queue's
// hold settings, so it reminds every 60 s of hold until the server's own
// reminders (hold_reminder events on the call, read while the call is
// held) show the queue's interval, which it then uses for that queue.
const holdTimer = {
  callID: "", queue: "", since: 0, // ms of the hold's start, 0 when not held
  lastAlert: 0, // ms since the hold started, of the last reminder shown
  seen: new Set(), polled: 0,
  interval(queue) { return Number(sessionStorage.getItem("switchboard.remind_every." + queue)) || 60; },

  update(callID, queue, since) {
    const ms = since ? since.getTime() : 0;
    if (callID !== this.callID || ms !== this.since) {
      this.seen.clear(); this.lastAlert = 0; this.polled = 0;
      hideHoldAlert();
    }
    this.callID = callID; this.queue = queue; this.since = ms;
    this.tick();
  },

  tick() {
    const el = document.getElementById("hold-timer");
    el.classList.toggle("hidden", !this.since);
    if (!this.since) return;
    const held = Math.max(0, Date.now() - this.since);
    el.textContent = "On hold " + mmss(held / 1000);
    const every = this.interval(this.queue) * 1000;
    if (Math.floor(held / every) > Math.floor(this.lastAlert / every)) this.alert(held);
    if (Date.now() - this.polled > 3000) { this.polled = Date.now(); this.poll(); }
  },

  alert(held) {
    this.lastAlert = held;
    text("hold-alert-text", "The caller has been on hold for " + mmss(held / 1000) + ": pick them up again or tell them how long.");
    document.getElementById("hold-alert").classList.remove("hidden");
    beep();
  },

  // poll reads the call's hold reminders: each new one shows the alert
  // (unless the timer just did) and teaches the queue's interval.
  async poll() {
    const id = this.callID, since = this.since;
    let rec;
    try { rec = await api("GET", "/api/v1/calls/" + id); } catch (e) { return; }
    if (id !== this.callID || since !== this.since) return; // the hold ended meanwhile
    for (const ev of rec.events || []) {
      if (ev.kind !== "hold_reminder" || new Date(ev.at).getTime() < since - 1000 || this.seen.has(ev.seq)) continue;
      this.seen.add(ev.seq);
      const m = /reminder=(\d+) held=(\S+)/.exec(ev.detail || "");
      const every = m ? goSeconds(m[2]) / Number(m[1]) : 0;
      if (every >= 1 && this.queue) sessionStorage.setItem("switchboard.remind_every." + this.queue, String(Math.round(every)));
      const held = Date.now() - since;
      if (held - this.lastAlert > Math.min(10000, this.interval(this.queue) * 500)) this.alert(held);
    }
  },
};
setInterval(() => holdTimer.tick(), 1000);

function hideHoldAlert() { document.getElementById("hold-alert").classList.add("hidden"); }
document.getElementById("btn-hold-alert-ok").addEventListener("click", hideHoldAlert);

function mmss(s) {
  s = Math.floor(s);
  return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
}

// goSeconds reads a Go duration as the server writes it ("1m30s", "45s").
function goSeconds(d) {
  let s = 0;
  for (const [, n, u] of d.matchAll(/([\d.]+)(h|ms|m|s)/g)) s += Number(n) * {h: 3600, m: 60, s: 1, ms: 0.001}[u];
  return s;
}

// beep plays a short tone. Browsers start audio only after a click on the
// page, so the context is made (or resumed) on the first click.
let audioCtx = null;
document.addEventListener("click", () => {
  if (!audioCtx && window.AudioContext) audioCtx = new AudioContext();
  if (audioCtx && audioCtx.state === "suspended") audioCtx.resume();
}, true);
function beep() {
  if (!audioCtx) return;
  const osc = audioCtx.createOscillator(), gain = audioCtx.createGain();
  osc.frequency.value = 880;
  gain.gain.setValueAtTime(0.2, audioCtx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audioCtx.currentTime + 0.25);
  osc.connect(gain).connect(audioCtx.destination);
  osc.start(); osc.stop(audioCtx.currentTime + 0.25);
}

// myScores lists the agent's own quality scores and reviewers' comments.
async function myScores() {
  let scores;
  try { scores = await api("GET", "/api/v1/qa/scores"); } catch (e) { return; }
  const tb = document.querySelector("#scores tbody");
  tb.replaceChildren();
  for (const q of scores || []) {
    const tr = document.createElement("tr");
    tr.dataset.call = q.call_id;
    for (const v of [new Date(q.at).toLocaleString(), q.call_id.slice(-6), q.scorecard,
      Math.round(q.score) + (q.auto_failed ? " (auto-fail)" : ""), q.reviewer, q.comment || ""]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    tb.appendChild(tr);
  }
}
