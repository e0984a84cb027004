/* deflect inbox: agents' and supervisors' single-page app over /api/v1 and the live feed
 * (/api/v1/events). Plain JS, no framework, no build step. */
"use strict";
(function () {
  const $ = (s) => document.querySelector(s);
  const ROW = 64;
  let me = null, csrf = null, view = "mine", selected = null, lastEvent = null;
  let chosen = []; // files to send with the next message (File objects)
  let ws = null, retry = 0, heard = 0, ready = false;
  let info = { queues: [], accounts: [] }, agents = new Map();
  const convs = new Map();
  let order = [], nextBefore = null, filters = {};
  // offers: open to me; waiting: mine, whose customer waits for my answer (a reminder came).
  const offers = new Set(), waiting = new Set(), shown = new Map();
  let audio = null, typingTimer = null, boardTimer = null;
  // The views' counts (GET /conversations/counts), the list's order, an agent's search, the
  // server's clock minus ours (offer countdowns), sound muted.
  let counts = null, countsTimer = null, sort = localStorage.getItem("deflect.sort") || "newest", search = "", skew = 0;
  let muted = localStorage.getItem("deflect.muted") === "1";
  // What other files of the inbox (inbox-*.js, loaded after this one) build on: they register
  // views (`views.NAME = { section, render() }`, shown by the nav button data-view=NAME),
  // listen to the live feed (`listeners`) and to the conversation opened (`opened`).
  const views = {}, listeners = [], opened = [];

  function h(tag, attrs, kids) {
    const n = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") n.textContent = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids || []) if (c) n.append(c);
    return n;
  }
  // The page's texts in the agent's language (web/i18n, loaded by lang()).
  const t = (id, args) => window.DeflectI18n ? window.DeflectI18n.t(id, args) : id;
  const when = (ms) => ms ? new Date(ms).toLocaleString() : "";
  const ago = (ms) => { const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? t("duration-seconds", { n: s }) : s < 3600 ? t("duration-minutes", { n: Math.round(s / 60) }) : t("duration-hours", { n: Math.round(s / 3600) }); };
  function announce(t) { const a = $("#announce"); a.textContent = ""; setTimeout(() => { a.textContent = t; }, 50); }
  function key() { const a = new Uint8Array(12); crypto.getRandomValues(a); return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join(""); }

  async function api(method, path, body) {
    const r = await fetch("/api/v1" + path, {
      method, credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf || "" },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    if (r.status === 204) return {};
    const j = await r.json().catch(() => ({}));
    if (!r.ok) {
      if (r.status === 401 && path !== "/session") showLogin();
      const e = new Error((j.error && j.error.message) || r.statusText);
      e.code = j.error && j.error.code;
      throw e;
    }
    return j;
  }

  // ---------------------------------------------------------------- login

  function showLogin() {
    $("#app").hidden = true; $("#login").hidden = false;
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    $("#login-form [name=username]").focus();
  }

  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    $("#login-error").textContent = "";
    try {
      const s = await api("POST", "/session", { username: f.username.value, password: f.password.value });
      f.password.value = "";
      await start(s);
    } catch (err) { $("#login-error").textContent = err.message; }
  });

  $("#logout").addEventListener("click", async () => {
    try { await api("DELETE", "/session"); } catch (e) { /* logged out anyway */ }
    me = null; csrf = null; showLogin();
  });

  // The texts in `preferred` (the agent's choice) or the browser's languages, English last.
  async function lang(preferred) {
    if (!window.DeflectI18n) return;
    try {
      await DeflectI18n.load("inbox", [preferred, ...(navigator.languages || [navigator.language])].filter(Boolean));
      document.documentElement.lang = DeflectI18n.lang;
      DeflectI18n.apply(document);
    } catch (e) { /* the page's English stays */ }
  }
  $("#language").addEventListener("change", async (e) => {
    try {
      me = (await api("PUT", "/me/preferences", { language: e.target.value || null })).agent;
      await lang(me.language);
      showAttention(); badge(); scheduleCounts(); drawList(); drawOffers();
      $("#me").textContent = t("me", { name: me.display_name, role: me.role });
      if (selected) renderHead();
    } catch (err) { announce(err.message); }
  });

  async function start(s) {
    me = s.agent; csrf = s.csrf;
    $("#language").value = me.language || "";
    if (me.language) await lang(me.language);
    if (!audio && window.AudioContext) { try { audio = new AudioContext(); } catch (e) { audio = null; } }
    $("#login").hidden = true; $("#app").hidden = false;
    $("#me").textContent = t("me", { name: me.display_name, role: me.role });
    $("#presence").value = me.presence;
    $("#auto-accept").checked = !!me.auto_accept;
    const sup = me.role !== "agent";
    document.querySelectorAll("[data-role=supervisor]").forEach((b) => { b.hidden = !sup; });
    info = await api("GET", "/queues");
    for (const a of (await api("GET", "/agents")).agents) agents.set(a.id, a);
    fillFilterChoices();
    connect();
    scheduleCounts();
    showAttention();
    await setView(view);
  }

  // Sound on/off (remembered in this browser) and desktop notifications (asked once).
  function showAttention() {
    const m = $("#mute");
    m.setAttribute("aria-pressed", String(muted));
    m.textContent = muted ? t("sound-off") : t("sound-on");
    const n = $("#notify");
    n.hidden = !window.Notification || Notification.permission !== "default" || localStorage.getItem("deflect.notify-asked") === "1";
  }
  $("#mute").addEventListener("click", () => { muted = !muted; localStorage.setItem("deflect.muted", muted ? "1" : "0"); showAttention(); announce(muted ? t("sound-off") : t("sound-on")); });
  $("#notify").addEventListener("click", async () => {
    localStorage.setItem("deflect.notify-asked", "1");
    try { await Notification.requestPermission(); } catch (e) { /* refused */ }
    showAttention();
  });

  $("#auto-accept").addEventListener("change", async (e) => {
    try {
      me = (await api("PUT", "/me/preferences", { auto_accept: e.target.checked })).agent;
      announce(me.auto_accept ? t("auto-accept-on") : t("auto-accept-off"));
    } catch (err) { e.target.checked = !e.target.checked; announce(err.message); }
  });

  $("#presence").addEventListener("change", async (e) => {
    try { await api("PUT", "/me/presence", { presence: e.target.value }); announce(t("presence-changed", { presence: e.target.value })); }
    catch (err) { announce(err.message); }
  });

  // ---------------------------------------------------------------- live feed

  function connect() {
    if (ws) { ws.onclose = null; ws.close(); }
    ready = false;
    const s = ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/events");
    s.onopen = () => { heard = Date.now(); s.send(JSON.stringify({ type: "hello", after: lastEvent })); };
    s.onmessage = (m) => {
      heard = Date.now();
      let msg; try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === "ready") {
        ready = true; retry = 0; document.body.classList.remove("offline"); document.body.classList.add("live");
        // Without a resume position the feed starts now: what changed between loading the
        // view and this moment is in no event, so load the view again.
        if (lastEvent === null) setView(view);
      }
      else if (msg.type === "event") onEvent(msg.event);
    };
    s.onclose = () => {
      if (ws !== s || !me) return;
      ready = false;
      document.body.classList.add("offline"); document.body.classList.remove("live");
      setTimeout(connect, Math.min(30000, 1000 * 2 ** retry++) * (0.75 + Math.random() / 2));
    };
  }
  setInterval(() => {
    if (!ws || !me) return;
    if (ready) ws.send(JSON.stringify({ type: "ping" }));
    if (ws.readyState === 1 && Date.now() - heard > 45000) ws.close();
  }, 20000);

  // Two sounds: an offer (two rising notes) and a customer's message in a conversation the
  // agent holds (one low note); none when muted.
  const SOUNDS = { offer: [[660, 0], [880, 0.16]], message: [[440, 0]], waiting: [[880, 0]] };
  function beep(kind) {
    if (!audio || muted) return;
    try {
      if (audio.state === "suspended") audio.resume();
      for (const [f, at] of SOUNDS[kind || "waiting"]) {
        const o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = f; g.gain.value = 0.15;
        o.connect(g); g.connect(audio.destination);
        o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.15);
      }
    } catch (e) { /* no sound */ }
  }
  // A desktop notification while the inbox is not looked at (permission asked once, from the
  // button in the header).
  function notify(title, body, id) {
    if (!document.hidden || !window.Notification || Notification.permission !== "granted") return;
    try {
      const n = new Notification(title, { body: body || "", tag: "deflect-" + id });
      n.onclick = () => { window.focus(); open(id); n.close(); };
    } catch (e) { /* not shown */ }
  }
  // Conversations needing the agent: offers, and held ones with unread messages.
  function attention() {
    let n = offers.size;
    for (const c of convs.values()) if (c.agent_id === me.id && c.status === "assigned" && c.unread > 0) n++;
    return n;
  }
  function badge() { document.title = t("tab-title", { n: attention() }); }
  function scheduleCounts() {
    if (countsTimer) return;
    countsTimer = setTimeout(async () => {
      countsTimer = null;
      try { counts = (await api("GET", "/conversations/counts")).counts; } catch (e) { return; }
      for (const [v, k] of [["mine", "mine"], ["queue", "queue"], ["waiting", "waiting_for_customer"]]) {
        const b = document.querySelector("nav [data-count=" + v + "]");
        if (!b) continue;
        const x = counts[k];
        b.textContent = x.conversations ? String(x.conversations) : "";
        b.title = t("nav-count-title", { conversations: x.conversations, unread: x.unread });
        b.classList.toggle("unread", x.unread > 0);
      }
    }, 300);
  }

  function onEvent(e) {
    if (e.id > 0) lastEvent = Math.max(lastEvent || 0, e.id);
    if (e.at) skew = e.at - Date.now();
    const c = e.data && e.data.conversation;
    if ((c || e.kind === "message.created") && listEvents) listEvents.push(e);
    if (c) {
      const was = convs.get(c.id) || {};
      const now = Object.assign(was, c);
      if (c.status !== "offered") now.offer_expires_at = null;
      if (c.status === "closed" || c.status === "pending") now.waiting_since = null;
      convs.set(c.id, now);
      if (e.kind === "conversation.offered" && c.agent_id === me.id && c.status === "offered") {
        if (!offers.has(c.id)) {
          offers.add(c.id); beep("offer"); announce(t("offer-announce", { name: label(now) }));
          notify(t("offer-notify"), label(now), c.id);
          refreshOffers();
        }
      } else if (!(c.status === "offered" && c.agent_id === me.id)) offers.delete(c.id);
      if (e.kind === "conversation.reminder" && c.agent_id === me.id && c.status === "assigned") {
        if (!waiting.has(c.id)) { waiting.add(c.id); beep(); announce(t("customer-waiting-announce", { name: label(c) })); }
      } else if (!(c.status === "assigned" && c.agent_id === me.id)) waiting.delete(c.id);
      badge();
      placeInView(now);
      drawOffers();
      scheduleCounts();
      if (selected === c.id) renderHead();
    } else if (e.kind === "message.created") {
      const m = e.data.message;
      if (m.direction === "out" && !m.internal && m.agent_id === me.id && waiting.delete(e.conversation_id)) drawList();
      const looking = selected === e.conversation_id && document.visibilityState === "visible";
      const row = convs.get(e.conversation_id);
      if (row && !m.internal) {
        row.last_message = { id: m.id, direction: m.direction, sender: m.sender, kind: m.kind, body: m.body, created_at: m.created_at };
        if (m.direction === "in") {
          if (!looking) row.unread = (row.unread || 0) + 1;
          if (!row.waiting_since && row.status !== "pending" && row.status !== "closed") row.waiting_since = m.created_at;
          if (!looking && row.agent_id === me.id && row.status === "assigned") {
            beep("message"); notify(label(row), m.body || t("message-placeholder", { kind: m.kind }), row.id);
          }
        } else if (m.agent_id) row.waiting_since = null;
        sortOrder(); drawList(); drawOffers(); badge();
      }
      if (m.direction === "in") scheduleCounts();
      if (selected === e.conversation_id) {
        addMessage(m);
        if (m.direction === "in" && looking) markRead(m.conversation_id, m.id);
      }
    } else if (e.kind === "message.attachments" && shown.has(e.data.message_id)) {
      const box = shown.get(e.data.message_id).querySelector(".files");
      if (box) fillFiles(box, e.data.attachments);
    } else if (e.kind === "message.status" && shown.has(e.data.message_id)) {
      showStatus(shown.get(e.data.message_id), e.data);
    } else if (e.kind === "typing" && selected === e.conversation_id && e.data.by === "visitor") {
      $("#typing").textContent = t("customer-typing");
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { $("#typing").textContent = ""; }, 4000);
    } else if (e.kind === "agent.presence") {
      const a = agents.get(e.data.agent_id);
      if (a) a.presence = e.data.presence;
      if (e.data.agent_id === me.id) $("#presence").value = e.data.presence;
    } else if (e.kind === "agent.role_changed") {
      // Another role shows another inbox: start again with it.
      if (e.data.agent_id === me.id) { location.reload(); return; }
      const a = agents.get(e.data.agent_id);
      if (a) a.role = e.data.role;
    }
    for (const l of listeners) { try { l(e); } catch (err) { console.error(err); } }
    if (view === "board" && !boardTimer) boardTimer = setTimeout(() => { boardTimer = null; renderBoard(); }, 1000);
  }

  // ---------------------------------------------------------------- the list (virtualised)

  function fits(c) {
    if (view === "mine") return c.agent_id === me.id && (c.status === "offered" || c.status === "assigned");
    if (view === "queue") return c.status === "queued";
    if (view === "waiting") return c.status === "pending";
    return false;
  }
  function placeInView(c) {
    const i = order.indexOf(c.id);
    // A search's results and the filtered list of all conversations keep their rows.
    if (view === "all" || search) { if (i >= 0) drawList(); return; }
    const want = fits(c);
    if (want && i < 0) { order.unshift(c.id); sortOrder(); }
    else if (!want && i >= 0) order.splice(i, 1);
    drawList();
  }
  function label(c) { return c.contact_name || c.contact_phone || t("visitor", { reference: c.reference }); }
  // Longest waiting first (those nobody waits on after them, newest first), or newest first.
  function sortOrder() {
    if (sort !== "waiting" || view === "all") return;
    order.sort((x, y) => {
      const a = convs.get(x) || {}, b = convs.get(y) || {};
      const wa = a.waiting_since || Infinity, wb = b.waiting_since || Infinity;
      return wa !== wb ? wa - wb : y - x;
    });
  }
  // Colour of a wait in `queue`: fine, late after its sla_warning, overdue after its sla_breach
  // (2 and 5 minutes unless the queue says otherwise).
  function waitClass(since, queue) {
    const q = info.queues.find((x) => x.name === queue) || {};
    const w = Date.now() + skew - since;
    return w >= (q.sla_breach_ms || 300000) ? "wait breach" : w >= (q.sla_warning_ms || 120000) ? "wait warn" : "wait";
  }
  const clock = (ms) => { const s = Math.max(0, Math.ceil(ms / 1000)); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); };
  const span = (ms) => { const s = Math.max(0, Math.round(ms / 1000)); return s < 60 ? t("duration-seconds", { n: s }) : s < 3600 ? t("duration-minutes", { n: Math.floor(s / 60) }) : t("duration-hours-minutes", { h: Math.floor(s / 3600), m: Math.floor(s % 3600 / 60) }); };
  function initials(c) {
    const n = (c.contact_name || "").trim();
    if (n) return n.split(/\s+/).slice(0, 2).map((w) => Array.from(w)[0] || "").join("").toUpperCase();
    return c.channel === "web" ? "W" : "#";
  }
  const ICONS = { whatsapp: "#i-whatsapp", web: "#i-web", sms: "#i-sms", call: "#i-call", api: "#i-api", relay: "#i-relay" };
  function icon(name, title) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "icon"); svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", ICONS[name] || ICONS.api);
    svg.append(use);
    return h("span", { "class": "ic", title }, [svg, h("span", { "class": "sr", text: title })]);
  }
  // Coloured by the contact (set through the style object: the page's CSP allows no inline style).
  function avatar(hue, text) {
    const a = h("span", { "class": "avatar", "aria-hidden": "true", text });
    a.style.background = "hsl(" + hue + " 45% 40%)";
    return a;
  }
  function previewText(c) {
    const m = c.last_message;
    if (!m) return c.status === "pending" ? t("preview-pending") : "";
    const text = m.body || t("message-placeholder", { kind: m.kind });
    if (m.direction === "in") return text;
    // Another agent's (a colleague's, or a relay's agent on their own WhatsApp): by name.
    if (m.sender === "agent" && m.agent_id !== me.id) return t("preview-agent", { name: m.sender_name || (agents.get(m.agent_id) || {}).display_name || t("sender-agent"), text });
    return t(m.sender === "agent" ? "preview-you" : m.sender === "bot" ? "preview-bot" : "preview-automatic", { text });
  }

  function drawList() {
    const list = $("#list"), spacer = $("#list-spacer");
    spacer.style.height = order.length * ROW + "px";
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5);
    const last = Math.min(order.length, first + Math.ceil(list.clientHeight / ROW) + 10);
    spacer.textContent = "";
    for (let i = first; i < last; i++) {
      const c = convs.get(order[i]);
      if (!c) continue;
      const open_ = c.status === "queued" || c.status === "offered" || c.status === "assigned";
      const hue = (c.contact_id * 47) % 360;
      const n = h("div", { "class": "item" + (c.unread ? " unread" : ""), role: "option", id: "c" + c.id, "aria-selected": String(selected === c.id),
        "data-id": c.id, onclick: () => open(c.id) }, [
        avatar(hue, initials(c)),
        h("div", { "class": "rows" }, [
          h("div", { "class": "l1" }, [
            h("span", { "class": "name", text: label(c) }),
            icon(c.channel, (c.site || c.account) ? t("channel-where", { channel: c.channel, where: c.site || c.account }) : t("channel", { channel: c.channel })),
            c.origin === "call" || c.origin === "api" || c.origin === "relay" ? icon(c.origin, t({ call: "origin-call", api: "origin-api", relay: "origin-relay" }[c.origin])) : null,
            waiting.has(c.id) ? h("span", { "class": "badge waiting", text: t("row-waiting-for-you"), title: t("row-waiting-for-you.title") }) : null,
            h("span", { "class": "grow" }),
            open_ && c.waiting_since ? h("span", { "class": waitClass(c.waiting_since, c.queue), "data-since": c.waiting_since, "data-queue": c.queue, title: t("row-wait.title"), text: span(Date.now() + skew - c.waiting_since) })
              : h("span", { "class": "time", text: ago(c.last_activity_at) }),
          ]),
          h("div", { "class": "l2" }, [
            h("span", { "class": "preview", text: previewText(c) }),
            c.unread ? h("span", { "class": "unread-count", title: t("row-unread.title", { n: c.unread }), text: String(c.unread) }) : null,
            h("span", { "class": "badge " + c.status, text: t("status", { status: c.status }) })
          ])
        ])
      ]);
      n.style.top = i * ROW + "px";
      spacer.append(n);
    }
    const n = order.length;
    $("#count").textContent = search ? t(nextBefore ? "list-results-more" : "list-results", { q: search, n })
      : t(nextBefore ? "list-count-more" : "list-count", { n });
    $("#more").hidden = !nextBefore;
  }
  $("#list").addEventListener("scroll", () => requestAnimationFrame(drawList));
  $("#list").addEventListener("keydown", (e) => {
    if (!order.length || !["ArrowDown", "ArrowUp", "Enter", "Home", "End"].includes(e.key)) return;
    e.preventDefault();
    let i = Math.max(0, order.indexOf(selected));
    if (e.key === "ArrowDown") i = Math.min(order.length - 1, i + (selected ? 1 : 0));
    if (e.key === "ArrowUp") i = Math.max(0, i - 1);
    if (e.key === "Home") i = 0;
    if (e.key === "End") i = order.length - 1;
    const list = $("#list");
    if (i * ROW < list.scrollTop) list.scrollTop = i * ROW;
    if ((i + 1) * ROW > list.scrollTop + list.clientHeight) list.scrollTop = (i + 1) * ROW - list.clientHeight;
    open(order[i], e.key === "Enter");
  });

  function query(extra) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(Object.assign({}, filters, extra || {}))) if (v !== "" && v != null) p.set(k, v);
    return p.toString();
  }
  // Only the latest load of the list applies: one started while another was on its way (a
  // view change, the live feed starting) replaces it. The conversations' events that arrive
  // while it loads are applied again over it, in order: a change the loaded list missed is in
  // one of them (the feed was already listening when the load began).
  let listLoads = 0, listEvents = null;
  async function loadList(more) {
    const load = more ? listLoads : ++listLoads;
    if (!more) listEvents = [];
    let q;
    if (search && view !== "all") q = { q: search, limit: 200 };
    else if (view === "mine") q = { agent_id: me.id, status: "offered,assigned", limit: 1000 };
    else if (view === "queue") q = { status: "queued", limit: 1000 };
    else if (view === "waiting") q = { status: "pending", limit: 1000 };
    else q = Object.assign({ limit: 200 }, filters);
    if (more && nextBefore) q.before_id = nextBefore;
    let r;
    try {
      r = await api("GET", "/conversations?" + new URLSearchParams(Object.entries(q).filter(([, v]) => v !== "" && v != null)));
    } catch (err) {
      if (!more && load === listLoads) listEvents = null;
      throw err;
    }
    if (load !== listLoads) return;
    if (!more) order = [];
    for (const c of r.conversations) { convs.set(c.id, c); order.push(c.id); if (c.status === "offered" && c.agent_id === me.id) offers.add(c.id); }
    nextBefore = r.next_before_id;
    sortOrder();
    badge();
    drawList();
    drawOffers();
    if (!more) { const missed = listEvents; listEvents = null; for (const e of missed) onEvent(e); }
  }
  $("#more").addEventListener("click", () => loadList(true));

  // The offers to me, each a card above the list: who, their last words, a countdown to the
  // offer's end, Accept (key A) and Reject (key X).
  async function refreshOffers() {
    try {
      const r = await api("GET", "/conversations?agent_id=" + me.id + "&status=offered&limit=50");
      for (const c of r.conversations) { convs.set(c.id, Object.assign(convs.get(c.id) || {}, c)); if (c.agent_id === me.id) offers.add(c.id); }
    } catch (e) { return; }
    drawOffers(); badge();
  }
  function drawOffers() {
    const box = $("#offers");
    const cards = [...offers].map((id) => convs.get(id)).filter((c) => c && c.status === "offered" && c.agent_id === me.id);
    box.hidden = !cards.length;
    box.replaceChildren(...cards.map((c) => h("div", { "class": "offer", role: "group", "aria-label": t("offer-label", { name: label(c) }), "data-id": c.id }, [
      h("div", { "class": "l1" }, [h("strong", { text: t("offer-title", { name: label(c) }) }),
        c.offer_expires_at ? h("span", { "class": "countdown", "data-until": c.offer_expires_at, title: t("offer-countdown.title"), text: clock(c.offer_expires_at - Date.now() - skew) }) : null]),
      h("p", { "class": "preview", text: previewText(c) + " · " + c.queue }),
      h("div", {}, [
        h("button", { "class": "primary", "data-act": "accept", "aria-keyshortcuts": "A", text: t("offer-accept"), onclick: () => answerOffer(c.id, "accept") }),
        h("button", { "data-act": "reject", "aria-keyshortcuts": "X", text: t("offer-reject"), onclick: () => answerOffer(c.id, "reject") })])
    ])));
  }
  async function answerOffer(id, how) {
    try {
      await api("POST", "/conversations/" + id + "/" + how);
      announce(how === "accept" ? t("offer-accepted") : t("offer-rejected"));
      if (how === "accept") open(id, true);
    } catch (e) { announce(e.message); }
  }
  // Waiting times and countdowns tick without redrawing the rows.
  setInterval(() => {
    const now = Date.now() + skew;
    document.querySelectorAll("[data-since]").forEach((n) => { const t = Number(n.dataset.since); n.textContent = span(now - t); n.className = waitClass(t, n.dataset.queue); });
    document.querySelectorAll("[data-until]").forEach((n) => { n.textContent = clock(Number(n.dataset.until) - now); });
    document.querySelectorAll("[data-elapsed]").forEach((n) => { n.textContent = span(now - Number(n.dataset.elapsed)); });
  }, 1000);

  $("#search").addEventListener("submit", (e) => {
    e.preventDefault();
    search = e.target.q.value.trim();
    $("#search-clear").hidden = !search;
    loadList();
  });
  $("#search-clear").addEventListener("click", () => { $("#search").q.value = ""; search = ""; $("#search-clear").hidden = true; loadList(); });
  $("#sort").value = sort;
  $("#sort").addEventListener("change", (e) => { sort = e.target.value; localStorage.setItem("deflect.sort", sort); if (sort === "newest") order.sort((x, y) => y - x); else sortOrder(); drawList(); });

  function fillFilterChoices() {
    const f = $("#filters");
    f.queue.replaceChildren(h("option", { value: "", text: t("any") }), ...info.queues.map((q) => h("option", { text: q.name })));
    f.agent_id.replaceChildren(h("option", { value: "", text: t("any") }), ...[...agents.values()].map((a) => h("option", { value: a.id, text: a.display_name })));
  }
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = e.target, day = (v, end) => v ? String(new Date(v + "T00:00:00").getTime() + (end ? 86400000 : 0)) : "";
    filters = { from: day(f.from.value), to: day(f.to.value, true), status: f.status.value, channel: f.channel.value,
      queue: f.queue.value, agent_id: f.agent_id.value, label: f.label.value.trim(), q: f.q.value };
    $("#csv").href = "/api/v1/exports/conversations.csv?" + query();
    loadList();
  });

  // On a phone the list and the conversation are screens of their own: the back button
  // returns to the list.
  $("#back").addEventListener("click", () => {
    document.body.classList.remove("m-conv");
    const row = selected && document.getElementById("c" + selected);
    if (row) row.focus(); else $("#list").focus();
  });

  async function setView(v) {
    if (v !== view) document.body.classList.remove("m-conv");
    view = v;
    document.querySelectorAll("nav button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.view === v)));
    const listy = v === "mine" || v === "queue" || v === "waiting" || v === "all";
    $("#side").hidden = !listy;
    $("#filters").hidden = v !== "all";
    $("#search").hidden = v === "all";
    $("#sort").parentElement.hidden = v === "all";
    $("#board").hidden = v !== "board";
    $("#admin").hidden = v !== "admin";
    for (const [name, x] of Object.entries(views)) x.section.hidden = v !== name;
    $("#conv").hidden = !listy || !selected;
    $("#empty").hidden = !listy || !!selected;
    if (listy) { if (v === "all") $("#csv").href = "/api/v1/exports/conversations.csv?" + query(); await loadList(); }
    if (v === "board") await renderBoard();
    if (v === "admin") await renderAdmin();
    if (views[v]) await views[v].render();
  }
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => setView(b.dataset.view)));

  // ---------------------------------------------------------------- a conversation

  let detail = null;
  async function open(id, focusReply) {
    // Files chosen for another conversation are not sent to this one.
    if (selected !== id && chosen.length) { chosen = []; renderChosen(); }
    if (selected !== id) showTemplates(false);
    selected = id;
    drawList();
    shown.clear();
    $("#messages").textContent = "";
    $("#send-error").textContent = "";
    // Each await may end after another conversation was opened: then this one stops.
    let d;
    try {
      d = (await api("GET", "/conversations/" + id)).conversation;
    } catch (e) { if (selected === id) announce(e.message); return; }
    if (selected !== id) return;
    detail = d;
    convs.set(id, Object.assign(convs.get(id) || {}, detail));
    markRead(id);
    $("#conv").hidden = false; $("#empty").hidden = true;
    document.body.classList.add("m-conv");
    renderHead();
    renderCall();
    for (const f of opened) { try { f(d); } catch (err) { console.error(err); } }
    const canned = (await api("GET", "/canned-answers?conversation_id=" + id)).canned_answers;
    if (selected !== id) return;
    $("#canned").replaceChildren(h("option", { value: "", text: "—" }), ...canned.map((c) => h("option", { value: c.id, text: c.title })));
    let after = 0;
    for (;;) {
      const page = (await api("GET", "/conversations/" + id + "/messages?after=" + after + "&limit=500")).messages;
      if (selected !== id) return;
      page.forEach(addMessage);
      if (page.length < 500) break;
      after = page[page.length - 1].id;
    }
    if (focusReply) $("#reply").focus();
  }

  function addMessage(m) {
    if (shown.has(m.id) || m.conversation_id !== selected) return;
    const auto = m.sender === "automation" || m.sender === "bot";
    const cls = m.internal ? "internal" : m.direction === "in" ? "in" : auto ? "out auto" : "out";
    // A relay's leg to its agent's own WhatsApp is internal: what the agent wrote, what went to them.
    const relayed = m.kind === "relay" ? (m.direction === "in" ? t("relay-from", { name: m.sender_name || "" }) : t("relay-to")) : null;
    const who = relayed || (m.internal ? t("note-by", { name: m.sender_name || (agents.get(m.agent_id) || {}).display_name }) : m.direction === "in" ? t("sender-customer") :
      m.sender === "bot" ? t("sender-bot") : auto ? t("sender-automation") : (agents.get(m.agent_id) || { display_name: m.sender_name || t("sender-agent") }).display_name);
    const files = m.attachments || [];
    // A file's placeholder text ("[image]") says nothing the file does not show.
    const placeholder = files.length && /^\[[a-z]+\]$/.test(m.body || "");
    const n = h("div", { "class": "msg " + cls, "data-id": m.id }, [
      ...(placeholder && !m.interactive ? [] : messageBody(m)),
      files.length ? fillFiles(h("div", { "class": "files" }), files) : null,
      m.kind === "location" ? mapLink(m.payload) : null,
      h("div", { "class": "meta" }, [h("span", { text: who + " · " + t("channel", { channel: m.kind === "sms" ? "sms" : m.channel }) + " · " + when(m.created_at) + " · " }), h("span", { "class": "st" })]),
      h("div", { "class": "failure", role: "status" })
    ]);
    showStatus(n, m);
    shown.set(m.id, n);
    const box = $("#messages");
    const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
    box.append(n);
    if (stick) box.scrollTop = box.scrollHeight;
  }

  // The customer's messages read on WhatsApp as the agent sees them (sent in the background;
  // the gateway sends each receipt once).
  // Also the agent's own read marker: the list's unread count starts after `upto` (default
  // the newest message).
  function markRead(id, upto) {
    const c = convs.get(id);
    if (c && c.unread) { c.unread = 0; drawList(); badge(); }
    api("POST", "/conversations/" + id + "/read", upto ? { message_id: upto } : undefined).then(scheduleCounts, () => {});
  }
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && selected && $("#conv").hidden === false) markRead(selected); });

  // An outgoing message's delivery as ticks (queued 🕓, sent ✓, delivered ✓✓, read ✓✓ in
  // blue, failed ⚠), with the provider's error explained and what the agent can do.
  const TICKS = { queued: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };
  function showStatus(n, s) {
    const st = n.querySelector(".st"), box = n.querySelector(".failure");
    if (!st || !box) return;
    const tick = TICKS[s.status];
    st.className = "st " + s.status;
    st.textContent = tick ? tick + " " + t("delivery", { status: s.status }) : t("delivery", { status: s.status });
    box.replaceChildren();
    const code = s.error_code ? String(s.error_code) : "none";
    let text = null, action = null;
    if (s.status === "failed") {
      if (s.error_meaning === "outside_window") {
        text = t("failed-window", { code });
        action = h("button", { type: "button", text: t("failed-window-action"), onclick: () => showTemplates(true) });
      } else if (s.error_meaning === "unreachable") {
        text = t("failed-unreachable", { code });
      } else {
        text = s.error_title ? t("failed-reason", { code, reason: s.error_title }) : t("failed-refused", { code });
      }
    } else if (s.status === "queued" && (s.error_code || s.error_title)) {
      text = s.error_meaning === "rate_limited"
        ? t("queued-rate-limited", { code })
        : s.error_title ? t("queued-retry-reason", { code, reason: s.error_title }) : t("queued-retry", { code });
    }
    box.hidden = !text;
    // (append(null) would write "null".)
    if (text) box.append(h("span", { text: text }), ...(action ? [action] : []));
  }

  // A message's text and, for an interactive one, what it offered (shown, never tapped by
  // the agent) or the customer's choice ("↩ title", its id on hover).
  function messageBody(m) {
    const i = m.interactive;
    if (!i) return [h("div", { text: m.body || t("message-kind", { kind: m.kind }) })];
    if (i.type === "call_permission_reply") {
      const answer = i.response !== "accept" ? t("permission-rejected") : i.is_permanent ? t("permission-accepted")
        : t("permission-accepted-until", { until: when((i.expiration_timestamp || 0) * 1000) });
      return [h("div", { "class": "reply", text: "↩ " + answer })];
    }
    if (i.type === "button_reply" || i.type === "list_reply") {
      return [h("div", { "class": "reply", title: t("reply-chosen.title", { id: i.id }), text: "↩ " + i.title }, [h("span", { "class": "sr", text: " " + t("reply-chosen-sr", { id: i.id }) })])];
    }
    const chip = (text, title) => h("li", { "class": "chip", title: title, text: text });
    let offered;
    if (i.type === "button") offered = h("ul", { "class": "offered", "aria-label": t("offered-buttons") }, i.buttons.map((b) => chip(b.title, "id: " + b.id)));
    else if (i.type === "list") {
      offered = h("div", { "class": "offered" }, [h("span", { "class": "chip", text: "☰ " + i.button }),
        ...i.sections.map((sec) => h("ul", { "aria-label": t("offered-list-section", { title: sec.title }) }, [h("li", { "class": "sec", text: sec.title }),
          ...sec.rows.map((r) => chip(r.title + (r.description ? " — " + r.description : ""), "id: " + r.id))]))]);
    } else if (i.type === "cta_url") offered = h("ul", { "class": "offered", "aria-label": t("offered-link") }, [chip("🔗 " + i.display_text, i.url), h("li", { "class": "url", text: i.url })]);
    else if (i.type === "voice_call") offered = h("ul", { "class": "offered", "aria-label": t("offered-call") }, [chip("📞 " + (i.display_text || t("call-text.placeholder")), "")]);
    else if (i.type === "call_permission_request") offered = h("ul", { "class": "offered", "aria-label": t("offered-permission") }, [chip("📞 " + t("offered-permission"), "")]);
    return [h("div", { text: i.body || m.body || "" }), offered];
  }

  // ---------------------------------------------------------------- files, both ways

  const bytes = (n) => n < 1024 ? t("size-bytes", { n }) : n < 1048576 ? t("size-kb", { n: Math.round(n / 1024) }) : t("size-mb", { n: Math.round(n / 104857.6) / 10 });

  // Shows a message's files in `box`: pictures as thumbnails opening full size in a new tab,
  // audio and video with their controls, documents as downloads; pending and failed ones as text.
  function fillFiles(box, files) {
    box.replaceChildren(...files.map((a) => {
      if (a.state === "pending") {
        return h("div", { "class": "file pending", text: a.error ? t("file-downloading-retry", { kind: a.kind, error: a.error }) : t("file-downloading", { kind: a.kind }) });
      }
      if (a.state !== "stored" || !a.url) {
        return h("div", { "class": "file failed", text: a.error ? t("file-failed", { kind: a.kind, error: a.error }) : t("file-failed-unknown", { kind: a.kind }) });
      }
      const name = a.filename || a.kind;
      if (a.kind === "image" || a.kind === "sticker") {
        return h("a", { "class": "file", href: a.url, target: "_blank", rel: "noopener", title: t("file-open.title") },
          [h("img", { "class": "thumb", src: a.url, alt: a.kind === "sticker" ? t("file-sticker") : a.filename || t("file-picture"), loading: "lazy" })]);
      }
      if (a.kind === "audio") return h("audio", { "class": "file", controls: true, preload: "metadata", src: a.url });
      if (a.kind === "video") return h("video", { "class": "file video", controls: true, preload: "metadata", src: a.url });
      return h("a", { "class": "file doc", href: a.url, download: name, text: name + " (" + bytes(a.size || 0) + ")" });
    }));
    return box;
  }

  // A shared location's link to the map (Meta's location, Twilio's Latitude/Longitude).
  function mapLink(p) {
    const l = (p && p.location) || {};
    const lat = parseFloat(l.latitude !== undefined ? l.latitude : p && p.Latitude);
    const lon = parseFloat(l.longitude !== undefined ? l.longitude : p && p.Longitude);
    if (!isFinite(lat) || !isFinite(lon)) return null;
    return h("a", { "class": "file", href: "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=16/" + lat + "/" + lon,
      target: "_blank", rel: "noopener noreferrer", text: t("map-link") });
  }

  // A call's path through the IVR (`call.path`): each step, with how it was left in the
  // agent's language ("retry 1, confirmed" → "herhaling 1, bevestigd").
  function ivrPath(steps) {
    const exit = (part) => {
      const retry = /^retry (\d+)$/.exec(part), skipped = /^(\d+) steps$/.exec(part);
      return retry ? t("call-exit-retry", { n: Number(retry[1]) }) : skipped ? t("call-exit-skipped", { n: Number(skipped[1]) }) : t("call-exit", { exit: part });
    };
    return (steps || []).map((s) => s.exit ? s.step + " (" + s.exit.split(", ").map(exit).join(", ") + ")" : s.step).join(" → ");
  }

  function renderCall() {
    const call = detail.call, box = $("#call");
    box.hidden = !call;
    if (!call) return;
    const dl = h("dl");
    const add = (k, v) => { dl.append(h("dt", { text: k }), h("dd", { text: v || "—" })); };
    add(t("call-caller"), call.caller); add(t("call-dialled"), call.dialled_number);
    add(t("call-callback"), call.callback_number); add(t("call-wait"), t("duration-seconds", { n: Math.round((call.ended_at - call.started_at) / 1000) }));
    add(t("call-input"), t("call-input-method", { method: call.input_method })); add(t("call-time"), when(call.started_at));
    if (call.transcript) add(t("call-transcript"), call.transcript);
    if (call.path && call.path.length) add(t("call-path"), ivrPath(call.path));
    box.replaceChildren(h("strong", { text: t("call-heading") }), dl);
  }

  function windowOpen(c) {
    return c.channel !== "whatsapp" || (c.last_inbound_at && Date.now() - c.last_inbound_at < 24 * 3600 * 1000);
  }

  // The transfer picker's agent loads (GET /agents), read at most every 10 s.
  let transferLoads = { at: 0, r: null };
  function renderHead() {
    const c = convs.get(selected);
    if (!c) return;
    $("#conv-title").textContent = label(c) + " · " + c.reference;
    const act = $("#conv-actions");
    act.textContent = "";
    act.append(h("span", { "class": "badge " + c.status, text: t("status", { status: c.status }) }), h("span", { "class": "muted", text: t("channel", { channel: c.channel }) + (c.account ? " · " + c.account : "") + " · " + c.queue }));
    if (c.contact_phone && (c.contact_name || c.contact_form_phone)) act.append(h("span", { "class": "muted", text: c.contact_form_phone ? t("form-phone", { phone: c.contact_phone, form: c.contact_form_phone }) : c.contact_phone }));
    const sup = me.role !== "agent";
    // The customer's satisfaction rating (supervisors and admins).
    if (sup && c.csat_score != null) act.append(h("span", { "class": "muted", title: t("csat.title"), text: c.csat_comment ? t("csat-comment", { score: c.csat_score, comment: c.csat_comment }) : t("csat", { score: c.csat_score }) }));
    const run = (f) => async () => { try { await f(); } catch (e) { $("#send-error").textContent = e.message; announce(e.message); } };
    if (c.status === "offered" && c.agent_id === me.id) {
      act.append(h("button", { "class": "primary", "data-act": "accept", text: t("action-accept"), onclick: run(async () => { await api("POST", "/conversations/" + c.id + "/accept"); announce(t("offer-accepted")); }) }),
        h("button", { "data-act": "reject", text: t("action-reject"), onclick: run(() => api("POST", "/conversations/" + c.id + "/reject")) }));
    }
    if (c.status === "queued") act.append(h("button", { "data-act": "claim", text: t("action-claim"), onclick: run(() => api("POST", "/conversations/" + c.id + "/claim")) }));
    // Calls the WhatsApp customer (who allowed calls) from the agent's softphone.
    if (c.channel === "whatsapp" && c.status !== "closed" && window.Deflect.place) act.append(h("button", { "data-act": "call", text: t("action-call"), onclick: run(() => window.Deflect.place(c)) }));
    // A supervisor steps into a conversation its bot is having; the bot stops at once.
    if (c.status === "bot" && sup) act.append(h("button", { text: t("action-take-over"), onclick: run(async () => { await api("POST", "/conversations/" + c.id + "/claim"); announce(t("taken-over")); }) }));
    if (c.status !== "closed" && (sup || (c.status === "assigned" && c.agent_id === me.id))) {
      // The transfer picker: agents grouped by presence, each with their load ("2/5"), read
      // again whenever the picker is used; an optional note goes with the transfer.
      const others = () => [...agents.values()].filter((a) => a.id !== me.id && !a.disabled);
      const option = (a) => h("option", { value: "a" + a.id, "data-agent": a.id, text: t("transfer-option", { name: a.display_name, presence: a.presence }) });
      const target = h("select", { "aria-label": t("transfer-to"), "data-act": "transfer-to" }, [
        h("optgroup", { label: t("transfer-available") }, others().filter((a) => a.presence === "available").map(option)),
        h("optgroup", { label: t("transfer-away") }, others().filter((a) => a.presence !== "available").map(option)),
        h("optgroup", { label: t("transfer-queues") }, info.queues.map((q) => h("option", { value: "q" + q.name, text: q.name })))
      ]);
      const loads = async (fresh) => {
        try {
          if (fresh === true || Date.now() - transferLoads.at > 10000) transferLoads = { at: Date.now(), r: await api("GET", "/agents") };
          const r = transferLoads.r;
          target.querySelectorAll("option[data-agent]").forEach((o) => {
            const a = agents.get(Number(o.dataset.agent));
            const n = r.load[o.dataset.agent];
            if (a) o.textContent = n === undefined ? t("transfer-option", { name: a.display_name, presence: a.presence })
              : t("transfer-option-load", { name: a.display_name, presence: a.presence, load: n, capacity: r.capacity });
          });
        } catch (e) { /* the names and presence stay */ }
      };
      loads();
      target.addEventListener("focus", () => loads(true));
      const note = h("input", { type: "text", "class": "transfer-note", "aria-label": t("transfer-note"), placeholder: t("transfer-note.placeholder"), maxlength: "2000" });
      act.append(target, note, h("button", { "data-act": "transfer", text: t("action-transfer"), onclick: run(async () => {
        const v = target.value;
        const to = v[0] === "a" ? agents.get(Number(v.slice(1))) : null;
        // An agent who is not available may not see the offer before it returns.
        if (to && to.presence !== "available" &&
          !confirm(t("transfer-confirm", { name: to.display_name, presence: to.presence, back: c.agent_id === me.id ? "you" : "agent" }))) return;
        const body = v[0] === "a" ? { agent_id: Number(v.slice(1)) } : { queue: v.slice(1) };
        if (note.value.trim()) body.note = note.value.trim();
        await api("POST", "/conversations/" + c.id + "/transfer", body);
        note.value = "";
        announce(t("transferred"));
      }) }));
      const q = info.queues.find((x) => x.name === c.queue) || { dispositions: [] };
      const disp = h("select", { "aria-label": t("disposition"), "data-act": "disposition", "data-required": q.disposition_required ? "1" : null }, [h("option", { value: "", text: q.disposition_required ? t("disposition-choose") : t("disposition-none") }), ...q.dispositions.map((d) => h("option", { text: d }))]);
      act.append(disp, h("button", { "data-act": "close", text: t("action-close"), onclick: run(async () => {
        await api("POST", "/conversations/" + c.id + "/close", { disposition: disp.value || null }); announce(t("closed-announce"));
      }) }));
    }
    act.append(h("a", { href: "/api/v1/conversations/" + c.id + "/transcript", download: "", text: t("action-transcript") }));
    const note = $("#window-note");
    note.textContent = "";
    note.hidden = windowOpen(c) || c.status === "closed";
    if (!note.hidden) {
      note.append(t("window-note") + " ",
        h("button", { "class": "primary", text: t("window-choose-template"), onclick: () => showTemplates(true) }), " ",
        h("button", { text: t("window-recontact"), onclick: run(async () => { await api("POST", "/conversations/" + c.id + "/recontact", { client_key: key() }); announce(t("template-sent")); }) }));
    }
    $("#composer").hidden = c.status === "closed" && !sup;
    // WhatsApp cannot deliver to this number: nothing typed here would reach the customer.
    if (unreachable(c)) {
      note.hidden = false;
      note.replaceChildren(t("unreachable-note"));
    }
    lockComposer();
  }

  function unreachable(c) { return !!c && c.channel === "whatsapp" && !!c.unreachable; }
  // Only internal notes can be written to a customer WhatsApp cannot reach.
  function lockComposer() {
    const locked = unreachable(convs.get(selected)) && !$("#as-note").checked;
    $("#composer").querySelectorAll("textarea,button,select,input").forEach((f) => { if (f.id !== "as-note") f.disabled = locked; });
  }
  $("#as-note").addEventListener("change", lockComposer);

  $("#canned").addEventListener("change", async (e) => {
    if (!e.target.value) return;
    try {
      const r = await api("GET", "/canned-answers/" + e.target.value + "/text?conversation_id=" + selected);
      const t = $("#reply");
      t.value = (t.value ? t.value + " " : "") + r.text;
      t.focus();
    } catch (err) { $("#send-error").textContent = err.message; }
    e.target.value = "";
  });

  let lastTyping = 0;
  $("#reply").addEventListener("input", () => {
    if (ready && selected && !$("#as-note").checked && Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      ws.send(JSON.stringify({ type: "typing", conversation_id: selected }));
    }
  });
  $("#reply").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("#composer").requestSubmit(); } });

  // Buttons under a message: reply buttons, a list or a link button (the API's `interactive`).
  function showButtons(open) {
    $("#buttons").hidden = !open;
    $("#add-buttons").setAttribute("aria-expanded", String(open));
    if (open) $("#buttons-kind").focus();
  }
  function showKind() {
    document.querySelectorAll("#buttons [data-kind]").forEach((d) => { d.hidden = d.dataset.kind !== $("#buttons-kind").value; });
  }
  function clearButtons() {
    $("#buttons").querySelectorAll("input,textarea").forEach((f) => { f.value = ""; });
    showButtons(false);
  }
  $("#add-buttons").addEventListener("click", () => showButtons($("#buttons").hidden));
  $("#remove-buttons").addEventListener("click", () => { clearButtons(); $("#add-buttons").focus(); });
  $("#buttons-kind").addEventListener("change", showKind);
  $("#buttons").addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); showButtons(false); $("#add-buttons").focus(); } });
  // The interactive part of the message being written, or null (the server checks the limits).
  function interactive() {
    if ($("#buttons").hidden) return null;
    const kind = $("#buttons-kind").value;
    if (kind === "button") {
      const titles = [1, 2, 3].map((i) => $("#button-" + i).value.trim()).filter(Boolean);
      return { type: "button", buttons: titles.map((t) => ({ id: t, title: t })) };
    }
    if (kind === "list") {
      const rows = $("#list-rows").value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
        const [title, ...rest] = l.split("|").map((p) => p.trim());
        const d = rest.join(" | ");
        return d ? { id: title, title: title, description: d } : { id: title, title: title };
      });
      return { type: "list", button: $("#list-button").value.trim() || "Choose", sections: [{ title: $("#list-section").value.trim() || "Options", rows: rows }] };
    }
    if (kind === "voice_call") {
      const text = $("#call-text").value.trim();
      return text ? { type: "voice_call", display_text: text } : { type: "voice_call" };
    }
    if (kind === "call_permission_request") return { type: "call_permission_request" };
    return { type: "cta_url", display_text: $("#link-text").value.trim(), url: $("#link-url").value.trim() };
  }

  // Files to send: chosen with the picker or dropped on the conversation, listed (name,
  // size, remove) until sent; each is uploaded, then sent as a message of its own.
  function renderChosen() {
    const list = $("#chosen");
    list.hidden = !chosen.length;
    list.replaceChildren(...chosen.map((f, i) => h("li", {}, [
      h("span", { text: f.name + " (" + bytes(f.size) + ")" }),
      h("button", { type: "button", "aria-label": t("file-remove", { name: f.name }), title: t("file-remove.title"), text: "×", onclick: () => { chosen.splice(i, 1); renderChosen(); $("#attach").focus(); } })
    ])));
  }
  function addFiles(files) {
    chosen.push(...Array.from(files || []));
    renderChosen();
  }
  $("#attach").addEventListener("click", () => $("#file-input").click());
  $("#file-input").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
  const conv = $("#conv");
  const dragging = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  conv.addEventListener("dragover", (e) => { if (!dragging(e) || !selected) return; e.preventDefault(); conv.classList.add("dropping"); });
  conv.addEventListener("dragleave", (e) => { if (!conv.contains(e.relatedTarget)) conv.classList.remove("dropping"); });
  conv.addEventListener("drop", (e) => {
    conv.classList.remove("dropping");
    if (!dragging(e) || !selected) return;
    e.preventDefault();
    addFiles(e.dataTransfer.files);
  });

  // Uploads `file` to conversation `id`; the upload (its token and kind) or an error saying why.
  async function upload(id, file) {
    const r = await fetch("/api/v1/conversations/" + id + "/attachments?filename=" + encodeURIComponent(file.name), {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": file.type || "application/octet-stream", "x-csrf-token": csrf || "" },
      body: file
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) {
      if (r.status === 401) showLogin();
      throw new Error(file.name + ": " + ((j.error && j.error.message) || r.statusText));
    }
    return j;
  }

  // Sends the chosen files, the text as the first picture's, video's or document's caption
  // (else as a message of its own first). A refused file stays listed with the reason.
  async function sendFiles(id, text) {
    const errors = [];
    let caption = text;
    for (const f of chosen.slice()) {
      const li = $("#chosen").children[chosen.indexOf(f)];
      if (li) li.classList.add("sending");
      try {
        const up = await upload(id, f);
        const captioned = caption && ["image", "video", "document"].includes(up.kind);
        if (caption && !captioned) {
          addMessage((await api("POST", "/conversations/" + id + "/messages", { text: caption, client_key: key() })).message);
          caption = "";
        }
        const body = { text: captioned ? caption : "", attachments: [{ token: up.token }], client_key: key() };
        addMessage((await api("POST", "/conversations/" + id + "/messages", body)).message);
        if (captioned) caption = "";
        const at = chosen.indexOf(f);
        if (at >= 0) chosen.splice(at, 1);
      } catch (err) {
        errors.push(err.message);
      }
      renderChosen();
    }
    // Nothing carried the text (every file was refused): it stays in the reply box.
    if (caption) $("#reply").value = caption;
    if (errors.length) throw new Error(errors.join(" "));
  }

  // Approved templates of the conversation's account (GET /templates): pick one, fill in its
  // parameters, header and button variables, see the exact text, send (allowed outside the
  // 24 h window).
  let templates = [], template = null, stale = "";
  const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
  const fill = (text, values) => text.replace(PLACEHOLDER, (m, n) => values[n] ? values[n] : m);
  async function showTemplates(open) {
    $("#template").hidden = !open;
    $("#add-template").setAttribute("aria-expanded", String(open));
    if (!open) return;
    const c = convs.get(selected);
    $("#template-info").textContent = t("templates-loading");
    try {
      const r = c && c.account ? await api("GET", "/templates?account=" + encodeURIComponent(c.account)) : { templates: [], refreshes: [] };
      templates = r.templates;
      const failed = r.refreshes.find((x) => x.error);
      stale = !failed ? "" : " " + (failed.succeeded_at ? t("templates-stale", { error: failed.error, time: when(failed.succeeded_at) }) : t("templates-stale-never", { error: failed.error }));
      listTemplates();
    } catch (err) { $("#template-info").textContent = err.message; }
    $("#template-search").focus();
  }
  function listTemplates() {
    const q = $("#template-search").value.trim().toLowerCase(), sel = $("#template-choice");
    const found = templates.filter((x) => x.name.toLowerCase().includes(q));
    sel.replaceChildren(...found.map((x) => h("option", { value: templates.indexOf(x), text: x.name + " · " + x.language + " · " + (x.category || "—") + " · " + x.status })));
    $("#template-info").textContent = (found.length ? t("templates-count", { n: found.length }) : t("templates-none")) + stale;
    if (!found.includes(template)) pickTemplate(found[0] || null);
    else sel.value = String(templates.indexOf(template));
  }
  function field(id, labelText, hint) {
    return h("label", {}, [labelText, h("input", { id: id, "data-t": "1", placeholder: hint || "", oninput: preview })]);
  }
  function pickTemplate(tpl) {
    template = tpl;
    const box = $("#template-fields");
    box.textContent = "";
    if (!tpl) { preview(); return; }
    $("#template-choice").value = String(templates.indexOf(tpl));
    const hd = tpl.header;
    if (hd && hd.type === "text" && hd.parameter) box.append(field("tpl-header", t("template-header", { placeholder: "{{" + hd.parameter + "}}" }), hd.text));
    if (hd && hd.type === "media") box.append(field("tpl-link", t("template-header-media", { format: hd.format }), "https://"));
    tpl.parameters.forEach((p, i) => box.append(field("tpl-p-" + i, t("template-parameter", { placeholder: "{{" + p + "}}" }), tpl.examples[p])));
    tpl.buttons.forEach((b, i) => { if (b.type === "url" && b.parameter) box.append(field("tpl-b-" + i, t("template-button-url", { text: b.text }), b.url)); });
    preview();
  }
  const val = (id) => { const f = document.getElementById(id); return f ? f.value.trim() : ""; };
  function preview() {
    const t = template;
    if (!t) { $("#template-preview").textContent = ""; return; }
    const values = {};
    t.parameters.forEach((p, i) => { values[p] = val("tpl-p-" + i); });
    const parts = [];
    if (t.header && t.header.type === "text") parts.push(fill(t.header.text, t.header.parameter ? { [t.header.parameter]: val("tpl-header") } : {}));
    parts.push(fill(t.body, values));
    if (t.footer) parts.push(t.footer);
    $("#template-preview").textContent = parts.filter((p) => p.trim()).join("\n\n");
  }
  $("#add-template").addEventListener("click", () => showTemplates($("#template").hidden));
  $("#close-template").addEventListener("click", () => { showTemplates(false); $("#add-template").focus(); });
  $("#template-search").addEventListener("input", listTemplates);
  $("#template-choice").addEventListener("change", (e) => pickTemplate(templates[Number(e.target.value)] || null));
  $("#template").addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); showTemplates(false); $("#add-template").focus(); }
    // Enter in a field sends the template, not the reply box's text.
    if (e.key === "Enter" && e.target.tagName === "INPUT") {
      e.preventDefault();
      if (e.target.id === "template-search") $("#template-choice").focus(); else $("#send-template").click();
    }
  });
  $("#send-template").addEventListener("click", async () => {
    const tpl = template;
    $("#send-error").textContent = "";
    if (!tpl || !selected) { $("#send-error").textContent = t("template-choose-first"); return; }
    const body = { name: tpl.name, language: tpl.language, parameters: {}, buttons: [] };
    tpl.parameters.forEach((p, i) => { body.parameters[p] = val("tpl-p-" + i); });
    if (tpl.header && tpl.header.type === "text" && tpl.header.parameter) body.header = { text: val("tpl-header") };
    if (tpl.header && tpl.header.type === "media") body.header = { link: val("tpl-link") };
    tpl.buttons.forEach((b, i) => { if (b.type === "url" && b.parameter) body.buttons.push({ index: i, text: val("tpl-b-" + i) }); });
    try {
      const r = await api("POST", "/conversations/" + selected + "/messages", { template: body, client_key: key() });
      addMessage(r.message);
      showTemplates(false);
      announce(t("template-sent"));
    } catch (err) { $("#send-error").textContent = err.message; announce(err.message); }
  });

  $("#composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("#reply").value.trim();
    if ((!text && !chosen.length) || !selected) return;
    $("#send-error").textContent = "";
    const asNote = $("#as-note").checked;
    const extra = interactive();
    try {
      if (asNote && extra) throw new Error(t("note-no-buttons"));
      if (chosen.length) {
        if (asNote) throw new Error(t("note-no-files"));
        if (extra) throw new Error(t("buttons-no-files"));
        $("#reply").value = "";
        await sendFiles(selected, text);
        return;
      }
      const body = { text: text, client_key: key() };
      if (extra) body.interactive = extra;
      const r = asNote ? await api("POST", "/conversations/" + selected + "/notes", { text: text })
        : await api("POST", "/conversations/" + selected + "/messages", body);
      $("#reply").value = "";
      if (extra) clearButtons();
      addMessage(r.message);
    } catch (err) {
      $("#send-error").textContent = err.message;
      announce(err.message);
    }
  });

  // ---------------------------------------------------------------- supervisors

  // The live board: a queue's name opens its waiting conversations, an agent's name their
  // open ones; waits coloured like the list's; presence with the time in it.
  async function renderBoard() {
    const b = (await api("GET", "/board")).board, box = $("#board");
    const link = (text, label, go) => h("button", { type: "button", "class": "link", "aria-label": label, onclick: go, text });
    const show = (f) => { filters = f; const form = $("#filters"); form.reset(); for (const [k, v] of Object.entries(f)) if (form[k]) form[k].value = v; setView("all"); };
    const qt = h("table", {}, [h("caption", { text: t("board-queues") }), h("tr", {}, ["board-queue", "board-waiting", "board-oldest", "board-offered", "board-with-agents", "board-awaiting-reply"].map((id) => h("th", { text: t(id) })))]);
    for (const q of b.queues) {
      const wait = q.oldest_waiting_since ? h("span", { "class": waitClass(q.oldest_waiting_since, q.name), "data-since": q.oldest_waiting_since, "data-queue": q.name, text: span(Date.now() + skew - q.oldest_waiting_since) }) : "—";
      qt.append(h("tr", {}, [link(q.name, q.name + ": " + t("board-waiting"), () => show({ queue: q.name, status: "queued" })), q.waiting, wait, q.offered, q.assigned, q.pending]
        .map((v) => h("td", {}, [v instanceof Node ? v : document.createTextNode(String(v))]))));
    }
    const at = h("table", {}, [h("caption", { text: t("board-agents") }), h("tr", {}, ["board-agent", "board-role", "board-presence", "board-load", "board-agent-queues"].map((id) => h("th", { text: t(id) })))]);
    for (const a of b.agents) {
      // The time in the state ticks like the waits.
      const state = h("span", {}, [t("presence", { presence: a.presence }),
        a.presence_since ? " · " : null, a.presence_since ? h("span", { "data-elapsed": a.presence_since, text: span(b.at - a.presence_since) }) : null]);
      at.append(h("tr", { "class": "presence-" + a.presence }, [link(a.display_name, a.display_name + ": " + t("nav-all"), () => show({ agent_id: String(a.id) })),
        t("role", { role: a.role }), state, a.load + " / " + a.capacity, a.queues.join(", ")]
        .map((v) => h("td", {}, [v instanceof Node ? v : document.createTextNode(String(v))]))));
    }
    box.replaceChildren(qt, at, h("p", { "class": "muted", text: t("board-updated", { time: when(b.at) }) }));
  }

  let adminRenders = 0;
  const adminParts = [];
  async function renderAdmin() {
    // Built apart and shown at the end, so that two renders in flight never both append.
    const run = ++adminRenders, box = document.createDocumentFragment();
    const fail = (e) => announce(e.message);
    // Canned answers (supervisors and admins).
    const canned = (await api("GET", "/canned-answers")).canned_answers;
    if (run !== adminRenders) return;
    const ct = h("table", {}, [h("tr", {}, ["admin-title", "admin-account", "admin-text", ""].map((id) => h("th", { text: id && t(id) })))]);
    // The form adds an answer, or saves the one being edited (filled in by its Edit button).
    let editingCanned = null;
    const cannedSave = h("button", { type: "submit", text: t("admin-add") });
    const cannedCancel = h("button", { type: "button", text: t("admin-faq-cancel"), hidden: true, onclick: () => renderAdmin() });
    for (const c of canned) ct.append(h("tr", {}, [h("td", { text: c.title }), h("td", { text: c.account || t("admin-all") }), h("td", { text: c.body }),
      h("td", {}, [h("button", { type: "button", text: t("admin-edit"), "aria-label": t("admin-edit-canned", { title: c.title }), onclick: () => {
        editingCanned = c.id;
        cf.title.value = c.title; cf.account.value = c.account || ""; cf.body.value = c.body;
        cannedSave.textContent = t("settings-save"); cannedCancel.hidden = false; cf.title.focus();
      } }),
      h("button", { text: t("admin-delete"), onclick: () => api("DELETE", "/canned-answers/" + c.id).then(renderAdmin, fail) })])]));
    const cf = h("form", {}, [h("label", {}, [t("admin-title"), h("input", { name: "title", required: true })]),
      h("label", {}, [t("admin-account"), h("select", { name: "account" }, [h("option", { value: "", text: t("admin-all") }), ...info.accounts.map((a) => h("option", { value: a.name, text: a.name }))])]),
      h("label", {}, [t("admin-canned-text", { placeholders: "{{customer_name}}, {{customer_phone}}, {{agent_name}}, {{reference}}" }), h("textarea", { name: "body", required: true, rows: 2, cols: 50 })]),
      cannedSave, cannedCancel]);
    cf.addEventListener("submit", (e) => {
      e.preventDefault();
      const body = { title: cf.title.value, account: cf.account.value || null, body: cf.body.value };
      (editingCanned === null ? api("POST", "/canned-answers", body) : api("PUT", "/canned-answers/" + editingCanned, body)).then(renderAdmin, fail);
    });
    box.append(h("fieldset", {}, [h("legend", { text: t("admin-canned") }), ct, cf]));
    if (me.role !== "admin") return;
    // Agents.
    const list = (await api("GET", "/agents")).agents;
    if (run !== adminRenders) return;
    // Queues and WhatsApp accounts are checkbox groups: a plain agent sees only the accounts
    // ticked here (none ticked: no account's conversations).
    const choices = (legend, names, picked) => h("fieldset", { "class": "choices" }, [h("legend", { text: legend }),
      ...names.map((n) => h("label", {}, [h("input", { type: "checkbox", value: n, checked: picked.includes(n) }), n]))]);
    const ticked = (set) => [...set.querySelectorAll("input:checked")].map((i) => i.value);
    const queueNames = info.queues.map((q) => q.name), accountNames = info.accounts.map((a) => a.name);
    const at = h("table", {}, [h("tr", {}, ["admin-username", "admin-name", "admin-role", "admin-queues", "admin-accounts", ""].map((id) => h("th", { text: id && t(id) })))]);
    for (const a of list) {
      agents.set(a.id, a);
      // The last admin cannot be demoted: the server refuses and the choice goes back.
      const role = h("select", { "aria-label": t("admin-role-of", { username: a.username }), onchange: () =>
        api("PATCH", "/agents/" + a.id, { role: role.value }).then(renderAdmin, (e) => { role.value = a.role; fail(e); }) },
        ["agent", "supervisor", "admin"].map((r) => h("option", { value: r, text: t("role", { role: r }) })));
      role.value = a.role;
      const qs = choices(t("admin-queues-of", { username: a.username }), queueNames, a.queues), as = choices(t("admin-accounts-of", { username: a.username }), accountNames, a.accounts);
      const save = h("button", { text: t("admin-save-queues"), onclick: () =>
        api("PATCH", "/agents/" + a.id, { queues: ticked(qs), accounts: ticked(as) }).then(renderAdmin, fail) });
      at.append(h("tr", {}, [h("td", { text: a.username }), h("td", { text: a.display_name }), h("td", {}, [role]),
        h("td", {}, [qs]), h("td", {}, [as, a.role === "agent" && !a.accounts.length ? h("p", { "class": "err", text: t("admin-no-account") }) : null]),
        h("td", {}, [save, h("button", { text: a.disabled ? t("admin-enable") : t("admin-disable"), onclick: () => api("PATCH", "/agents/" + a.id, { disabled: !a.disabled }).then(renderAdmin, fail) }),
          resetPassword(a, fail)])]));
    }
    const newQueues = choices(t("admin-queues"), queueNames, queueNames), newAccounts = choices(t("admin-whatsapp-accounts"), accountNames, accountNames.length === 1 ? accountNames : []);
    const af = h("form", {}, [h("label", {}, [t("admin-username"), h("input", { name: "username", required: true })]),
      h("label", {}, [t("admin-name"), h("input", { name: "display_name" })]),
      h("label", {}, [t("admin-password"), h("input", { name: "password", type: "password", minlength: 8, required: true, autocomplete: "new-password" })]),
      h("label", {}, [t("admin-role"), h("select", { name: "role" }, ["agent", "supervisor", "admin"].map((r) => h("option", { value: r, text: t("role", { role: r }) })))]),
      newQueues, newAccounts,
      h("button", { type: "submit", text: t("admin-add-agent") })]);
    af.addEventListener("submit", (e) => {
      e.preventDefault();
      if (af.role.value === "agent" && !ticked(newAccounts).length) { announce(t("admin-tick-account")); return; }
      api("POST", "/agents", { username: af.username.value, display_name: af.display_name.value, password: af.password.value, role: af.role.value,
        queues: ticked(newQueues), accounts: ticked(newAccounts) }).then(renderAdmin, fail);
    });
    box.append(h("fieldset", {}, [h("legend", { text: t("admin-agents") }), at, af]));
    // API tokens.
    const tokens = (await api("GET", "/tokens")).tokens;
    if (run !== adminRenders) return;
    const tt = h("table", {}, [h("tr", {}, ["admin-name", "admin-acts-as", "admin-created", "admin-last-used", ""].map((id) => h("th", { text: id && t(id) })))]);
    for (const tok of tokens) tt.append(h("tr", {}, [h("td", { text: tok.name }), h("td", { text: (agents.get(tok.agent_id) || {}).username }),
      h("td", { text: when(tok.created_at) }), h("td", { text: when(tok.last_used_at) || t("never") }),
      h("td", {}, [tok.revoked_at ? h("span", { text: t("admin-revoked") }) : h("button", { text: t("admin-revoke"), onclick: () => api("DELETE", "/tokens/" + tok.id).then(renderAdmin, fail) })])]));
    const tf = h("form", {}, [h("label", {}, [t("admin-name"), h("input", { name: "name", required: true })]),
      h("label", {}, [t("admin-acts-as"), h("select", { name: "agent" }, list.map((a) => h("option", { value: a.id, text: a.username })))]),
      h("button", { type: "submit", text: t("admin-create-token") })]);
    tf.addEventListener("submit", (e) => {
      e.preventDefault();
      api("POST", "/tokens", { name: tf.name.value, agent_id: Number(tf.agent.value) }).then(async (r) => {
        await renderAdmin();
        const s = h("p", { "class": "secret", text: t("admin-new-token", { secret: r.secret }) });
        $("#admin").append(s);
      }, fail);
    });
    box.append(h("fieldset", {}, [h("legend", { text: t("admin-tokens") }), tt, tf]));
    if (!(await renderLists(run, box, fail))) return;
    // The parts other files add (settings, webhooks): each appends its fieldsets to `box`
    // and answers false when a newer render has started.
    for (const part of adminParts) if (!(await part(box, () => run === adminRenders, fail))) return;
    $("#admin").replaceChildren(box);
  }

  // A new password for agent `a`, typed by the admin (8+ characters): a button that opens a
  // one-field form in place.
  function resetPassword(a, fail) {
    const field = h("input", { type: "password", minlength: 8, required: true, autocomplete: "new-password", "aria-label": t("admin-new-password", { username: a.username }) });
    const form = h("form", { "class": "inline", hidden: true }, [field, h("button", { type: "submit", text: t("admin-set-password") })]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      api("PATCH", "/agents/" + a.id, { password: field.value }).then(() => { form.hidden = true; field.value = ""; announce(t("admin-password-changed", { username: a.username })); }, fail);
    });
    const open = h("button", { type: "button", text: t("admin-reset-password"), onclick: () => { form.hidden = false; field.focus(); } });
    return h("span", {}, [open, form]);
  }

  // The whitelist and the FAQ (admins): the configured entries are shown read-only (they
  // change in the configuration file); those added here are deleted, and FAQ entries edited, here.
  const FAQ_LANGUAGES = ["ar", "da", "de", "el", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv", "tr"];
  async function renderLists(run, box, fail) {
    const [wl, fq] = await Promise.all([api("GET", "/whitelist"), api("GET", "/faq")]);
    if (run !== adminRenders) return false;
    const accountSelect = () => h("select", { name: "account" }, [h("option", { value: "", text: t("admin-every-account") }),
      ...info.accounts.map((a) => h("option", { value: a.name, text: a.name }))]);
    const scope = (e) => e.account || t("admin-every-account");
    const source = (e) => e.source === "config" ? t("admin-source-config", { key: e.key }) : t("admin-source-here");
    // Whitelist.
    const wt = h("table", {}, [h("tr", {}, ["admin-account", "admin-pattern", "admin-source", ""].map((id) => h("th", { text: id && t(id) })))]);
    for (const e of wl.whitelist) wt.append(h("tr", {}, [h("td", { text: scope(e) }), h("td", { text: e.pattern }), h("td", { text: source(e) }),
      h("td", {}, [e.source === "api" ? h("button", { type: "button", text: t("admin-delete"), "aria-label": t("admin-delete-pattern", { pattern: e.pattern, scope: scope(e) }),
        onclick: () => api("DELETE", "/whitelist/" + e.id).then(renderAdmin, fail) }) : null])]));
    const wf = h("form", {}, [h("label", {}, [t("admin-account"), accountSelect()]),
      h("label", {}, [t("admin-pattern"), h("input", { name: "pattern", required: true, placeholder: t("admin-pattern.placeholder"), autocomplete: "off" })]),
      h("button", { type: "submit", text: t("admin-whitelist-add") })]);
    wf.addEventListener("submit", (e) => { e.preventDefault(); api("POST", "/whitelist", { account: wf.account.value || null, pattern: wf.pattern.value.trim() }).then(renderAdmin, fail); });
    box.append(h("fieldset", {}, [h("legend", { text: t("admin-whitelist") }),
      h("p", { "class": "muted", text: t("admin-whitelist-help") }),
      wl.whitelist.length ? wt : h("p", { text: t("admin-whitelist-empty") }), wf]));
    // FAQ.
    let editing = null;
    const ft = h("table", {}, [h("tr", {}, ["admin-question", "admin-answer", "admin-language", "admin-account", "admin-source", ""].map((id) => h("th", { text: id && t(id) })))]);
    const save = h("button", { type: "submit", text: t("admin-faq-add") });
    const cancel = h("button", { type: "button", text: t("admin-faq-cancel"), hidden: true });
    const ff = h("form", {}, [h("label", {}, [t("admin-question"), h("input", { name: "question", required: true, maxlength: 500, size: 50 })]),
      h("label", {}, [t("admin-faq-answer", { placeholders: "{{customer_name}}, {{customer_phone}}, {{queue}}, {{reference}}" }), h("textarea", { name: "answer", required: true, maxlength: 4096, rows: 3, cols: 50 })]),
      h("label", {}, [t("admin-language"), h("select", { name: "language" }, FAQ_LANGUAGES.map((l) => h("option", { text: l })))]),
      h("label", {}, [t("admin-account"), accountSelect()]), save, cancel]);
    ff.language.value = "en";
    const edit = (e) => {
      editing = e.id;
      ff.question.value = e.question; ff.answer.value = e.answer; ff.language.value = e.language; ff.account.value = e.account || "";
      save.textContent = t("admin-faq-save"); cancel.hidden = false; ff.question.focus();
    };
    cancel.addEventListener("click", () => { editing = null; ff.reset(); ff.language.value = "en"; save.textContent = t("admin-faq-add"); cancel.hidden = true; });
    for (const e of fq.faq) ft.append(h("tr", {}, [h("td", { text: e.question }), h("td", { text: e.answer }), h("td", { text: e.language }),
      h("td", { text: scope(e) }), h("td", { text: source(e) }),
      h("td", {}, e.source === "api" ? [h("button", { type: "button", text: t("admin-edit"), "aria-label": t("admin-edit-question", { question: e.question }), onclick: () => edit(e) }),
        h("button", { type: "button", text: t("admin-delete"), "aria-label": t("admin-delete-question", { question: e.question }), onclick: () => api("DELETE", "/faq/" + e.id).then(renderAdmin, fail) })] : [])]));
    ff.addEventListener("submit", (e) => {
      e.preventDefault();
      const body = { question: ff.question.value, answer: ff.answer.value, language: ff.language.value, account: ff.account.value || null };
      (editing === null ? api("POST", "/faq", body) : api("PUT", "/faq/" + editing, body)).then(renderAdmin, fail);
    });
    box.append(h("fieldset", {}, [h("legend", { text: t("admin-faq") }),
      h("p", { "class": "muted", text: t("admin-faq-help") }),
      fq.faq.length ? ft : h("p", { text: t("admin-faq-empty") }), ff]));
    return true;
  }

  // ---------------------------------------------------------------- start

  window.Deflect = { $, h, api, when, ago, announce, views, listeners, opened, adminParts, renderAdmin: () => renderAdmin(), ivrPath,
    me: () => me, agents: () => agents, info: () => info, open: (id, focusReply) => open(id, focusReply), setView: (v) => setView(v),
    order: () => order, selected: () => selected, offers: () => [...offers], answerOffer: (id, how) => answerOffer(id, how) };

  lang(null).then(() => api("GET", "/session")).then(start, showLogin);
})();
