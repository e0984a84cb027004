/* deflect chat widget: the chat window, loaded by widget.js. Vanilla JS in a shadow root.
 *
 * - The visitor is an opaque random token kept in localStorage and sent in the
 *   X-Deflect-Visitor header or the socket's hello — never in a URL.
 * - One WebSocket per conversation: hello with the last event position, so a reconnect
 *   replays exactly what was missed; heartbeat pings; reconnect with back-off (1 s doubling
 *   to 30 s, with jitter, at once when the browser comes back online).
 * - Each message carries an idempotency key; unacknowledged ones are kept (also across a
 *   reload) and sent again after a reconnect — the server stores each key once.
 * - Accessible: a dialog with a label, keyboard use (Escape closes, Enter sends), the
 *   transcript as a live log, status changes announced.
 * - Files: the visitor sends pictures and documents (uploaded with the visitor header, one
 *   message each); files in messages (theirs and agents') are fetched with the same header
 *   and shown as pictures, players or downloads.
 * - After a hand-off: a reload shows the conversation's history up to the move and that it
 *   continues on WhatsApp (no new pre-chat form inviting a second chat) until it is closed.
 * - The WhatsApp offer is not shown while an agent is chatting (from their joining until the
 *   conversation waits again), and waits for the end of a call; agents' replies show the
 *   agent's name.
 * - Calls (sites with a call number): "Call us" places a WebRTC call to the IVR — the
 *   complete offer POSTed, no trickle ICE — with a keypad (RFC 4733 by RTCDTMFSender), mute,
 *   hang-up and a timer. The call ends when deflect closes the DTLS transport. */
(function () {
  "use strict";
  if (window.DeflectChat) return;
  var cfg, base, site, root, el = {}, settings = null;
  var ws = null, wsTimer = null, retry = 0, lastHeard = 0, seq = 0, ready = false;
  var conversation = null, seen = {}, pending = [], typingUntil = 0, lastTyping = 0;
  var escalated = false, handoff = null, ended = false, agentActive = false;
  // The widget's texts in the visitor's language (an instance of its own: the host page may
  // use i18n.js too); English when they cannot be loaded.
  var texts = window.DeflectI18n ? window.DeflectI18n.create() : null;
  function t(id, args) { return texts && texts.lang ? texts.t(id, args) : id; }

  function store(k, v) {
    try { if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) {}
  }
  function load(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  function rand(n) {
    var a = new Uint8Array(n), s = "", abc = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    crypto.getRandomValues(a);
    for (var i = 0; i < n; i++) s += abc[a[i] % abc.length];
    return s;
  }
  function token() {
    var t = load("deflect.visitor");
    if (!t) { t = rand(32); store("deflect.visitor", t); }
    return t;
  }
  var convKey = function () { return "deflect." + site + ".conversation"; };
  var pendKey = function () { return "deflect." + site + ".pending"; };

  function h(tag, attrs, kids) {
    var n = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") n.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), attrs[k]);
      else n.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) n.appendChild(c); });
    return n;
  }

  function api(method, path, body) {
    return fetch(base + "/widget/sites/" + encodeURIComponent(site) + path, {
      method: method,
      headers: { "content-type": "application/json", "x-deflect-visitor": token() },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
        return j;
      });
    });
  }

  var CSS = ":host{all:initial}[hidden]{display:none!important}*{box-sizing:border-box;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}" +
    ".panel{position:fixed;right:20px;bottom:90px;z-index:2147483000;width:370px;max-width:calc(100vw - 24px);" +
    "height:560px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;color:#1b1b1b;" +
    "border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.28);overflow:hidden;font-size:15px}" +
    ".panel[hidden]{display:none}" +
    "header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--c);color:#fff}" +
    "header h2{flex:1;margin:0;font-size:16px}" +
    "button{font:inherit;cursor:pointer;border-radius:8px;border:1px solid transparent;padding:8px 12px}" +
    "button:focus-visible,a:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #ffbf47;outline-offset:1px}" +
    ".x{background:transparent;color:#fff;font-size:20px;padding:2px 8px}" +
    ".log{flex:1;min-height:120px;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f4f6f5}" +
    ".m{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;line-height:1.35}" +
    ".visitor{align-self:flex-end;background:var(--c);color:#fff;border-bottom-right-radius:3px}" +
    ".agent,.bot{align-self:flex-start;background:#fff;border:1px solid #dde3e0;border-bottom-left-radius:3px}" +
    ".system{align-self:center;background:transparent;color:#555;font-size:13px;text-align:center}" +
    ".sending{opacity:.6}.failed{outline:2px solid #c62828}" +
    ".status{padding:6px 12px;font-size:13px;color:#444;background:#fff;border-top:1px solid #eee;min-height:28px}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e6e6e6;background:#fff}" +
    "textarea{flex:1;resize:none;height:44px;padding:10px;border:1px solid #b9c2be;border-radius:8px;font:inherit}" +
    ".send{background:var(--c);color:#fff}.alt{background:#fff;border-color:#b9c2be;color:#1b1b1b}" +
    ".pre{padding:16px;display:flex;flex-direction:column;gap:10px;overflow-y:auto}" +
    ".pre label{display:flex;flex-direction:column;gap:4px;font-size:14px}" +
    ".pre input{padding:9px;border:1px solid #b9c2be;border-radius:8px;font:inherit}" +
    ".err{color:#b00020;font-size:13px}.closed{background:#fff4e5;border-radius:8px;padding:8px 10px;margin:0}.actions{padding:0 10px;background:#fff;text-align:center}" +
    ".actions button{margin:6px 0;padding:6px 10px;font-size:13px}" +
    ".wa{padding:8px 12px;border-top:1px solid #e6e6e6;background:#fff;text-align:center;font-size:14px;max-height:55%;overflow-y:auto}" +
    ".wa svg{width:150px;height:150px}.wa a{display:inline-block;margin-top:6px;background:#25d366;color:#08361c;" +
    "text-decoration:none;font-weight:600;padding:10px 16px;border-radius:8px}" +
    ".choices{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px;white-space:normal}.choices p{flex-basis:100%;margin:2px 0 0;font-size:13px;font-weight:600}" +
    ".choices button{padding:6px 10px;font-size:14px;text-align:left}.choices small{display:block;color:#555}" +
    ".choices a{display:inline-block;background:var(--c);color:#fff;text-decoration:none;padding:7px 12px;border-radius:8px}" +
    ".m img{display:block;max-width:100%;max-height:220px;border-radius:8px;margin-top:4px}.m audio,.m video{display:block;max-width:100%;margin-top:4px}" +
    ".m .doc{color:inherit;text-decoration:underline;cursor:pointer}.clip{padding:8px 10px;font-size:18px;line-height:1}" +
    ".who{display:block;font-size:12px;font-weight:600;color:#555;margin-bottom:2px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".call{padding:8px 12px;border-top:1px solid #e6e6e6;background:#fff;display:flex;flex-direction:column;gap:6px;font-size:14px}" +
    ".call .keys{display:grid;grid-template-columns:repeat(3,1fr);gap:4px}.call .keys button{padding:6px;font-size:16px}" +
    ".call .row{display:flex;gap:6px}.call .row button{flex:1}.call [aria-pressed=true]{background:#e8eceb}.hang{background:#c62828;color:#fff}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100vh;max-height:100vh;border-radius:0}}" +
    "@media (pointer:coarse){.wa .qr{display:none}}";

  function build() {
    var host = h("div", { id: "deflect-chat" });
    document.body.appendChild(host);
    root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(h("style", { text: CSS }));
    }
    el.title = h("h2", { id: "dc-title", text: t("chat-title") });
    el.close = h("button", { "class": "x", type: "button", "aria-label": t("chat-close"), text: "\u00d7", onclick: toggle });
    el.callBtn = h("button", { "class": "x", type: "button", "aria-label": t("call-start"), title: t("call-start"), hidden: "", onclick: startCall });
    el.callBtn.innerHTML = '<svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" ' +
      'd="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z"/></svg>';
    el.log = h("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": t("messages-label"), tabindex: "0" });
    el.status = h("div", { "class": "status", role: "status" });
    el.alert = h("div", { "class": "sr", "aria-live": "assertive" });
    el.text = h("textarea", { id: "dc-text", "aria-label": t("message-input"), placeholder: t("message-input.placeholder"), rows: "1",
      maxlength: "4096", onkeydown: onKey, oninput: onInput });
    el.send = h("button", { "class": "send", type: "submit", text: t("send") });
    el.file = h("input", { type: "file", hidden: "", multiple: "", tabindex: "-1", "aria-hidden": "true",
      accept: "image/jpeg,image/png,application/pdf,application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document," +
        "application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-powerpoint," +
        "application/vnd.openxmlformats-officedocument.presentationml.presentation,text/plain",
      onchange: function (e) { Array.prototype.forEach.call(e.target.files, sendFile); e.target.value = ""; } });
    el.attach = h("button", { "class": "alt clip", type: "button", "aria-label": t("attach"), title: t("attach"),
      text: "\ud83d\udcce", onclick: function () { el.file.click(); } });
    el.form = h("form", { onsubmit: function (e) { e.preventDefault(); sendText(); } }, [el.attach, el.file, el.text, el.send]);
    el.waBtn = h("button", { "class": "alt", type: "button", text: t("whatsapp-continue"), onclick: function () { escalate(true); } });
    el.wa = h("div", { "class": "wa", hidden: "" });
    el.pre = h("div", { "class": "pre" });
    el.actions = h("div", { "class": "actions" });
    el.panel = h("div", { "class": "panel", role: "dialog", "aria-labelledby": "dc-title", hidden: "",
      onkeydown: function (e) { if (e.key === "Escape") toggle(); } },
      [h("header", {}, [el.title, el.callBtn, el.close]), el.pre, el.log, el.wa, buildCall(), el.status, el.actions, el.form, el.alert]);
    el.panel.style.setProperty("--c", cfg.color || "#0b6e4f");
    root.appendChild(el.panel);
    el.log.hidden = true; el.form.hidden = true;
  }

  // The call bar: its state and timer, the keypad, mute and hang-up. A WhatsApp offer that
  // comes during a call waits for its end.
  var call = null, offerAfterCall = null;
  function buildCall() {
    el.callState = h("div", { role: "status" });
    var keys = h("div", { "class": "keys", role: "group", "aria-label": t("call-keypad") });
    "123456789*0#".split("").forEach(function (k) {
      keys.appendChild(h("button", { "class": "alt", type: "button", text: k, onclick: function () { press(k); } }));
    });
    el.mute = h("button", { "class": "alt", type: "button", "aria-pressed": "false", text: t("call-mute"), onclick: mute });
    var hang = h("button", { "class": "hang", type: "button", text: t("call-hangup"), onclick: function () { endCall(call, true); } });
    el.audio = h("audio", { autoplay: "" });
    el.call = h("div", { "class": "call", role: "group", "aria-label": t("call-label"), hidden: "" },
      [el.callState, keys, h("div", { "class": "row" }, [el.mute, hang]), el.audio]);
    return el.call;
  }

  // Places a call: the microphone, the complete offer (candidates gathered) to the gateway,
  // its answer; then the call is on until either side hangs up.
  function startCall() {
    if (call) return;
    var c = call = { pc: new RTCPeerConnection({ iceServers: settings.ice_servers || [] }), at: 0, timer: null };
    el.callBtn.hidden = true; el.call.hidden = false;
    el.mute.setAttribute("aria-pressed", "false");
    el.callState.textContent = t("call-connecting");
    c.pc.ontrack = function (e) {
      el.audio.srcObject = e.streams[0] || new MediaStream([e.track]);
      el.audio.play().catch(function () {});
    };
    c.pc.onconnectionstatechange = function () {
      var st = c.pc.connectionState;
      if (st === "connected" && !c.at) onAir(c);
      else if (st === "failed" || st === "closed") endCall(c, false);
    };
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      c.stream = stream;
      if (call !== c) throw new Error("hung up");
      stream.getAudioTracks().forEach(function (tr) { c.sender = c.pc.addTrack(tr, stream); });
      return c.pc.createOffer();
    }).then(function (o) { return c.pc.setLocalDescription(o); })
      .then(function () { return gathered(c.pc); })
      .then(function () { return api("POST", "/conversations/" + conversation.id + "/call", { sdp: c.pc.localDescription.sdp }); })
      .then(function (r) {
        c.id = r.call_id;
        if (call !== c) { hangUp(c); return; }
        return c.pc.setRemoteDescription({ type: "answer", sdp: r.sdp }).then(function () {
          var tr = c.sender && c.sender.transport;
          if (tr) tr.addEventListener("statechange", function () { if (tr.state === "closed" || tr.state === "failed") endCall(c, false); });
        });
      })
      .catch(function (e) {
        if (call !== c) return;
        endCall(c, true);
        setStatus(t("call-failed", { error: e.message }), true);
      });
  }

  function gathered(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", function () { if (pc.iceGatheringState === "complete") resolve(); });
      // Whatever is gathered by then (host candidates come at once).
      setTimeout(resolve, 3000);
    });
  }

  function onAir(c) {
    c.at = Date.now();
    var tick = function () {
      var s = Math.floor((Date.now() - c.at) / 1000);
      el.callState.textContent = t("call-on", { time: Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0") });
    };
    tick();
    c.timer = setInterval(tick, 1000);
    announce(t("call-connected"));
  }

  function press(k) {
    var d = call && call.sender && call.sender.dtmf;
    if (d && d.canInsertDTMF) d.insertDTMF(d.toneBuffer + k, 120, 70);
  }

  function mute() {
    if (!call || !call.stream) return;
    var on = el.mute.getAttribute("aria-pressed") !== "true";
    call.stream.getAudioTracks().forEach(function (tr) { tr.enabled = !on; });
    el.mute.setAttribute("aria-pressed", String(on));
  }

  function hangUp(c) {
    if (c.id) api("POST", "/conversations/" + conversation.id + "/call/hangup", { call_id: c.id }).catch(function () {});
  }

  // Ends call `c` (`ours`: the visitor hung up, so the gateway is told).
  function endCall(c, ours) {
    if (!c || call !== c) return;
    call = null;
    if (ours) hangUp(c);
    clearInterval(c.timer);
    c.pc.close();
    if (c.stream) c.stream.getTracks().forEach(function (tr) { tr.stop(); });
    el.audio.srcObject = null;
    el.call.hidden = true;
    el.callBtn.hidden = ended;
    bubble("system", t("call-ended"));
    announce(t("call-ended"));
    var offer = offerAfterCall;
    offerAfterCall = null;
    if (offer) escalate(false, offer.reason);
  }

  function announce(t) { el.alert.textContent = ""; setTimeout(function () { el.alert.textContent = t; }, 50); }
  function setStatus(t, loud) { el.status.textContent = t; if (loud) announce(t); }

  var openWanted = false;
  function toggle() {
    // Asked before the window is built (its texts still loading): opened once it is.
    if (!el.panel) { openWanted = !openWanted; return; }
    var opening = el.panel.hidden;
    el.panel.hidden = !opening;
    cfg.button.setAttribute("aria-expanded", String(opening));
    if (opening) {
      var f = el.pre.hidden ? el.text : el.pre.querySelector("input,button");
      if (f) f.focus();
    } else {
      cfg.button.focus();
    }
  }

  function showForm() {
    el.pre.hidden = false; el.log.hidden = true; el.form.hidden = true; el.wa.hidden = true;
    el.actions.textContent = "";
    el.pre.textContent = "";
    var fields = [];
    if (settings.open === false) el.pre.appendChild(h("p", { "class": "closed", role: "note", text: settings.closed_message }));
    el.pre.appendChild(h("p", { text: settings.greeting }));
    function add(name, mode, type) {
      if (mode === "off") return;
      var input = h("input", { name: name, type: type, autocomplete: name === "name" ? "name" : "tel" });
      if (mode === "required") input.setAttribute("required", "");
      el.pre.appendChild(h("label", {}, [document.createTextNode(t("form-" + name + (mode === "required" ? "" : "-optional"))), input]));
      fields.push(input);
    }
    add("name", settings.ask_name, "text");
    add("phone", settings.ask_phone, "tel");
    var err = h("p", { "class": "err", role: "alert" });
    var start = h("button", { "class": "send", type: "button", text: t("form-start"), onclick: function () {
      // The browser's language: the inbox welcomes the visitor in it when it can.
      var body = { language: navigator.language || null, page_url: String(location.href).slice(0, 2048),
        referrer: document.referrer ? document.referrer.slice(0, 2048) : null };
      for (var i = 0; i < fields.length; i++) {
        if (!fields[i].checkValidity()) { err.textContent = t("form-fill-in", { field: fields[i].name }); fields[i].focus(); return; }
        body[fields[i].name] = fields[i].value;
      }
      start.disabled = true;
      api("POST", "/conversations", body).then(function (c) {
        store(convKey(), String(c.id));
        begin(c);
      }).catch(function (e) { err.textContent = e.message; start.disabled = false; });
    } });
    el.pre.appendChild(start);
    el.pre.appendChild(err);
  }

  // Shows conversation `c` and follows it. One that moved to WhatsApp is shown read-only:
  // its history replays up to the move, which says where it continues.
  function begin(c) {
    var moved = c.channel !== "web";
    conversation = c; seq = 0; seen = {}; ended = false; escalated = false; handoff = null; agentActive = false;
    el.pre.hidden = true; el.log.hidden = false; el.form.hidden = moved;
    el.log.textContent = "";
    bubble("system", settings.greeting);
    if (moved) { pending = []; savePending(); }
    pending.forEach(function (p) { p.node = bubble("visitor sending", p.text); });
    el.actions.textContent = "";
    if (settings.whatsapp && !moved) el.actions.appendChild(el.waBtn);
    el.callBtn.hidden = !(settings.calls && !moved && window.RTCPeerConnection);
    connect();
    if (!el.panel.hidden) el.text.focus();
  }

  // A message in the log; `name`: the agent's, shown above their text.
  function bubble(cls, text, name) {
    var n = h("div", { "class": "m " + cls, text: text });
    if (cls.indexOf("visitor") === 0) n.insertBefore(h("span", { "class": "sr", text: t("sr-you") + " " }), n.firstChild);
    else if (cls === "agent" && name) n.insertBefore(h("span", { "class": "who", text: name }), n.firstChild);
    else if (cls === "agent") n.insertBefore(h("span", { "class": "sr", text: t("sr-agent") + " " }), n.firstChild);
    else if (cls === "bot") n.insertBefore(h("span", { "class": "sr", text: t("sr-bot") + " " }), n.firstChild);
    el.log.appendChild(n);
    el.log.scrollTop = el.log.scrollHeight;
    return n;
  }

  function connect() {
    clearTimeout(wsTimer);
    if (ws) { ws.onclose = null; ws.close(); }
    ready = false;
    var url = base.replace(/^http/, "ws") + "/widget/ws?site=" + encodeURIComponent(site);
    var s = ws = new WebSocket(url);
    s.onopen = function () {
      lastHeard = Date.now();
      s.send(JSON.stringify({ type: "hello", token: token(), conversation_id: conversation.id, after_seq: seq }));
    };
    s.onmessage = function (m) {
      lastHeard = Date.now();
      var msg; try { msg = JSON.parse(m.data); } catch (e) { return; }
      onMessage(msg);
    };
    s.onclose = function () {
      if (ws !== s) return;
      ready = false;
      if (ended) return;
      var delay = Math.min(30000, 1000 * Math.pow(2, retry++)) * (0.75 + Math.random() / 2);
      setStatus(t("reconnecting"));
      wsTimer = setTimeout(connect, delay);
    };
  }

  function onMessage(m) {
    if (m.type === "ready") {
      ready = true; retry = 0;
      if (el.status.textContent === t("reconnecting")) setStatus("");
      if (m.conversation.status === "closed") { finish(); return; }
      pending.forEach(function (p) { ws.send(JSON.stringify({ type: "send", text: p.text, key: p.key, reply: p.reply })); });
    } else if (m.type === "event") {
      if (m.seq) { if (m.seq <= seq) return; seq = m.seq; }
      onEvent(m.kind, m.data);
    } else if (m.type === "ack") {
      settle(m.key, m.message && m.message.id);
    } else if (m.type === "error") {
      if (m.key) {
        var p = pending.filter(function (x) { return x.key === m.key; })[0];
        if (p && p.node) { p.node.className = "m visitor failed"; p.node.title = m.error.message; }
        pending = pending.filter(function (x) { return x.key !== m.key; });
        savePending();
      }
      setStatus(m.error.message, true);
      if (!m.key && m.error.code === "not_found") { store(convKey(), null); conversation = null; showForm(); }
    }
  }

  function settle(key, id) {
    var p = pending.filter(function (x) { return x.key === key; })[0];
    if (!p) return;
    pending = pending.filter(function (x) { return x.key !== key; });
    savePending();
    if (id && seen[id]) { if (p.node) p.node.remove(); return; }
    if (p.node) { p.node.className = "m visitor"; if (id) { seen[id] = p.node; p.node.setAttribute("data-id", id); } }
  }

  function onEvent(kind, d) {
    if (kind === "message") {
      if (seen[d.id]) return;
      if (d.from === "visitor" && d.client_key) {
        var p = pending.filter(function (x) { return x.key === d.client_key; })[0];
        if (p) { settle(d.client_key, d.id); return; }
      }
      var i = d.interactive, files = d.attachments || [];
      // A file's placeholder text ("[image]") says nothing the file does not show.
      var text = files.length && !i && /^\[[a-z]+\]$/.test(d.body || "") ? "" : (i && i.body) || d.body || "(" + d.kind + ")";
      var n = bubble(d.from, text, d.from === "agent" ? d.name : null);
      if (files.length) showFiles(n, files);
      if (i && d.from !== "visitor") choices(n, i);
      n.setAttribute("data-id", d.id);
      seen[d.id] = n;
      if (d.from === "agent" || d.from === "bot") { typingUntil = 0; setStatus(""); }
    } else if (kind === "agent_joined") {
      setStatus(t("agent-joined"), true);
      // Being answered here: no WhatsApp offer while the agent chats.
      agentActive = true;
      if (el.waBtn.parentNode) el.waBtn.remove();
      el.wa.hidden = true;
    } else if (kind === "waiting") {
      agentActive = false;
      if (!ended && conversation && conversation.channel === "web") {
        if (handoff) el.wa.hidden = false;
        else if (settings.whatsapp && !el.waBtn.parentNode) el.actions.appendChild(el.waBtn);
      }
      if (!escalated) setStatus(t("waiting-for-agent"));
    } else if (kind === "escalation") {
      if (call) offerAfterCall = { reason: d.reason };
      else escalate(false, d.reason);
    } else if (kind === "continued_on_whatsapp") {
      el.wa.hidden = true;
      el.form.hidden = true;
      el.actions.textContent = "";
      bubble("system", t("continued-on-whatsapp"));
      setStatus(t("continued-on-whatsapp-status"), true);
      ended = true;
      if (ws) ws.close();
    } else if (kind === "closed") {
      finish();
      if (d && d.csat) rate(d.csat, conversation.id);
    } else if (kind === "typing") {
      typingUntil = Date.now() + 4000;
      setStatus(t("agent-typing"));
      setTimeout(function () { if (Date.now() >= typingUntil && el.status.textContent === t("agent-typing")) setStatus(""); }, 4100);
    }
  }

  // An agent's or bot's interactive message: reply buttons and list rows the visitor taps
  // (the tap is sent as their reply: id and title), or a link button.
  function choices(n, i) {
    var box = h("div", { "class": "choices", role: "group", "aria-label": i.type === "list" ? i.button : t("answers-label") });
    function choice(type, id, title, description) {
      box.appendChild(h("button", { "class": "alt", type: "button", onclick: function () { tap(box, type, id, title); } },
        [document.createTextNode(title), description ? h("small", { text: description }) : null]));
    }
    if (i.type === "button") i.buttons.forEach(function (b) { choice("button_reply", b.id, b.title); });
    else if (i.type === "list") i.sections.forEach(function (s) {
      box.appendChild(h("p", { text: s.title }));
      s.rows.forEach(function (r) { choice("list_reply", r.id, r.title, r.description); });
    });
    else if (i.type === "cta_url" && /^https?:\/\//i.test(i.url)) box.appendChild(h("a", { href: i.url, target: "_blank", rel: "noopener", text: i.display_text }));
    n.appendChild(box);
  }

  function tap(box, type, id, title) {
    if (!conversation || ended) return;
    Array.prototype.forEach.call(box.querySelectorAll("button"), function (b) { b.disabled = true; });
    var p = { key: rand(20), text: title, reply: { type: type, id: id, title: title } };
    p.node = bubble("visitor sending", title);
    pending.push(p);
    savePending();
    if (ready) ws.send(JSON.stringify({ type: "send", text: title, key: p.key, reply: p.reply }));
  }

  function finish() {
    ended = true;
    el.callBtn.hidden = true;
    el.form.hidden = true;
    store(convKey(), null);
    bubble("system", t("ended"));
    setStatus("", false);
    el.wa.hidden = true;
    el.actions.textContent = "";
    el.actions.appendChild(h("button", { "class": "alt", type: "button", text: t("new-chat"), onclick: function () {
      el.actions.textContent = ""; showForm();
    } }));
    announce(t("ended"));
    if (ws) ws.close();
  }

  // The satisfaction rating shown as a conversation ends: one button per answer, then the
  // follow-up question with a text box when one is asked.
  function rate(csat, id) {
    var path = "/conversations/" + id + "/rating";
    var box = h("div", { "class": "rating", role: "group", "aria-label": t("rate-label") }, [h("p", { text: csat.question })]);
    var err = h("p", { "class": "err", role: "alert" });
    csat.answers.forEach(function (a) {
      box.appendChild(h("button", { "class": "alt", type: "button", text: a.title, onclick: function () {
        api("POST", path, { score: a.score }).then(function (r) {
          box.textContent = "";
          if (!r.follow_up) { box.appendChild(h("p", { text: t("thanks") })); announce(t("thanks")); return; }
          var text = h("textarea", { "aria-label": r.follow_up, rows: "3", maxlength: "4096" });
          box.appendChild(h("form", { onsubmit: function (e) {
            e.preventDefault();
            if (!text.value.trim()) return;
            api("POST", path, { comment: text.value }).then(function () {
              box.textContent = ""; box.appendChild(h("p", { text: t("thanks") })); announce(t("thanks"));
            }).catch(function (e) { err.textContent = e.message; });
          } }, [h("p", { text: r.follow_up }), text, h("button", { "class": "send", type: "submit", text: t("send") }), err]));
          text.focus();
        }).catch(function (e) { err.textContent = e.message; });
      } }));
    });
    box.appendChild(err);
    el.actions.insertBefore(box, el.actions.firstChild);
  }

  function escalate(chosen, reason) {
    // Not while an agent chats, nor again for a chat that moved already (a reload replays
    // the offer that came before the move).
    if (handoff || !conversation || !settings.whatsapp || agentActive || ended || conversation.channel !== "web") return;
    var closed = reason === "closed";
    escalated = true;
    api("POST", "/conversations/" + conversation.id + "/handoff").then(function (hd) {
      handoff = hd;
      el.wa.textContent = "";
      el.wa.appendChild(h("p", { text: chosen ? t("whatsapp-chosen") : closed ? settings.closed_message :
        t("whatsapp-no-agent") }));
      if (hd.qr_svg) {
        var svg = new DOMParser().parseFromString(hd.qr_svg, "image/svg+xml").documentElement;
        var q = h("div", { "class": "qr", role: "img", "aria-label": t("whatsapp-qr", { code: hd.code }) });
        q.appendChild(document.importNode(svg, true));
        el.wa.appendChild(q);
      }
      el.wa.appendChild(h("a", { href: hd.url, target: "_blank", rel: "noopener", text: t("whatsapp-open") }));
      el.wa.appendChild(h("p", { text: t("whatsapp-reference", { code: hd.code }) }));
      el.wa.hidden = false;
      if (el.waBtn.parentNode) el.waBtn.remove();
      announce(t(closed ? "whatsapp-announce-closed" : "whatsapp-announce-no-agent", { code: hd.code }));
    }).catch(function (e) { escalated = false; setStatus(e.message, true); });
  }

  function savePending() {
    store(pendKey(), pending.length ? JSON.stringify(pending.map(function (p) { return { key: p.key, text: p.text, reply: p.reply }; })) : null);
  }

  function sendText() {
    var t = el.text.value.trim();
    if (!t || !conversation || ended) return;
    var p = { key: rand(20), text: t };
    p.node = bubble("visitor sending", t);
    pending.push(p);
    savePending();
    el.text.value = "";
    if (ready) ws.send(JSON.stringify({ type: "send", text: t, key: p.key }));
  }

  // A file of a message, fetched with the visitor's token (never in a URL).
  function fetchFile(a) {
    return fetch(base + "/widget/sites/" + encodeURIComponent(site) + "/files/" + encodeURIComponent(a.token), {
      headers: { "x-deflect-visitor": token() }
    }).then(function (r) { if (!r.ok) throw new Error(r.statusText); return r.blob(); });
  }
  function sizeOf(n) { return n < 1024 ? n + " B" : n < 1048576 ? Math.round(n / 1024) + " KB" : (n / 1048576).toFixed(1) + " MB"; }
  // Pictures shown, audio and video played in place, documents saved under their name.
  function showFiles(n, files) {
    files.forEach(function (a) {
      var name = a.filename || a.kind;
      if (a.kind === "document") {
        n.appendChild(h("div", {}, [h("a", { "class": "doc", href: "#", text: name + " (" + sizeOf(a.size || 0) + ")", onclick: function (e) {
          e.preventDefault();
          fetchFile(a).then(function (b) {
            var link = h("a", { href: URL.createObjectURL(b), download: name });
            root.appendChild(link); link.click(); link.remove();
          }).catch(function (err) { setStatus(t("file-download-failed", { error: err.message }), true); });
        } })]));
        return;
      }
      var tag = a.kind === "audio" ? "audio" : a.kind === "video" ? "video" : "img";
      var node = h(tag, tag === "img" ? { alt: a.kind === "sticker" ? t("file-sticker") : name } : { controls: "" });
      n.appendChild(node);
      fetchFile(a).then(function (b) { node.src = URL.createObjectURL(b); })
        .catch(function () { node.replaceWith(h("span", { text: "(" + name + " could not be loaded)" })); });
    });
    el.log.scrollTop = el.log.scrollHeight;
  }

  // Sends a picture or document: a message of its own, shown as sending until stored.
  function sendFile(f) {
    if (!conversation || ended) return;
    var node = bubble("visitor sending", f.name);
    var path = "/conversations/" + conversation.id + "/files?filename=" + encodeURIComponent(f.name);
    fetch(base + "/widget/sites/" + encodeURIComponent(site) + path, {
      method: "POST", headers: { "content-type": f.type || "application/octet-stream", "x-deflect-visitor": token() }, body: f
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
        var m = j.message;
        if (seen[m.id]) { node.remove(); return; }
        seen[m.id] = node;
        node.className = "m visitor";
        node.setAttribute("data-id", m.id);
        node.textContent = "";
        node.appendChild(h("span", { "class": "sr", text: t("sr-you") + " " }));
        showFiles(node, (m.attachments || []).map(function (a) {
          return { token: a.url.split("/").pop(), kind: a.kind, size: a.size, filename: a.filename, mime_type: a.mime_type };
        }));
      });
    }).catch(function (e) {
      node.className = "m visitor failed";
      node.title = e.message;
      setStatus(f.name + ": " + e.message, true);
    });
  }

  function onKey(e) { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendText(); } }
  function onInput() {
    var now = Date.now();
    if (ready && now - lastTyping > 2000) { lastTyping = now; ws.send(JSON.stringify({ type: "typing" })); }
  }

  setInterval(function () {
    if (!ws || !conversation || ended) return;
    if (ready) ws.send(JSON.stringify({ type: "ping" }));
    if (ws.readyState === 1 && Date.now() - lastHeard > 45000) ws.close();
  }, 20000);
  window.addEventListener("online", function () { if (conversation && !ended && !ready) { retry = 0; connect(); } });
  window.addEventListener("offline", function () { if (ws && !ended) ws.close(); });

  window.DeflectChat = {
    init: function (c) {
      cfg = c; base = c.base; site = c.site;
      var langs = navigator.languages || [navigator.language];
      var loaded = texts ? texts.load("widget", langs, base).catch(function () { return texts.load("widget", ["en"], base); }).catch(function () {})
        : Promise.resolve();
      loaded.then(start);
    },
    toggle: function () { toggle(); }
  };

  // The chat window, once its texts are loaded: the site's settings, then the stored
  // conversation (if any) or the pre-chat form.
  function start() {
    build();
    if (texts && texts.lang) el.panel.setAttribute("lang", texts.lang);
    if (openWanted) toggle();
    try { pending = JSON.parse(load(pendKey()) || "[]"); } catch (e) { pending = []; }
    api("GET", "").then(function (s) {
      settings = s;
      el.title.textContent = s.title;
      var id = load(convKey());
      if (!id) return showForm();
      return api("GET", "/conversations/" + id).then(function (c) {
        // Closed: a new chat. Open on WhatsApp: its history and where it continues.
        if (c.status === "closed") { store(convKey(), null); showForm(); } else begin(c);
      }, function () { store(convKey(), null); showForm(); });
    }).catch(function (e) { setStatus(t("chat-unavailable", { error: e.message }), true); });
  }
})();
