"use strict";
let me = null, current = null;

login((who) => {
  me = who;
  text("who", who.username);
  live(render);
});

function render(snap) {
  const a = snap.agent;
  if (!a) { text("state", "not an agent"); return; }
  const st = document.getElementById("state");
  st.textContent = a.state.replace("_", " ");
  st.className = "state " + a.state;
  text("reason", a.reason ? "(" + a.reason + ")" : "");
  text("since", "for " + secs(a.since));
  document.getElementById("btn-available").classList.toggle("pressed", a.state === "available");
  document.getElementById("btn-away").classList.toggle("pressed", a.state === "away");
  document.getElementById("btn-extend").disabled = a.state !== "wrap_up";
  const c = snap.call;
  current = (a.state === "on_call" || a.state === "on_hold") && c ? c : null;
  const onCall = !!current;
  text("c-caller", c ? (c.caller_name ? c.caller_name + " <" + c.caller + ">" : c.caller) : "—");
  text("c-queue", c && c.queue ? c.queue : "—");
  text("c-wait", c && c.wait_seconds ? Math.round(c.wait_seconds) + " s" : "—");
  text("c-path", c && c.ivr_path ? c.ivr_path : "—");
  text("c-digits", c && c.digits ? c.digits : "—");
  document.getElementById("btn-hangup").disabled = !onCall;
  document.getElementById("btn-hold").disabled = !onCall || a.state === "on_hold";
  document.getElementById("btn-resume").disabled = !onCall || a.state !== "on_hold";
  document.getElementById("btn-transfer").disabled = !onCall;
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
document.getElementById("btn-hangup").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/hangup")));
document.getElementById("btn-hold").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/hold", {on: true})));
document.getElementById("btn-resume").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/hold", {on: false})));
document.getElementById("btn-transfer").addEventListener("click", () =>
  act("call-error", () => api("POST", "/api/v1/calls/" + current.id + "/transfer", {to: document.getElementById("transfer-to").value})));
