/* deflect inbox: the contact panel beside an open conversation (GET
 * /api/v1/conversations/{id}/contact) — who the customer is, their labels (added and removed
 * here), their other conversations (each opens in the inbox), what the widget or an
 * integration attached, and the deflected call (with its IVR path). A right-hand panel that collapses to its
 * button (remembered per browser); on a phone a sheet over the conversation, opened by it. */
"use strict";
(function () {
  const D = window.Deflect;
  if (!D) return;
  const { h, api, when, announce } = D;
  const t = (id, args) => window.DeflectI18n ? window.DeflectI18n.t(id, args) : id;
  const KEY = "deflect.contact.collapsed";
  let current = null, loads = 0, known = [], labelled = [];

  const panel = h("aside", { id: "contact", "class": "contact", "aria-label": "Contact", hidden: true });
  const toggle = h("button", { type: "button", "class": "contact-toggle", "aria-controls": "contact-body", onclick: () => collapse(!collapsed()) });
  const body = h("div", { id: "contact-body", "class": "contact-body" });
  const options = h("datalist", { id: "label-options" });
  panel.append(toggle, body, options);
  document.querySelector(".body").append(panel);

  // On a phone the panel is a sheet over the conversation: closed until asked for, each time.
  const narrow = window.matchMedia("(max-width: 760px)");
  let sheet = false;
  function collapsed() {
    if (narrow.matches) return !sheet;
    try { return localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }
  function collapse(on) {
    if (narrow.matches) sheet = !on;
    else try { localStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* kept for this page only */ }
    show();
  }
  narrow.addEventListener("change", show);
  function show() {
    const c = collapsed();
    panel.classList.toggle("collapsed", c);
    body.hidden = c;
    toggle.setAttribute("aria-expanded", String(!c));
    toggle.textContent = c ? "Contact ‹" : "Contact ›";
    toggle.title = c ? "Show the contact panel" : "Hide the contact panel";
  }
  show();

  // The panel follows the conversation pane: hidden with it (another view, no conversation).
  const conv = document.querySelector("#conv");
  new MutationObserver(() => { panel.hidden = conv.hidden || !current; }).observe(conv, { attributes: true, attributeFilter: ["hidden"] });

  D.opened.push((d) => { if (d.id !== current) { sheet = false; show(); } current = d.id; labelled = d.labels || []; panel.hidden = false; load(d.id); });
  // A label changed elsewhere (a colleague, another tab): read the conversation's again.
  D.listeners.push((e) => {
    if (e.kind !== "conversation.labelled" || e.conversation_id !== current) return;
    const id = current;
    api("GET", "/conversations/" + id).then((r) => {
      const now = r.conversation.labels || [];
      // Our own change is drawn already: redrawing would take the focus away.
      if (id !== current || JSON.stringify(now) === JSON.stringify(labelled)) return;
      labelled = now;
      load(id);
    }).catch(() => {});
  });

  // The supervisor's filter form offers the labels in use.
  const filter = document.querySelector("#filters [name=label]");
  if (filter) filter.addEventListener("focus", () => {
    api("GET", "/labels").then((r) => { known = r.labels; options.replaceChildren(...known.map((l) => h("option", { value: l.label }))); }).catch(() => {});
  });

  async function load(id) {
    const n = ++loads;
    let card;
    try {
      [card, known] = await Promise.all([api("GET", "/conversations/" + id + "/contact"), api("GET", "/labels").then((r) => r.labels)]);
    } catch (e) {
      if (n === loads) body.replaceChildren(h("p", { "class": "err", text: "The contact could not be loaded: " + e.message }));
      return;
    }
    if (n !== loads || id !== current) return;
    options.replaceChildren(...known.map((l) => h("option", { value: l.label })));
    render(id, card);
  }

  function section(title, ...kids) {
    return h("section", { "class": "contact-part" }, [h("h3", { text: title }), ...kids]);
  }
  function facts(rows) {
    const dl = h("dl");
    for (const [k, v] of rows) if (v !== null && v !== undefined && v !== "") dl.append(h("dt", { text: k }), h("dd", {}, [v instanceof Node ? v : document.createTextNode(String(v))]));
    return dl.childElementCount ? dl : h("p", { "class": "muted", text: "Nothing known." });
  }
  const duration = (s) => s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";

  function render(id, card) {
    const k = card.contact;
    // A WhatsApp number that is the phone number shows once, as the phone's.
    const onWhatsapp = k.identities.some((i) => i.channel === "whatsapp" && "+" + i.wa_id === k.phone);
    const ids = k.identities.filter((i) => !(i.channel === "whatsapp" && "+" + i.wa_id === k.phone))
      .map((i) => i.channel === "whatsapp" ? ["WhatsApp", "+" + i.wa_id] : ["Widget visitor", "on " + i.site + " since " + when(i.since)]);
    const profile = section("Profile", facts([["Name", k.name], [onWhatsapp ? "Phone (WhatsApp)" : "Phone", k.phone], ["Typed in a form", k.form_phone], ["Language", k.language], ...ids, ["Known since", when(k.created_at)]]));
    body.replaceChildren(profile, labels(id), previous(card.conversations), attributes(card.attributes), call(card.call));
  }

  function labels(id) {
    const list = h("ul", { "class": "labels", "aria-label": "Labels" });
    const err = h("p", { "class": "err", role: "alert" });
    const input = h("input", { list: "label-options", "aria-label": "New label", maxlength: "32", placeholder: "add a label", autocomplete: "off" });
    const change = async (method, label) => {
      err.textContent = "";
      try {
        const r = await api(method, "/conversations/" + id + "/labels/" + encodeURIComponent(label));
        labelled = r.labels;
        draw(r.labels);
        announce(method === "PUT" ? "Label " + label + " added" : "Label " + label + " removed");
        return true;
      } catch (e) { err.textContent = e.message; return false; }
    };
    function draw(all) {
      list.replaceChildren(...all.map((l) => h("li", { "class": "chip" }, [document.createTextNode(l),
        h("button", { type: "button", "class": "x", "aria-label": "Remove label " + l, title: "Remove", text: "×", onclick: () => change("DELETE", l) })])));
      if (!all.length) list.append(h("li", { "class": "muted", text: "No labels." }));
    }
    const form = h("form", { "class": "add-label", onsubmit: async (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (v && await change("PUT", v)) input.value = "";
    } }, [input, h("button", { type: "submit", text: "Add" })]);
    draw(labelled);
    return section("Labels", list, form, err);
  }

  function previous(list) {
    if (!list.length) return section("Other conversations", h("p", { "class": "muted", text: "None you can see." }));
    const ul = h("ul", { "class": "previous" });
    for (const c of list) {
      const line = [c.reference, c.status, c.channel, c.queue, when(c.created_at)].join(" · ") + (c.disposition ? " · " + c.disposition : "");
      ul.append(h("li", {}, [h("button", { type: "button", "class": "link", onclick: () => D.open(c.id), text: line }),
        c.labels.length ? h("span", { "class": "muted", text: " " + c.labels.join(", ") }) : null]));
    }
    return section("Other conversations", ul);
  }

  function attributes(a) {
    const rows = [];
    const w = a.widget;
    if (w) {
      rows.push(["Widget site", w.site]);
      if (w.page_url && /^https?:\/\//i.test(w.page_url)) rows.push(["Page", h("a", { href: w.page_url, target: "_blank", rel: "noopener noreferrer", text: w.page_url })]);
      if (w.referrer && /^https?:\/\//i.test(w.referrer)) rows.push(["Came from", w.referrer]);
    }
    for (const [key, v] of Object.entries(a.metadata || {})) rows.push([key, typeof v === "string" ? v : JSON.stringify(v)]);
    return section("Attributes", facts(rows));
  }

  // The flow's steps the caller went through: "greeting → hours (open) → confirm (confirmed)".
  const path = (steps) => (steps || []).map((s) => s.exit ? s.step + " (" + s.exit + ")" : s.step).join(" → ");

  function call(c) {
    if (!c) return section("Call", h("p", { "class": "muted", text: "Not a deflected call." }));
    const how = { dtmf: "typed on the keypad", speech: "said", caller_number: "the number they called from" }[c.input_method] || c.input_method;
    return section("Call", facts([["Flow", c.flow], ["Language", c.language], ["Input", how],
      [c.input_method === "speech" ? "Words" : "Digits", c.transcript], ["Time in IVR", duration(c.seconds_in_ivr)],
      [t("call-path"), path(c.path)],
      ["Caller", c.caller], ["Number dialled", c.dialled_number], ["Called", when(c.started_at)]]));
  }
})();
