/* deflect inbox: the softphone. Calls the IVR puts through to a queue's agents (a bridge to
 * inbox:<queue>) ring here while the agent is available (phone.call events on the live
 * feed); the first to answer talks to the caller over WebRTC: mute, hold (the caller hears
 * music), keypad (RFC 4733 by RTCDTMFSender), hang up, a call timer. GET /api/v1/phone gives the calls ringing now
 * and the STUN/TURN servers. An agent also calls a WhatsApp customer who allowed calls
 * (Deflect.place, the conversation's Call button: POST /conversations/{id}/call): "calling"
 * until the customer answers, then on air. */
"use strict";
(function () {
  const D = window.Deflect, $ = D.$, h = D.h;
  const t = (id, args) => window.DeflectI18n ? window.DeflectI18n.t(id, args) : id;
  const ringing = new Map(); // id → call, ringing for me
  const declined = new Set();
  const over = new Map(); // id → why, for my own calls that ended before their POST returned
  let iceServers = [], call = null, tone = null, loaded = false;
  const el = {};

  function panel() {
    if (el.root) return el.root;
    el.status = h("p", { "class": "state", role: "status" });
    el.who = h("p", { "class": "who" });
    el.open = h("button", { type: "button", "class": "link", text: t("phone-open"), hidden: true,
      onclick: () => { if (el.open.dataset.id) D.open(Number(el.open.dataset.id)); } });
    el.answer = h("button", { type: "button", "class": "primary", text: t("phone-answer"), onclick: () => answer(first()) });
    el.decline = h("button", { type: "button", text: t("phone-decline"), onclick: decline });
    el.mute = h("button", { type: "button", "aria-pressed": "false", text: t("phone-mute"), onclick: () => toggle(el.mute) });
    el.hold = h("button", { type: "button", "aria-pressed": "false", text: t("phone-hold"), onclick: () => toggle(el.hold) });
    el.hang = h("button", { type: "button", "class": "hang", text: t("phone-hangup"), onclick: () => hangUp(call, true) });
    el.keypad = h("div", { id: "phone-keys", "class": "keys", role: "group", "aria-label": t("phone-keypad"), hidden: true },
      "123456789*0#".split("").map((k) => h("button", { type: "button", text: k, onclick: () => press(k) })));
    el.keys = h("button", { type: "button", "aria-expanded": "false", "aria-controls": "phone-keys", text: t("phone-keypad"),
      onclick: () => { el.keypad.hidden = !el.keypad.hidden; el.keys.setAttribute("aria-expanded", String(!el.keypad.hidden)); } });
    el.ringing = h("div", { "class": "row" }, [el.answer, el.decline]);
    el.talking = h("div", { "class": "row" }, [el.mute, el.hold, el.keys, el.hang]);
    el.audio = h("audio", { autoplay: "" });
    el.root = h("section", { id: "phone", "class": "phone", role: "region", "aria-label": t("phone-label"), hidden: true },
      [el.status, el.who, el.open, el.ringing, el.talking, el.keypad, el.audio]);
    document.body.append(el.root);
    return el.root;
  }

  const available = () => $("#presence") && $("#presence").value === "available";
  // The call to show while none is on: the oldest ringing that I did not decline.
  const first = () => [...ringing.values()].find((c) => !declined.has(c.id));
  const who = (c) => c.state === "calling" || (call && call.placed && call.c === c)
    ? t("phone-to", { caller: c.caller || "", channel: c.channel })
    : t("phone-from", { caller: c.caller || t("phone-unknown-caller"), queue: c.queue, channel: c.channel });

  function draw() {
    panel();
    const c = call ? call.c : (available() ? first() : null);
    el.root.hidden = !c && !(call && call.ended);
    ring(!call && !!c);
    if (!c) return;
    el.who.textContent = who(c);
    el.open.hidden = !c.conversation_id;
    el.open.dataset.id = c.conversation_id || "";
    el.ringing.hidden = !!call;
    // An agent's own call shows Hang up while it rings. The keypad only for a caller who
    // takes keys (a phone caller, RFC 4733 on its trunk; not a WhatsApp or widget caller).
    el.talking.hidden = !call || call.ended || (!call.at && !call.placed);
    el.keys.hidden = !!call && !call.c.takes_digits;
    if (el.talking.hidden || el.keys.hidden) { el.keypad.hidden = true; el.keys.setAttribute("aria-expanded", "false"); }
    if (!call) el.status.textContent = t("phone-ringing");
  }

  // A soft two-tone ring while a call rings (none when the inbox's sound is off).
  function ring(on) {
    if (!on || localStorage.getItem("deflect.muted") === "1") {
      if (tone) { clearInterval(tone.timer); tone.ctx.close().catch(() => {}); tone = null; }
      return;
    }
    if (tone) return;
    try {
      const ctx = new AudioContext();
      const burst = () => {
        for (const [f, at] of [[440, 0], [480, 0.4]]) {
          const o = ctx.createOscillator(), g = ctx.createGain();
          o.frequency.value = f; g.gain.value = 0.05;
          o.connect(g).connect(ctx.destination);
          o.start(ctx.currentTime + at); o.stop(ctx.currentTime + at + 0.35);
        }
      };
      burst();
      tone = { ctx, timer: setInterval(burst, 3000) };
    } catch (e) { /* no sound */ }
  }

  // Declined: it stops ringing here; once every agent declined, the caller's flow goes on.
  function decline() {
    const c = first();
    if (!c) return;
    declined.add(c.id);
    D.api("POST", "/phone/calls/" + encodeURIComponent(c.id) + "/decline").catch(() => {});
    draw();
  }

  function gathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
      // Whatever is gathered by then (host candidates come at once).
      setTimeout(resolve, 3000);
    });
  }

  // Call `c` is on this phone now (`placed`: the agent's own), the panel saying `status`.
  function begin(c, placed, status) {
    const pc = new RTCPeerConnection({ iceServers });
    const k = call = { c, pc, at: 0, timer: null, placed };
    draw();
    el.status.textContent = t(status);
    el.mute.setAttribute("aria-pressed", "false"); el.hold.setAttribute("aria-pressed", "false");
    pc.ontrack = (e) => { el.audio.srcObject = e.streams[0] || new MediaStream([e.track]); el.audio.play().catch(() => {}); };
    // An answered call is on air once connected; an agent's own once the customer answers.
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected" && !k.at && !k.placed) onAir(k);
      else if (pc.connectionState === "failed" || pc.connectionState === "closed") hangUp(k, false);
    };
    return k;
  }

  // The microphone and the complete offer (ICE gathered) of call `k`.
  async function offer(k) {
    const stream = k.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    stream.getAudioTracks().forEach((tr) => { k.sender = k.pc.addTrack(tr, stream); });
    await k.pc.setLocalDescription(await k.pc.createOffer());
    await gathered(k.pc);
    return k.pc.localDescription.sdp;
  }

  // Answers `c`: the microphone, the complete offer to the gateway, its answer.
  async function answer(c) {
    if (!c || call) return;
    const k = begin(c, false, "phone-connecting"), pc = k.pc;
    try {
      const sdp = await offer(k);
      if (call !== k) return;
      const r = await D.api("POST", "/phone/calls/" + encodeURIComponent(c.id) + "/answer", { sdp });
      if (call !== k) { D.api("POST", "/phone/calls/" + encodeURIComponent(c.id) + "/hangup").catch(() => {}); return; }
      k.answered = true;
      await pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
      const tr = k.sender && k.sender.transport;
      if (tr) tr.addEventListener("statechange", () => { if (tr.state === "closed" || tr.state === "failed") hangUp(k, false); });
    } catch (e) {
      if (call !== k) return;
      hangUp(k, false);
      el.status.textContent = t("phone-failed", { error: e.message });
    }
  }

  // Calls the customer of conversation `conv` (WhatsApp, who allowed calls): the microphone,
  // the complete offer to the gateway, its answer; on air once the customer answers.
  async function place(conv) {
    if (call) return;
    panel();
    const c = { id: null, state: "calling", caller: conv.contact_phone, channel: "whatsapp:" + (conv.account || ""), conversation_id: conv.id };
    const k = begin(c, true, "phone-calling"), pc = k.pc;
    try {
      const sdp = await offer(k);
      if (call !== k) return;
      const r = await D.api("POST", "/conversations/" + conv.id + "/call", { sdp });
      k.c = r.call;
      k.answered = true;
      if (call !== k) { D.api("POST", "/phone/calls/" + encodeURIComponent(r.call.id) + "/hangup").catch(() => {}); return; }
      await pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
      if (over.has(r.call.id)) return ended(k, over.get(r.call.id));
      draw();
    } catch (e) {
      if (call !== k) return;
      hangUp(k, false);
      el.status.textContent = t("phone-call-failed", { error: e.message });
    }
  }

  // My own call `k` ended at the gateway, for `reason`.
  function ended(k, reason) {
    hangUp(k, false);
    if (reason) el.status.textContent = t("phone-ended-why", { reason });
  }

  function onAir(k) {
    k.at = Date.now();
    // The call's time, and whether the caller is held.
    const tick = k.tick = () => {
      const s = Math.floor((Date.now() - k.at) / 1000), held = el.hold.getAttribute("aria-pressed") === "true";
      el.status.textContent = t(held ? "phone-held" : "phone-on", { time: Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0") });
    };
    tick();
    k.timer = setInterval(tick, 1000);
    draw();
    D.announce(t("phone-connected"));
  }

  // Mute: my microphone off. Hold: neither side hears the other, and the gateway plays its
  // hold music to the caller (POST /phone/calls/{id}/hold); refused, the button goes back.
  function toggle(b) {
    if (!call || !call.stream) return;
    const k = call, on = b.getAttribute("aria-pressed") !== "true";
    b.setAttribute("aria-pressed", String(on));
    silence(k);
    if (b !== el.hold || !k.c.id) return;
    D.api("POST", "/phone/calls/" + encodeURIComponent(k.c.id) + "/hold", { held: on }).catch(() => {
      if (call !== k) return;
      b.setAttribute("aria-pressed", String(!on));
      silence(k);
    });
  }

  // What mute and hold say: my microphone, and what I hear, on or off.
  function silence(k) {
    const muted = el.mute.getAttribute("aria-pressed") === "true", held = el.hold.getAttribute("aria-pressed") === "true";
    k.stream.getAudioTracks().forEach((tr) => { tr.enabled = !muted && !held; });
    el.audio.muted = held;
    if (k.tick) k.tick();
  }

  function press(k) {
    const d = call && call.sender && call.sender.dtmf;
    if (d && d.canInsertDTMF) d.insertDTMF(d.toneBuffer + k, 120, 70);
  }

  // Ends call `k` here (`ours`: the agent hung up, so the gateway is told).
  function hangUp(k, ours) {
    if (!k || call !== k) return;
    if (ours && k.answered && k.c.id) D.api("POST", "/phone/calls/" + encodeURIComponent(k.c.id) + "/hangup").catch(() => {});
    clearInterval(k.timer);
    k.pc.close();
    if (k.stream) k.stream.getTracks().forEach((tr) => tr.stop());
    ringing.delete(k.c.id);
    k.ended = true;
    el.status.textContent = t("phone-ended");
    el.talking.hidden = el.keypad.hidden = true;
    el.keys.setAttribute("aria-expanded", "false");
    D.announce(t("phone-ended"));
    setTimeout(() => { if (call === k) { call = null; draw(); } }, 4000);
  }

  function onCall(c) {
    const me = D.me();
    if (c.state === "ringing") ringing.set(c.id, c);
    else if (c.state === "answered" && c.agent_id !== (me && me.id)) ringing.delete(c.id);
    else if (c.state === "ended") {
      ringing.delete(c.id); declined.delete(c.id);
      if (call && call.c.id === c.id) ended(call, c.reason);
      else if (c.agent_id === (me && me.id) && c.reason) over.set(c.id, c.reason);
    }
    // My own call: the customer answered.
    if (c.state === "answered" && call && call.placed && call.c.id === c.id && !call.at) onAir(call);
    if (c.state === "ringing" && available() && !call) D.announce(who(c));
    draw();
  }

  async function load() {
    try {
      const r = await D.api("GET", "/phone");
      iceServers = r.ice_servers || [];
      for (const c of r.calls) if (c.state === "ringing") ringing.set(c.id, c);
      loaded = true;
      draw();
    } catch (e) { /* signed out: tried again with the next event */ }
  }

  D.place = place;
  D.listeners.push((e) => {
    if (!loaded) load();
    if (e.kind === "phone.call") onCall(e.data.call);
    else if (e.kind === "agent.presence") draw();
  });
  // Once signed in (the session's agent is known), the calls ringing now.
  const wait = setInterval(() => { if (D.me()) { clearInterval(wait); load(); } }, 200);
  document.addEventListener("change", (e) => { if (e.target && e.target.id === "presence") draw(); });
})();
