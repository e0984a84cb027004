// Settings admins change without a restart (GET/PUT/DELETE /api/v1/settings): the automations'
// texts and times of the inbox, each WhatsApp account, widget site and IVR flow, a site's widget
// texts, a queue's timeouts and dispositions. A key the configuration file sets is shown
// read-only with where it is set; the others are edited here and saved as overrides.
(function () {
  "use strict";
  const D = window.Deflect;
  const { h, api, announce } = D;

  // The keys shown per kind of scope: [key, label, type, options]. Types: text, long (a
  // textarea), bool, duration ("90s", "5m", "2h"), list (comma-separated), a select's options.
  const AUTOMATIONS = [
    ["welcome_message", "Welcome message", "long"],
    ["whitelist_reply", "Reply to numbers not on the whitelist", "long"],
    ["closed_message", "Message outside opening hours", "long"],
    ["queue_message", "Queue position message ({{position}}, {{queue}})", "long"],
    ["reminder_after", "Remind the agent after (0s: off)", "duration"],
    ["reminder_message", "Reminder to the customer", "long"],
    ["reoffer_after", "Offer to another agent after (0s: off)", "duration"],
    ["inactivity_message", "Message when an inactive chat closes", "long"],
    ["csat", "Ask how it went after closing", "bool"],
    ["csat_question", "Survey question", "text"],
    ["csat_follow_up", "Follow-up after the score", "text"],
  ];
  // Keys an automation scope cannot take (the server refuses them too).
  const NOT_IN = {
    site: ["whitelist_reply", "closed_message"],
    flow: ["welcome_message", "whitelist_reply"],
  };
  const SITE = [
    ["title", "Widget title", "text"],
    ["greeting", "Greeting", "long"],
    ["closed_message", "Closed message", "long"],
    ["escalation_timeout", "Offer WhatsApp after", "duration"],
    ["ask_name", "Ask for the name", ["required", "optional", "off"]],
    ["ask_phone", "Ask for the phone number", ["required", "optional", "off"]],
  ];
  const QUEUE = [
    ["offer_timeout", "Offer to an agent for", "duration"],
    ["wait_timeout", "Fallback after waiting", "duration"],
    ["fallback", "Fallback", ["wait", "queue", "auto_reply", "close"]],
    ["fallback_queue", "Fallback queue", "queue"],
    ["auto_reply", "Auto-reply text", "long"],
    ["disposition_required", "Disposition required when closing", "bool"],
    ["dispositions", "Dispositions (comma-separated)", "list"],
    ["sla_warning", "Waiting shown late after", "duration"],
    ["sla_breach", "Waiting shown overdue after", "duration"],
  ];

  // A site's texts in another language (its `translations`): the language shown.
  const LANGUAGES = ["nl", "de", "es", "fr", "pt", "en"];
  let siteLanguage = "";
  function fields(scope) {
    const auto = (prefix) => AUTOMATIONS.filter(([k]) => !(NOT_IN[scope.kind] || []).includes(k)).map(([k, l, t]) => [prefix + k, l, t]);
    if (scope.kind === "queue") return QUEUE;
    if (scope.kind === "site" && siteLanguage) {
      return SITE.slice(0, 3).map(([k, l, t]) => ["translations." + siteLanguage + "." + k, l + " (" + siteLanguage + ")", t]);
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
  function scopeName(s) {
    const kinds = { inbox: "Inbox (every conversation)", account: "WhatsApp account", site: "Widget site", flow: "IVR flow", queue: "Queue" };
    return s.kind === "inbox" ? kinds.inbox : kinds[s.kind] + " " + s.name;
  }

  let chosen = "inbox";
  async function part(box, fresh, fail) {
    if (D.me().role !== "admin") return true;
    const all = (await api("GET", "/settings")).settings;
    if (!fresh()) return false;
    const scope = all.find((s) => s.scope === chosen) || all[0];
    chosen = scope.scope;
    const picker = h("select", { "aria-label": "What to change", onchange: () => { chosen = picker.value; D.renderAdmin(); } },
      all.map((s) => h("option", { value: s.scope, text: scopeName(s), selected: s.scope === chosen })));
    const form = h("form", { "class": "settings", "aria-label": "Settings of " + scopeName(scope) });
    const language = scope.kind === "site" ? h("label", {}, ["Texts in ", h("select", { onchange: (e) => { siteLanguage = e.target.value; D.renderAdmin(); } },
      [h("option", { value: "", text: "the site's own language", selected: !siteLanguage }),
        ...LANGUAGES.map((l) => h("option", { value: l, text: l, selected: l === siteLanguage }))])]) : null;
    const inputs = [];
    for (const [key, label, type] of fields(scope)) {
      const fromFile = scope.configured.some((k) => key === k || key.startsWith(k + ".")), overridden = get(scope.overrides, key) !== undefined;
      const value = current(scope, key);
      let input;
      if (type === "bool") input = h("input", { type: "checkbox", checked: !!value });
      else if (type === "long") input = h("textarea", { rows: 2, cols: 60 });
      else if (Array.isArray(type) || type === "queue") {
        const options = type === "queue" ? ["", ...D.info().queues.map((q) => q.name)] : type;
        input = h("select", {}, options.map((o) => h("option", { value: o, text: o || "none" })));
      } else input = h("input", { type: "text", size: type === "duration" ? 8 : 50, placeholder: type === "duration" ? "90s, 5m, 2h" : null });
      // A text not translated yet: the site's own shows as the hint.
      if (key.startsWith("translations.") && value == null) input.placeholder = get(scope.values, key.split(".").pop()) || "";
      if (type !== "bool") input.value = type === "list" ? (value || []).join(", ") : value == null ? "" : String(value);
      input.name = key;
      input.disabled = fromFile;
      const source = fromFile ? "set in the configuration file (" + scope.key + "." + key + ")" : overridden ? "changed here" : "default";
      const reset = overridden ? h("button", { type: "button", text: "Reset", "aria-label": "Reset " + label, onclick: () => {
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
    form.append(h("button", { type: "submit", text: "Save" }),
      Object.keys(scope.overrides).length ? h("button", { type: "button", text: "Reset all to the configuration", onclick: () =>
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
        .then(() => { announce("Saved: " + scopeName(scope)); return D.renderAdmin(); }, fail);
    });
    const when = scope.updated_at ? h("p", { "class": "muted", text: "Last changed " + D.when(scope.updated_at) }) : null;
    box.append(h("fieldset", { id: "settings" }, [h("legend", { text: "Automations, widget texts and queues" }),
      h("p", { "class": "muted", text: "Changes count at once, without a restart. Keys the configuration file sets are changed there." }),
      h("label", {}, ["Change ", picker]), language, when, form]));
    return true;
  }
  D.adminParts.push(part);
})();
