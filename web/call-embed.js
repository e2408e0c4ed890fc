// Embeds the "call us" page in another site:
//   <script src="https://switchboard.example/static/call-embed.js" async></script>
// adds a "Call us" button that opens the page (an iframe) from the server
// the script came from. The iframe may use the microphone.
(function () {
  "use strict";
  const me = document.currentScript;
  const origin = new URL(me.src).origin;
  const btn = document.createElement("button");
  btn.textContent = me.dataset.label || "Call us";
  btn.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:99999;padding:.8rem 1.2rem;border:0;border-radius:2rem;background:#2fbf71;color:#fff;font:600 1rem system-ui;cursor:pointer";
  let frame = null;
  btn.addEventListener("click", () => {
    if (frame) { frame.remove(); frame = null; return; }
    frame = document.createElement("iframe");
    frame.src = origin + "/call";
    frame.allow = "microphone; autoplay";
    frame.title = "Call us";
    frame.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;z-index:99999;width:24rem;height:34rem;max-width:calc(100vw - 2rem);border:0;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.4)";
    document.body.append(frame);
  });
  document.body.append(btn);
})();
