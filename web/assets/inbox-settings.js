// Settings admins change without a restart (GET/PUT/DELETE /api/v1/settings): the automations'
// texts and times of the inbox, each WhatsApp account, widget site and IVR flow, a site's widget
// texts, a queue's timeouts and dispositions. A key the configuration file sets is shown
// read-only with where it is set; the others are edited here and saved as overrides.
(function () {
  "use strict";
  const D = window.Deflect;
  const { h, api, announce } = D;
  const t = (id, args) => window.DeflectI18n ? window.DeflectI18n.t(id, args) : id;

  // The keys shown per kind of scope: [key, label's message id, type] (and, for a site's text in
  // another language, that language). Types: text, long (a
  // textarea), bool, duration ("90s", "5m", "2h"), list (comma-separated), a select's options.
  const AUTOMATIONS = [
    ["welcome_message", "setting-welcome-message", "long"],
    ["whitelist_reply", "setting-whitelist-reply", "long"],
    ["closed_message", "setting-closed-message", "long"],
    ["queue_message", "setting-queue-message", "long"],
    ["reminder_after", "setting-reminder-after", "duration"],
    ["reminder_message", "setting-reminder-message", "long"],
    ["reoffer_after", "setting-reoffer-after", "duration"],
    ["inactivity_message", "setting-inactivity-message", "long"],
    ["csat", "setting-csat", "bool"],
    ["csat_question", "setting-csat-question", "text"],
    ["csat_follow_up", "setting-csat-follow-up", "text"],
  ];
  // Keys an automation scope cannot take (the server refuses them too).
  const NOT_IN = {
    site: ["whitelist_reply", "closed_message"],
    flow: ["welcome_message", "whitelist_reply"],
  };
  const SITE = [
    ["title", "setting-title", "text"],
    ["greeting", "setting-greeting", "long"],
    ["closed_message", "setting-site-closed-message", "long"],
    ["escalation_timeout", "setting-escalation-timeout", "duration"],
    ["ask_name", "setting-ask-name", ["required", "optional", "off"]],
    ["ask_phone", "setting-ask-phone", ["required", "optional", "off"]],
  ];
  const QUEUE = [
    ["offer_timeout", "setting-offer-timeout", "duration"],
    ["wait_timeout", "setting-wait-timeout", "duration"],
    ["fallback", "setting-fallback", ["wait", "queue", "auto_reply", "close"]],
    ["fallback_queue", "setting-fallback-queue", "queue"],
    ["auto_reply", "setting-auto-reply", "long"],
    ["disposition_required", "setting-disposition-required", "bool"],
    ["dispositions", "setting-dispositions", "list"],
    ["sla_warning", "setting-sla-warning", "duration"],
    ["sla_breach", "setting-sla-breach", "duration"],
  ];

  // A site's texts in another language (its `translations`): the language shown.
  const LANGUAGES = ["nl", "de", "es", "fr", "pt", "en"];
  let siteLanguage = "";
  function fields(scope) {
    const auto = (prefix) => AUTOMATIONS.filter(([k]) => !(NOT_IN[scope.kind] || []).includes(k)).map(([k, l, type]) => [prefix + k, l, type]);
    if (scope.kind === "queue") return QUEUE;
    if (scope.kind === "site" && siteLanguage) {
      return SITE.slice(0, 3).map(([k, l, type]) => ["translations." + siteLanguage + "." + k, l, type, siteLanguage]);
    }
    if (scope.kind === "site") return [...SITE, ...auto("automations.")];
    return auto("");
  }

  const get = (o, path) => path.split(".").reduce((v, k) => (v == null ? undefined : v[k]), o);
  function set(o, path, value) {
    const keys = path.split("."), last = keys.pop();
    for (const k of keys) o = o[k] = o[k] && typeof o[k] === "object" ? o[k] : {};
    if (value === undefined) delete o[last]; else o[last] = value;
  }
  function prune(o) {
    for (const k of Object.keys(o)) if (o[k] && typeof o[k] === "object" && !Array.isArray(o[k])) {
      prune(o[k]);
      if (!Object.keys(o[k]).length) delete o[k];
    }
    return o;
  }
  // A key's value as it applies: a site's automations and every automation scope's keys come
  // from the merged rules, the rest from the scope's own table.
  function current(scope, key) {
    if (key.startsWith("automations.")) return get(scope.automations, key.slice(12));
    return scope.kind === "queue" || scope.kind === "site" ? get(scope.values, key) : get(scope.automations, key);
  }
  // A scope as the picker, the form's name and the announcement say it.
  const scopeArgs = (s) => ({ kind: s.kind, name: s.name || "" });
  const scopeName = (s) => t("settings-scope", scopeArgs(s));

  let chosen = "inbox";
  async function part(box, fresh, fail) {
    if (D.me().role !== "admin") return true;
    const all = (await api("GET", "/settings")).settings;
    if (!fresh()) return false;
    const scope = all.find((s) => s.scope === chosen) || all[0];
    chosen = scope.scope;
    const picker = h("select", { "aria-label": t("settings-what"), onchange: () => { chosen = picker.value; D.renderAdmin(); } },
      all.map((s) => h("option", { value: s.scope, text: scopeName(s), selected: s.scope === chosen })));
    const form = h("form", { "class": "settings", "aria-label": t("settings-of", scopeArgs(scope)) });
    const language = scope.kind === "site" ? h("label", {}, [t("settings-texts-in") + " ", h("select", { onchange: (e) => { siteLanguage = e.target.value; D.renderAdmin(); } },
      [h("option", { value: "", text: t("settings-site-language"), selected: !siteLanguage }),
        ...LANGUAGES.map((l) => h("option", { value: l, text: l, selected: l === siteLanguage }))])]) : null;
    const inputs = [];
    for (const [key, labelId, type, textLanguage] of fields(scope)) {
      const own = t(labelId, { placeholders: "{{position}}, {{queue}}" });
      const label = textLanguage ? t("setting-translated", { label: own, language: textLanguage }) : own;
      const fromFile = scope.configured.some((k) => key === k || key.startsWith(k + ".")), overridden = get(scope.overrides, key) !== undefined;
      const value = current(scope, key);
      let input;
      if (type === "bool") input = h("input", { type: "checkbox", checked: !!value });
      else if (type === "long") input = h("textarea", { rows: 2, cols: 60 });
      else if (Array.isArray(type) || type === "queue") {
        const options = type === "queue" ? ["", ...D.info().queues.map((q) => q.name)] : type;
        // A queue by its name; a choice of the configuration's by its meaning.
        input = h("select", {}, options.map((o) => h("option", { value: o, text: type === "queue" ? o || t("setting-none") : t("setting-choice", { value: o }) })));
      } else input = h("input", { type: "text", size: type === "duration" ? 8 : 50, placeholder: type === "duration" ? "90s, 5m, 2h" : null });
      // A text not translated yet: the site's own shows as the hint.
      if (key.startsWith("translations.") && value == null) input.placeholder = get(scope.values, key.split(".").pop()) || "";
      if (type !== "bool") input.value = type === "list" ? (value || []).join(", ") : value == null ? "" : String(value);
      input.name = key;
      input.disabled = fromFile;
      const source = fromFile ? t("settings-source-file", { key: scope.key + "." + key }) : overridden ? t("settings-source-here") : t("settings-source-default");
      const reset = overridden ? h("button", { type: "button", text: t("settings-reset"), "aria-label": t("settings-reset-label", { label }), onclick: () => {
        const o = prune(structuredClone(scope.overrides));
        set(o, key, undefined);
        api("PUT", "/settings/" + encodeURIComponent(scope.scope), prune(o)).then(D.renderAdmin, fail);
      } }) : null;
      inputs.push([key, type, input, value]);
      form.append(h("div", { "class": "setting" + (fromFile ? " from-file" : "") }, [
        h("label", {}, [label, input]), h("small", { "class": "muted", text: source }), reset]));
    }
    const read = (type, input) => type === "bool" ? input.checked
      : type === "list" ? input.value.split(",").map((s) => s.trim()).filter(Boolean)
      : type === "queue" ? input.value || undefined : input.value;
    form.append(h("button", { type: "submit", text: t("settings-save") }),
      Object.keys(scope.overrides).length ? h("button", { type: "button", text: t("settings-reset-all"), onclick: () =>
        api("DELETE", "/settings/" + encodeURIComponent(scope.scope)).then(D.renderAdmin, fail) }) : null);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const o = structuredClone(scope.overrides);
      for (const [key, type, input, was] of inputs) {
        if (input.disabled) continue;
        const now = read(type, input);
        if (JSON.stringify(now) !== JSON.stringify(type === "list" ? was || [] : was == null ? (type === "queue" ? undefined : "") : was)) set(o, key, now);
      }
      api("PUT", "/settings/" + encodeURIComponent(scope.scope), prune(o))
        .then(() => { announce(t("settings-saved", scopeArgs(scope))); return D.renderAdmin(); }, fail);
    });
    const when = scope.updated_at ? h("p", { "class": "muted", text: t("settings-last-changed", { time: D.when(scope.updated_at) }) }) : null;
    box.append(h("fieldset", { id: "settings" }, [h("legend", { text: t("settings-legend") }),
      h("p", { "class": "muted", text: t("settings-help") }),
      h("label", {}, [t("settings-change") + " ", picker]), language, when, form]));
    return true;
  }
  D.adminParts.push(part);
})();
