// Shared by the agent desktop and the wallboard: the API with the session
// cookie, the login form, and the live stream.
"use strict";

async function api(method, path, body) {
  const res = await fetch(path, {
    method, credentials: "same-origin",
    headers: Object.assign({"X-Switchboard-UI": "1"}, body ? {"Content-Type": "application/json"} : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((data && data.error) || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

// login wires the login form; onIn(me) runs once logged in (also when a
// session already exists).
async function login(onIn) {
  const form = document.getElementById("login");
  const app = document.getElementById("app");
  const show = (me) => { form.classList.add("hidden"); app.classList.remove("hidden"); onIn(me); };
  try { show(await api("GET", "/api/v1/me")); return; } catch (e) { /* not logged in */ }
  form.classList.remove("hidden");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = form.querySelector(".error");
    err.textContent = "";
    try {
      await api("POST", "/api/v1/session", {username: form.username.value, password: form.password.value});
      show(await api("GET", "/api/v1/me"));
    } catch (e) { err.textContent = e.message; }
  });
  document.getElementById("logout")?.addEventListener("click", async () => {
    await api("DELETE", "/api/v1/session"); location.reload();
  });
}

// live calls onSnap with every snapshot of the server's stream; the
// browser reconnects by itself after a drop.
function live(onSnap) {
  const es = new EventSource("/api/v1/stream");
  let n = 0;
  es.addEventListener("snapshot", (ev) => {
    document.body.dataset.snapshots = String(++n); // tests wait on fresh snapshots
    onSnap(JSON.parse(ev.data));
  });
  const status = document.getElementById("conn");
  es.onopen = () => { if (status) status.textContent = "live"; };
  es.onerror = () => { if (status) status.textContent = "reconnecting…"; };
  return es;
}

function secs(since) {
  const s = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 1000));
  return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
}

// pendingText says the state an agent asked for during a call, which
// applies when the call and its wrap-up end ("" when none).
function pendingText(a) {
  if (a.pending_state === "away") return "Away after this call" + (a.pending_reason ? " (" + a.pending_reason + ")" : "");
  if (a.pending_state === "logged_out") return "Log out after this call";
  return a.pending_state ? a.pending_state.replace("_", " ") + " after this call" : "";
}

function text(id, v) { const el = document.getElementById(id); if (el) el.textContent = v; }

// The softphone: one WebRTC connection for the whole session; Switchboard
// rings it for each call.
async function connectSoftphone() {
  const btn = document.getElementById("btn-connect");
  btn.classList.add("hidden");
  text("softphone", "connecting…");
  try {
    // Noise suppression off: headsets do their own, and it flattens steady tones (hold music, test tones).
    const stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: true, noiseSuppression: false, autoGainControl: false}});
    const pc = new RTCPeerConnection({iceServers: []});
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    pc.ontrack = (ev) => { document.getElementById("remote").srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    pc.onconnectionstatechange = () => {
      text("softphone", pc.connectionState);
      if (pc.connectionState === "failed" || pc.connectionState === "closed") btn.classList.remove("hidden");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((done) => {
      if (pc.iceGatheringState === "complete") return done();
      pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") done(); });
      setTimeout(done, 3000);
    });
    const ans = await api("POST", "/api/v1/webrtc/offer", {sdp: pc.localDescription.sdp});
    await pc.setRemoteDescription({type: "answer", sdp: ans.sdp});
    window.softphone = pc;
  } catch (e) {
    text("softphone", "not connected: " + e.message);
    btn.classList.remove("hidden");
  }
}
