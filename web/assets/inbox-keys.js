/* deflect inbox: keyboard shortcuts, their help sheet, and "/" in the composer to pick a
 * canned answer. One table (KEYS) drives both the handler and the help. */
"use strict";
(function () {
  const D = window.Deflect, $ = D.$, h = D.h;
  const t = (id) => window.DeflectI18n ? window.DeflectI18n.t(id) : id;
  const act = (name) => document.querySelector("#conv-actions [data-act=" + name + "]");
  function move(step) {
    const order = D.order();
    if (!order.length) return;
    const i = order.indexOf(D.selected());
    const next = i < 0 ? 0 : Math.max(0, Math.min(order.length - 1, i + step));
    D.open(order[next]);
    const row = document.getElementById("c" + order[next]);
    if (row) row.scrollIntoView({ block: "nearest" });
  }
  // The offer the keys answer: the conversation open, if it is offered to me, else the
  // oldest offer card.
  function offer() {
    const offers = D.offers(), sel = D.selected();
    return offers.includes(sel) ? sel : offers[0];
  }
  function close() {
    const disp = act("disposition");
    if (disp && !disp.value && disp.dataset.required) {
      disp.focus(); D.announce(t("disposition-first")); return;
    }
    const b = act("close");
    if (b) b.click();
  }
  const KEYS = [
    ["j", "keys-next", () => move(1)],
    ["k", "keys-previous", () => move(-1)],
    ["a", "keys-accept", () => { const id = offer(); if (id) D.answerOffer(id, "accept"); }],
    ["x", "keys-reject", () => { const id = offer(); if (id) D.answerOffer(id, "reject"); }],
    ["c", "keys-close", close],
    ["t", "keys-transfer", () => { const to = act("transfer-to"); if (to) to.focus(); }],
    ["n", "keys-note", () => { const n = $("#as-note"); n.checked = !n.checked; n.dispatchEvent(new Event("change")); D.announce(n.checked ? t("note-on") : t("note-off")); }],
    ["r", "keys-reply", () => { if (!$("#conv").hidden) $("#reply").focus(); }],
    ["/", "keys-search", () => { const q = $("#search-q"); if (q && !$("#search").hidden) q.focus(); }],
    ["?", "keys-help", () => help()],
  ];
  function help() {
    let d = $("#keys-help");
    if (!d) {
      d = h("dialog", { id: "keys-help", "aria-labelledby": "keys-help-title" }, [
        h("h2", { id: "keys-help-title", text: t("keys-title") }),
        h("table", {}, [h("tr", {}, [h("th", { text: t("keys-key") }), h("th", { text: t("keys-does") })]),
          ...KEYS.map(([k, what]) => h("tr", {}, [h("td", {}, [h("kbd", { text: k })]), h("td", { text: t(what) })]))]),
        h("p", { "class": "muted", text: t("keys-hint") }),
        h("form", { method: "dialog" }, [h("button", { text: t("keys-close-help") })])
      ]);
      document.body.append(d);
    }
    if (!d.open) d.showModal();
  }
  const typing = (t) => t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  document.addEventListener("keydown", (e) => {
    if (!D.me() || e.ctrlKey || e.metaKey || $("#app").hidden) return;
    if (document.querySelector("dialog[open]")) return;
    const inField = typing(e.target);
    if (inField && !e.altKey) return;
    // With Alt, browsers report the key's character variously: take the physical key.
    const key = e.altKey && e.code && e.code.startsWith("Key") ? e.code.slice(3).toLowerCase() : e.key;
    const k = KEYS.find(([x]) => x === key);
    if (!k) return;
    e.preventDefault();
    k[2]();
  });

  // "/" at the start of the reply: a list of canned answers matching what follows it.
  const reply = $("#reply");
  const box = h("ul", { id: "canned-suggest", role: "listbox", "aria-label": t("canned-suggest"), hidden: true });
  reply.parentElement.insertAdjacentElement("afterend", box);
  reply.setAttribute("aria-controls", "canned-suggest");
  reply.setAttribute("aria-autocomplete", "list");
  let shown = [], at = 0;
  function query() { const m = /^\/(\S*)$/.exec(reply.value); return m ? m[1].toLowerCase() : null; }
  function suggest() {
    const q = query();
    const all = Array.from($("#canned").options).filter((o) => o.value);
    shown = q === null ? [] : all.filter((o) => o.text.toLowerCase().includes(q)).slice(0, 8);
    at = Math.min(at, Math.max(0, shown.length - 1));
    box.hidden = !shown.length;
    reply.setAttribute("aria-expanded", String(!box.hidden));
    box.replaceChildren(...shown.map((o, i) => h("li", { role: "option", id: "canned-" + o.value, "aria-selected": String(i === at),
      onmousedown: (e) => { e.preventDefault(); insert(o.value); }, text: o.text })));
    if (shown.length) reply.setAttribute("aria-activedescendant", "canned-" + shown[at].value); else reply.removeAttribute("aria-activedescendant");
  }
  async function insert(id) {
    box.hidden = true; reply.setAttribute("aria-expanded", "false");
    try {
      const r = await D.api("GET", "/canned-answers/" + id + "/text?conversation_id=" + D.selected());
      reply.value = r.text;
      reply.focus();
      reply.setSelectionRange(r.text.length, r.text.length);
    } catch (err) { $("#send-error").textContent = err.message; }
  }
  reply.addEventListener("input", () => { at = 0; suggest(); });
  reply.addEventListener("blur", () => { box.hidden = true; });
  reply.addEventListener("keydown", (e) => {
    if (box.hidden || !shown.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); at = (at + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length; suggest(); }
    else if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); e.stopPropagation(); insert(shown[at].value); }
    else if (e.key === "Escape") { e.preventDefault(); box.hidden = true; }
  });
})();
