"use strict";
let me = null, current = null;

login((who) => {
  me = who;
  text("who", who.username);
  live(render);
  connectSoftphone().then(() => { document.getElementById("btn-mute").disabled = !window.softphone; });
});

document.getElementById("btn-connect").addEventListener("click", connectSoftphone);

function render(snap) {
  const a = snap.agent;
  if (!a) { text("state", "not an agent"); return; }
  const st = document.getElementById("state");
  st.textContent = a.state.replace("_", " ");
  st.className = "state " + a.state;
  text("reason", a.reason ? "(" + a.reason + ")" : "");
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
  document.getElementById("btn-answer").disabled = !ringing;
  document.getElementById("btn-reject").disabled = !ringing;
  if (ringing && snap.softphone.caller) text("c-caller", snap.softphone.caller);
  document.getElementById("btn-hangup").disabled = !onCall;
  document.getElementById("btn-hold").disabled = !onCall || a.state === "on_hold";
  document.getElementById("btn-resume").disabled = !onCall || a.state !== "on_hold";
  document.getElementById("btn-transfer").disabled = !onCall || !!snap.consult;
  document.getElementById("btn-consult").disabled = !onCall || !!snap.consult;
  document.getElementById("btn-complete").classList.toggle("hidden", !(snap.consult && snap.consult.connected));
  document.getElementById("btn-cancel-consult").classList.toggle("hidden", !snap.consult);
  text("consult", snap.consult ? (snap.consult.connected ? "talking to " : "ringing ") + snap.consult.target + "; the caller is on hold" : "");
  for (const b of document.querySelectorAll("#keypad button")) b.disabled = !onCall;
  document.getElementById("btn-rec-pause").disabled = !onCall;
  document.getElementById("btn-rec-resume").disabled = !onCall;
  if (!window.softphone) document.getElementById("btn-mute").disabled = true;
}

async function act(errId, f) {
  const err = document.getElementById(errId);
  err.textContent = "";
  try { await f(); } catch (e) { err.textContent = e.message; }
}

document.getElementById("btn-available").addEventListener("click", () =>
  act("state-error", () => api("POST", "/api/v1/agents/" + me.username + "/state", {state: "available"})));
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

function renderAfter(snap) {
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
  }
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
document.getElementById("btn-call").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/click-to-call", {agent: me.username, number: document.getElementById("dial").value})));
document.getElementById("btn-consult").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/consult", {to: document.getElementById("transfer-to").value})));
document.getElementById("btn-complete").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/consult/complete")));
document.getElementById("btn-cancel-consult").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/consult/cancel")));
document.getElementById("btn-rec-pause").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/recording/pause")));
document.getElementById("btn-rec-resume").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/recording/resume")));
