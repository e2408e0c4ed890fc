// The "call us" page: the browser calls the setup's web_caller.number
// over WebRTC (no login), with a keypad for the IVR's menus.
"use strict";

const call = {pc: null, id: null, stream: null, poll: null};
window.webcall = call; // for the page's tests: the peer connection's stats

function say(s) { document.getElementById("state").textContent = s; }
function fail(s) { document.getElementById("error").textContent = s; }
function show(id, on) { document.getElementById(id).classList.toggle("hidden", !on); }

async function post(method, path, body) {
  const res = await fetch(path, {method, headers: body ? {"Content-Type": "application/json"} : {}, body: body ? JSON.stringify(body) : undefined});
  let data = null;
  try { data = await res.json(); } catch (e) { /* none */ }
  if (!res.ok) throw new Error((data && data.error) || res.statusText);
  return data;
}

async function start() {
  fail("");
  show("btn-call", false);
  say("Connecting…");
  try {
    call.stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: true, noiseSuppression: false, autoGainControl: false}});
  } catch (e) {
    fail("The microphone is needed to call: " + e.message);
    return ended();
  }
  const pc = new RTCPeerConnection();
  call.pc = pc;
  call.stream.getTracks().forEach((t) => pc.addTrack(t, call.stream));
  pc.ontrack = (ev) => { document.getElementById("remote").srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => { if (pc.connectionState === "failed") hangup(); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") resolve(); };
    setTimeout(resolve, 3000);
  });
  let answer;
  try {
    answer = await post("POST", "/api/v1/webcall", {sdp: pc.localDescription.sdp});
  } catch (e) {
    fail(e.message);
    return ended();
  }
  call.id = answer.id;
  await pc.setRemoteDescription({type: "answer", sdp: answer.sdp});
  say("Calling…");
  show("btn-hangup", true);
  show("keypad", true);
  call.poll = setInterval(async () => {
    try {
      const st = await post("GET", "/api/v1/webcall/" + call.id);
      if (st.state === "connected") say("Connected");
      if (st.state === "ended") { say("Call ended"); ended(); }
    } catch (e) { ended(); }
  }, 1000);
}

async function press(key) {
  if (!call.id) return;
  document.getElementById("keys").textContent += key;
  try { await post("POST", `/api/v1/webcall/${call.id}/dtmf`, {digits: key}); } catch (e) { fail(e.message); }
}

async function hangup() {
  if (call.id) { try { await post("DELETE", "/api/v1/webcall/" + call.id); } catch (e) { /* gone already */ } }
  say("Call ended");
  ended();
}

function ended() {
  clearInterval(call.poll);
  if (call.pc) call.pc.close();
  if (call.stream) call.stream.getTracks().forEach((t) => t.stop());
  call.pc = call.stream = call.id = null;
  show("btn-call", true);
  show("btn-hangup", false);
  show("keypad", false);
  document.getElementById("keys").textContent = "";
}

const pad = document.getElementById("keypad");
for (const k of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = k;
  b.id = "key-" + (k === "*" ? "star" : k === "#" ? "pound" : k);
  b.addEventListener("click", () => press(k));
  pad.append(b);
}
document.addEventListener("keydown", (ev) => { if (call.id && /^[0-9*#]$/.test(ev.key)) press(ev.key); });
document.getElementById("btn-call").addEventListener("click", start);
document.getElementById("btn-hangup").addEventListener("click", hangup);
