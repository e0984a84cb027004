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

  // Built before the texts are loaded: I18n.apply() (on loading them) sets its name.
  const panel = h("aside", { id: "contact", "class": "contact", "aria-label": t("contact-label"), "data-i18n-attr": "aria-label:contact-label", hidden: true });
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
    // Built before the texts are loaded: marked so that loading them (I18n.apply) translates it.
    const id = c ? "contact-show" : "contact-hide";
    toggle.setAttribute("data-i18n", id);
    toggle.setAttribute("data-i18n-attr", "title:" + id + ".title");
    toggle.textContent = t(id);
    toggle.title = t(id + ".title");
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
      if (n === loads) body.replaceChildren(h("p", { "class": "err", text: t("contact-failed", { error: e.message }) }));
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
    return dl.childElementCount ? dl : h("p", { "class": "muted", text: t("contact-nothing") });
  }
  const duration = (s) => s < 60 ? t("duration-seconds", { n: s }) : t("duration-minutes-seconds", { m: Math.floor(s / 60), s: s % 60 });

  function render(id, card) {
    const k = card.contact;
    // A WhatsApp number that is the phone number shows once, as the phone's.
    const onWhatsapp = k.identities.some((i) => i.channel === "whatsapp" && "+" + i.wa_id === k.phone);
    const ids = k.identities.filter((i) => !(i.channel === "whatsapp" && "+" + i.wa_id === k.phone))
      .map((i) => i.channel === "whatsapp" ? [t("contact-whatsapp"), "+" + i.wa_id] : [t("contact-visitor"), t("contact-visitor-on", { site: i.site, time: when(i.since) })]);
    const profile = section(t("contact-profile"), facts([[t("contact-name"), k.name], [t("contact-phone", { whatsapp: onWhatsapp ? "yes" : "no" }), k.phone],
      [t("contact-form-phone"), k.form_phone], [t("contact-language"), k.language], ...ids, [t("contact-since"), when(k.created_at)]]));
    body.replaceChildren(profile, labels(id), previous(card.conversations), attributes(card.attributes), call(card.call));
  }

  function labels(id) {
    const list = h("ul", { "class": "labels", "aria-label": t("contact-labels") });
    const err = h("p", { "class": "err", role: "alert" });
    const input = h("input", { list: "label-options", "aria-label": t("contact-new-label"), maxlength: "32", placeholder: t("contact-new-label.placeholder"), autocomplete: "off" });
    const change = async (method, label) => {
      err.textContent = "";
      try {
        const r = await api(method, "/conversations/" + id + "/labels/" + encodeURIComponent(label));
        labelled = r.labels;
        draw(r.labels);
        announce(t(method === "PUT" ? "contact-label-added" : "contact-label-removed", { label }));
        return true;
      } catch (e) { err.textContent = e.message; return false; }
    };
    function draw(all) {
      list.replaceChildren(...all.map((l) => h("li", { "class": "chip" }, [document.createTextNode(l),
        h("button", { type: "button", "class": "x", "aria-label": t("contact-remove-label", { label: l }), title: t("contact-remove-label.title"), text: "×", onclick: () => change("DELETE", l) })])));
      if (!all.length) list.append(h("li", { "class": "muted", text: t("contact-no-labels") }));
    }
    const form = h("form", { "class": "add-label", onsubmit: async (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (v && await change("PUT", v)) input.value = "";
    } }, [input, h("button", { type: "submit", text: t("contact-add") })]);
    draw(labelled);
    return section(t("contact-labels"), list, form, err);
  }

  function previous(list) {
    if (!list.length) return section(t("contact-previous"), h("p", { "class": "muted", text: t("contact-previous-none") }));
    const ul = h("ul", { "class": "previous" });
    for (const c of list) {
      const line = [c.reference, t("status", { status: c.status }), t("channel", { channel: c.channel }), c.queue, when(c.created_at)].join(" · ") + (c.disposition ? " · " + c.disposition : "");
      ul.append(h("li", {}, [h("button", { type: "button", "class": "link", onclick: () => D.open(c.id), text: line }),
        c.labels.length ? h("span", { "class": "muted", text: " " + c.labels.join(", ") }) : null]));
    }
    return section(t("contact-previous"), ul);
  }

  function attributes(a) {
    const rows = [];
    const w = a.widget;
    if (w) {
      rows.push([t("contact-site"), w.site]);
      if (w.page_url && /^https?:\/\//i.test(w.page_url)) rows.push([t("contact-page"), h("a", { href: w.page_url, target: "_blank", rel: "noopener noreferrer", text: w.page_url })]);
      if (w.referrer && /^https?:\/\//i.test(w.referrer)) rows.push([t("contact-came-from"), w.referrer]);
    }
    for (const [key, v] of Object.entries(a.metadata || {})) rows.push([key, typeof v === "string" ? v : JSON.stringify(v)]);
    return section(t("contact-attributes"), facts(rows));
  }

  // The flow's steps the caller went through: "greeting → hours (open) → confirm (confirmed)".
  const path = (steps) => D.ivrPath(steps);

  function call(c) {
    if (!c) return section(t("contact-call"), h("p", { "class": "muted", text: t("contact-not-call") }));
    const how = c.input_method ? t("contact-input-method", { method: c.input_method }) : c.input_method;
    return section(t("contact-call"), facts([[t("contact-flow"), c.flow], [t("contact-language"), c.language], [t("contact-input"), how],
      [t("contact-transcript", { method: c.input_method || "" }), c.transcript], [t("contact-ivr-time"), duration(c.seconds_in_ivr)],
      [t("call-path"), path(c.path)],
      [t("contact-caller"), c.caller], [t("contact-dialled"), c.dialled_number], [t("contact-called"), when(c.started_at)]]));
  }
})();
