/* deflect sandbox phone: shows the messages a sandbox account exchanged with one number and
 * sends that customer's replies, exactly as a provider's webhook would deliver them. */
"use strict";
(function () {
  const $ = (s) => document.querySelector(s);
  let csrf = "", account = "", number = "", shown = new Set(), timer = null;

  async function api(method, path, body) {
    const r = await fetch("/api/v1" + path, { method, credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: body ? JSON.stringify(body) : undefined });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
    return j;
  }

  function bubble(m) {
    const n = document.createElement("div");
    n.className = "bubble " + (m.direction === "in" ? "in" : "out");
    n.dataset.id = m.id;
    const i = m.interactive;
    n.append((i && i.body) || m.body || "(" + m.kind + ")");
    // Reply buttons and list rows, tapped as WhatsApp would send the tap; a link button.
    const rows = !i || m.direction === "in" ? [] : i.type === "button" ? i.buttons : i.type === "list" ? i.sections.flatMap((s) => s.rows) : [];
    for (const r of rows) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = r.title;
      b.addEventListener("click", () => send(r.title, r.id, m.external_id));
      n.append(document.createElement("br"), b);
    }
    if (i && i.type === "cta_url" && /^https?:\/\//i.test(i.url)) {
      const a = document.createElement("a");
      a.href = i.url; a.target = "_blank"; a.rel = "noopener"; a.textContent = i.display_text;
      n.append(document.createElement("br"), a);
    }
    // The files the business sent (or the customer's, once stored): as the phone shows them.
    for (const a of m.attachments || []) {
      if (!a.url) continue;
      let f;
      if (a.kind === "image" || a.kind === "sticker") {
        f = document.createElement("img"); f.src = a.url; f.alt = a.filename || a.kind; f.className = "file";
      } else if (a.kind === "audio" || a.kind === "video") {
        f = document.createElement(a.kind); f.src = a.url; f.controls = true; f.className = "file";
      } else {
        f = document.createElement("a"); f.href = a.url; f.download = a.filename || ""; f.textContent = "📄 " + (a.filename || a.kind);
      }
      n.append(document.createElement("br"), f);
    }
    const p = m.payload || {};
    if (m.kind === "template" && p.button_payload) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Reply: Yes, chat with us";
      b.addEventListener("click", () => send("Yes, chat with us", p.button_payload, m.external_id));
      n.append(document.createElement("br"), b);
    }
    $("#screen").append(n);
    $("#screen").scrollTop = $("#screen").scrollHeight;
  }

  async function refresh() {
    try {
      const r = await api("GET", "/sandbox/" + encodeURIComponent(account) + "/" + encodeURIComponent(number) + "/messages");
      for (const m of r.messages) if (!shown.has(m.id)) { shown.add(m.id); bubble(m); }
      $("#error").textContent = "";
    } catch (e) { $("#error").textContent = e.message; }
  }

  async function send(text, payload, context) {
    try {
      await api("POST", "/sandbox/" + encodeURIComponent(account) + "/" + encodeURIComponent(number) + "/messages",
        { text, button_payload: payload || null, context_id: context || null });
      await refresh();
    } catch (e) { $("#error").textContent = e.message; }
  }

  $("#who").addEventListener("submit", (e) => {
    e.preventDefault();
    account = $("#account").value; number = $("#number").value.trim();
    shown = new Set(); $("#screen").textContent = "";
    $("#screen").hidden = false; $("#reply").hidden = false;
    refresh();
    clearInterval(timer);
    timer = setInterval(refresh, 2000);
  });
  $("#reply").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("#text").value.trim();
    if (t) { $("#text").value = ""; send(t); }
  });

  (async () => {
    try {
      csrf = (await api("GET", "/session")).csrf;
      const r = await api("GET", "/sandbox/accounts");
      for (const a of r.accounts) {
        const o = document.createElement("option");
        o.value = a.name; o.textContent = a.name + " (" + a.business_number + ")";
        $("#account").append(o);
      }
      const q = new URLSearchParams(location.search);
      if (q.get("number")) { $("#number").value = q.get("number"); $("#who").requestSubmit(); }
    } catch (e) { $("#error").textContent = "Log in to the inbox first: " + e.message; }
  })();
})();
