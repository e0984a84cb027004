/* deflect inbox: the supervisors' reports (view "reports"): a period picker (today, the last
 * 7 days, a custom from/to), the queue and agent tables with their totals, deflections by flow
 * and input method, two charts drawn by the server as SVG, and the CSV/JSON links of each.
 * Builds on window.Deflect (inbox.js). */
"use strict";
(function () {
  const D = window.Deflect;
  if (!D) return;
  const { $, h, api } = D;
  const t = (id, args) => window.DeflectI18n ? window.DeflectI18n.t(id, args) : id;
  const section = $("#reports");
  let range = "today", custom = { from: "", to: "" };

  // The period as RFC 3339 in UTC: today = since local midnight; 7 days = since local
  // midnight six days ago; custom = the local datetime-local inputs.
  function period() {
    const now = new Date(), midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    if (range === "week") return { from: new Date(midnight.getTime() - 6 * 86400000), to: now };
    if (range === "custom" && custom.from && custom.to) return { from: new Date(custom.from), to: new Date(custom.to) };
    return { from: midnight, to: now };
  }
  const query = (p) => "from=" + encodeURIComponent(p.from.toISOString()) + "&to=" + encodeURIComponent(p.to.toISOString());
  // Seconds as "45 s", "2.5 min", "1.2 h" (one decimal), in the language's number format.
  const tenths = (v) => Math.round(v * 10) / 10;
  const secs = (s) => s === null || s === undefined ? "—" : s < 60 ? t("duration-seconds", { n: Math.round(s) })
    : s < 3600 ? t("duration-minutes", { n: tenths(s / 60) }) : t("duration-hours", { n: tenths(s / 3600) });
  const num = (v) => v === null || v === undefined ? "—" : String(v);

  const COLUMNS = [
    ["reports-in", (r) => num(r.conversations_in)], ["reports-handled", (r) => num(r.conversations_handled)],
    ["reports-closed", (r) => num(r.conversations_closed)], ["reports-abandoned", (r) => num(r.abandoned)],
    ["reports-first-response", (r) => secs(r.first_response_p50_seconds)], ["reports-p90", (r) => secs(r.first_response_p90_seconds)],
    ["reports-handle-time", (r) => secs(r.handle_time_p50_seconds)], ["reports-p90", (r) => secs(r.handle_time_p90_seconds)],
    ["reports-wait", (r) => secs(r.wait_p50_seconds)], ["reports-p90", (r) => secs(r.wait_p90_seconds)],
    ["reports-csat", (r) => r.csat_average === null ? "—" : r.csat_average.toFixed(2) + " (" + r.csat_count + ")"]
  ];

  function links(path, q) {
    return h("p", { class: "report-links" }, [
      h("a", { href: "/api/v1/reports/" + path + ".csv?" + q, download: path + ".csv", text: "CSV" }), " · ",
      h("a", { href: "/api/v1/reports/" + path + "?" + q, target: "_blank", rel: "noopener", text: "JSON" })
    ]);
  }

  function table(caption, keyName, key, report) {
    const head = h("tr", {}, [h("th", { scope: "col", text: keyName })].concat(COLUMNS.map((c) => h("th", { scope: "col", text: t(c[0]) }))));
    const tb = h("table", { class: "report" }, [h("caption", { text: caption }), head]);
    for (const r of report.rows) tb.append(h("tr", {}, [h("th", { scope: "row", text: key(r) })].concat(COLUMNS.map((c) => h("td", { text: c[1](r) })))));
    tb.append(h("tr", { class: "total" }, [h("th", { scope: "row", text: t("reports-total") })].concat(COLUMNS.map((c) => h("td", { text: c[1](report.total) })))));
    return tb;
  }

  function picker() {
    const choice = (value, label) => h("label", {}, [h("input", { type: "radio", name: "report-range", value, checked: range === value,
      onchange: () => { range = value; render(); } }), " " + label]);
    const input = (name, label) => h("label", {}, [label + " ", h("input", { type: "datetime-local", name, value: custom[name],
      onchange: (e) => { custom[name] = e.target.value; if (range === "custom") render(); } })]);
    return h("fieldset", { class: "report-period" }, [h("legend", { text: t("reports-period") }),
      choice("today", t("reports-today")), choice("week", t("reports-week")), choice("custom", t("reports-custom")),
      input("from", t("reports-from")), input("to", t("reports-to"))]);
  }

  async function render() {
    const p = period(), q = query(p);
    const box = h("div", {}, [h("h2", { text: t("reports-heading") }), picker(),
      h("p", { class: "muted", text: p.from.toLocaleString() + " – " + p.to.toLocaleString() })]);
    section.replaceChildren(box);
    const err = h("p", { class: "err", role: "alert" });
    box.append(err);
    try {
      const [queues, agents, deflections] = await Promise.all([
        api("GET", "/reports/queues?" + q), api("GET", "/reports/agents?" + q), api("GET", "/reports/deflections?" + q)]);
      box.append(table(t("reports-queues"), t("reports-queue"), (r) => r.queue, queues), links("queues", q));
      box.append(table(t("reports-agents"), t("reports-agent"), (r) => r.display_name || ("#" + r.agent_id), agents), links("agents", q));
      const dt = h("table", { class: "report" }, [h("caption", { text: t("reports-deflections") }),
        h("tr", {}, ["reports-flow", "reports-input", "reports-deflections-count", "reports-answered"].map((id) => h("th", { scope: "col", text: t(id) })))]);
      for (const r of deflections.rows.concat([Object.assign({}, deflections.total, { flow: t("reports-total"), input_method: "" })]))
        dt.append(h("tr", {}, [r.flow || "—", r.input_method ? t("reports-input-method", { method: r.input_method }) : "", r.deflections, r.answered].map((v) => h("td", { text: String(v) }))));
      box.append(dt, links("deflections", q));
      // Charts: the server's SVG (with its own title and description) as images; the alt
      // text says what they show, the tables above carry the numbers.
      box.append(h("figure", { class: "report-chart" }, [
        h("img", { src: "/api/v1/reports/charts/volume.svg?" + q, alt: t("reports-volume.alt"), width: "720", height: "240" }),
        h("figcaption", { text: t("reports-volume") })]));
      box.append(h("figure", { class: "report-chart" }, [
        h("img", { src: "/api/v1/reports/charts/wait.svg?" + q, alt: t("reports-wait-chart.alt"), width: "720", height: "240" }),
        h("figcaption", { text: t("reports-wait-chart") })]));
      box.append(h("p", { class: "muted", text: t("reports-note") }));
    } catch (e) { err.textContent = e.message; }
  }

  D.views.reports = { section, render };
})();
