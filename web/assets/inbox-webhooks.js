/* deflect inbox: the outgoing webhook endpoints in Settings (admins; GET/POST/PATCH/DELETE
 * /api/v1/webhooks). The configured endpoints ([[http.webhooks]]) are listed read-only with
 * their key; those added here are edited in place, disabled or deleted. A signing secret is
 * typed, never shown: the server only says whether an endpoint has one. Adds its fieldset to
 * the settings page through Deflect.adminParts. */
"use strict";
(function () {
  const D = window.Deflect;
  if (!D) return;
  const { h, api } = D;
  const t = (id, args) => window.DeflectI18n ? window.DeflectI18n.t(id, args) : id;

  D.adminParts.push(async (box, current, fail) => {
    if (!D.me() || D.me().role !== "admin") return true;
    const got = await api("GET", "/webhooks");
    if (!current()) return false;
    const hooks = got.webhooks, kinds = got.events;
    const rerender = () => D.renderAdmin();
    const eventsOf = (w) => w.events.length ? w.events.join(", ") : t("webhooks-all-events");
    const source = (w) => w.source === "config" ? t("webhooks-source-config", { key: w.key }) : t("webhooks-source-here");

    // Events as checkboxes (none ticked: all events).
    const choices = (legend, picked) => h("fieldset", { "class": "choices" }, [h("legend", { text: legend }),
      ...kinds.map((k) => h("label", {}, [h("input", { type: "checkbox", value: k, checked: picked.includes(k) }), k]))]);
    const ticked = (set) => [...set.querySelectorAll("input:checked")].map((i) => i.value);

    // The form adds an endpoint, or saves the one being edited.
    let editing = null;
    const events = choices(t("webhooks-events"), []);
    const save = h("button", { type: "submit", text: t("webhooks-add") });
    const cancel = h("button", { type: "button", text: t("webhooks-cancel"), hidden: true });
    const secretHint = h("span", { "class": "muted", text: "" });
    const form = h("form", {}, [
      h("label", {}, [t("webhooks-name"), h("input", { name: "endpoint", required: true, maxlength: 64, placeholder: "crm", autocomplete: "off" })]),
      h("label", {}, [t("webhooks-url"), h("input", { name: "url", type: "url", required: true, size: 40, placeholder: "https://crm.example.com/hooks/deflect", autocomplete: "off" })]),
      h("label", {}, [t("webhooks-secret"), h("input", { name: "secret", type: "password", minlength: 16, required: true, autocomplete: "new-password" }), secretHint]),
      h("label", {}, [t("webhooks-attempts"), h("input", { name: "attempts", type: "number", min: 1, max: 100, value: 12 })]),
      h("label", {}, [t("webhooks-timeout"), h("input", { name: "timeout", type: "number", min: 1, max: 60, value: 10 })]),
      events, save, cancel]);
    const tick = (picked) => events.querySelectorAll("input").forEach((i) => { i.checked = picked.includes(i.value); });
    const reset = () => {
      editing = null; form.reset(); tick([]);
      form.secret.required = true; secretHint.textContent = "";
      save.textContent = t("webhooks-add"); cancel.hidden = true;
    };
    const edit = (w) => {
      editing = w;
      form.endpoint.value = w.name; form.url.value = w.url; form.secret.value = "";
      form.attempts.value = w.max_attempts; form.timeout.value = w.timeout_seconds; tick(w.events);
      // The secret is kept unless a new one is typed.
      form.secret.required = false; secretHint.textContent = w.secret_set ? " " + t("webhooks-secret-kept") : "";
      save.textContent = t("webhooks-save", { name: w.name }); cancel.hidden = false; form.endpoint.focus();
    };
    cancel.addEventListener("click", reset);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const body = { name: form.endpoint.value.trim(), url: form.url.value.trim(), events: ticked(events),
        max_attempts: Number(form.attempts.value), timeout_seconds: Number(form.timeout.value) };
      if (form.secret.value) body.signing_secret = form.secret.value;
      (editing === null ? api("POST", "/webhooks", body) : api("PATCH", "/webhooks/" + editing.id, body)).then(rerender, fail);
    });

    const table = h("table", {}, [h("tr", {}, ["webhooks-col-name", "webhooks-col-url", "webhooks-col-events", "webhooks-col-enabled", "webhooks-col-source", ""].map((id) => h("th", { text: id && t(id) })))]);
    for (const w of hooks) {
      const actions = w.source === "api" ? [
        h("button", { type: "button", text: t("webhooks-edit"), "aria-label": t("webhooks-edit-label", { name: w.name }), onclick: () => edit(w) }),
        h("button", { type: "button", text: w.enabled ? t("webhooks-disable") : t("webhooks-enable"), "aria-label": t(w.enabled ? "webhooks-disable-label" : "webhooks-enable-label", { name: w.name }),
          onclick: () => api("PATCH", "/webhooks/" + w.id, { enabled: !w.enabled }).then(rerender, fail) }),
        h("button", { type: "button", text: t("webhooks-delete"), "aria-label": t("webhooks-delete-label", { name: w.name }),
          onclick: () => api("DELETE", "/webhooks/" + w.id).then(rerender, fail) })] : [];
      table.append(h("tr", {}, [h("td", { text: w.name }), h("td", { text: w.url }), h("td", { text: eventsOf(w) }),
        h("td", { text: t("webhooks-enabled", { enabled: w.enabled ? "yes" : "no" }) }), h("td", { text: source(w) }), h("td", {}, actions)]));
    }
    box.append(h("fieldset", {}, [h("legend", { text: t("webhooks-legend") }),
      h("p", { "class": "muted", text: t("webhooks-help") }),
      hooks.length ? table : h("p", { text: t("webhooks-none") }), form]));
    return true;
  });
})();
