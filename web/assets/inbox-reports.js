/* deflect inbox: the supervisors' reports (view "reports"): a period picker (today, the last
 * 7 days, a custom from/to), the queue and agent tables with their totals, deflections by flow
 * and input method, two charts drawn by the server as SVG, and the CSV/JSON links of each.
 * Builds on window.Deflect (inbox.js). */
"use strict";
(function () {
  const D = window.Deflect;
  if (!D) return;
  const { $, h, api } = D;
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
  const secs = (s) => s === null || s === undefined ? "—" : s < 60 ? s.toFixed(0) + " s" : s < 3600 ? (s / 60).toFixed(1) + " min" : (s / 3600).toFixed(1) + " h";
  const num = (v) => v === null || v === undefined ? "—" : String(v);

  const COLUMNS = [
    ["In", (r) => num(r.conversations_in)], ["Handled", (r) => num(r.conversations_handled)],
    ["Closed", (r) => num(r.conversations_closed)], ["Abandoned", (r) => num(r.abandoned)],
    ["First response p50", (r) => secs(r.first_response_p50_seconds)], ["p90", (r) => secs(r.first_response_p90_seconds)],
    ["Handle time p50", (r) => secs(r.handle_time_p50_seconds)], ["p90", (r) => secs(r.handle_time_p90_seconds)],
    ["Wait p50", (r) => secs(r.wait_p50_seconds)], ["p90", (r) => secs(r.wait_p90_seconds)],
    ["CSAT", (r) => r.csat_average === null ? "—" : r.csat_average.toFixed(2) + " (" + r.csat_count + ")"]
  ];

  function links(path, q) {
    return h("p", { class: "report-links" }, [
      h("a", { href: "/api/v1/reports/" + path + ".csv?" + q, download: path + ".csv", text: "CSV" }), " · ",
      h("a", { href: "/api/v1/reports/" + path + "?" + q, target: "_blank", rel: "noopener", text: "JSON" })
    ]);
  }

  function table(caption, keyName, key, report) {
    const head = h("tr", {}, [h("th", { scope: "col", text: keyName })].concat(COLUMNS.map((c) => h("th", { scope: "col", text: c[0] }))));
    const t = h("table", { class: "report" }, [h("caption", { text: caption }), head]);
    for (const r of report.rows) t.append(h("tr", {}, [h("th", { scope: "row", text: key(r) })].concat(COLUMNS.map((c) => h("td", { text: c[1](r) })))));
    t.append(h("tr", { class: "total" }, [h("th", { scope: "row", text: "Total" })].concat(COLUMNS.map((c) => h("td", { text: c[1](report.total) })))));
    return t;
  }

  function picker() {
    const choice = (value, label) => h("label", {}, [h("input", { type: "radio", name: "report-range", value, checked: range === value,
      onchange: () => { range = value; render(); } }), " " + label]);
    const input = (name, label) => h("label", {}, [label + " ", h("input", { type: "datetime-local", name, value: custom[name],
      onchange: (e) => { custom[name] = e.target.value; if (range === "custom") render(); } })]);
    return h("fieldset", { class: "report-period" }, [h("legend", { text: "Period" }),
      choice("today", "Today"), choice("week", "Last 7 days"), choice("custom", "Custom"), input("from", "From"), input("to", "To")]);
  }

  async function render() {
    const p = period(), q = query(p);
    const box = h("div", {}, [h("h2", { text: "Reports" }), picker(),
      h("p", { class: "muted", text: p.from.toLocaleString() + " – " + p.to.toLocaleString() })]);
    section.replaceChildren(box);
    const err = h("p", { class: "err", role: "alert" });
    box.append(err);
    try {
      const [queues, agents, deflections] = await Promise.all([
        api("GET", "/reports/queues?" + q), api("GET", "/reports/agents?" + q), api("GET", "/reports/deflections?" + q)]);
      box.append(table("Queues", "Queue", (r) => r.queue, queues), links("queues", q));
      box.append(table("Agents (the agent holding a conversation when it closed counts it)", "Agent", (r) => r.display_name || ("#" + r.agent_id), agents), links("agents", q));
      const dt = h("table", { class: "report" }, [h("caption", { text: "Deflections by flow and input method" }),
        h("tr", {}, ["Flow", "Input", "Deflections", "Answered"].map((t) => h("th", { scope: "col", text: t })))]);
      for (const r of deflections.rows.concat([Object.assign({}, deflections.total, { flow: "Total", input_method: "" })]))
        dt.append(h("tr", {}, [r.flow || "—", r.input_method, r.deflections, r.answered].map((v) => h("td", { text: String(v) }))));
      box.append(dt, links("deflections", q));
      // Charts: the server's SVG (with its own title and description) as images; the alt
      // text says what they show, the tables above carry the numbers.
      box.append(h("figure", { class: "report-chart" }, [
        h("img", { src: "/api/v1/reports/charts/volume.svg?" + q, alt: "Conversations in over the period, per hour or day", width: "720", height: "240" }),
        h("figcaption", { text: "Conversations in" })]));
      box.append(h("figure", { class: "report-chart" }, [
        h("img", { src: "/api/v1/reports/charts/wait.svg?" + q, alt: "Conversations closed in the period by how long they waited for an agent", width: "720", height: "240" }),
        h("figcaption", { text: "Waiting time until an agent took it" })]));
      box.append(h("p", { class: "muted", text: "Percentiles are read from time buckets: within 5 s below a minute, 30 s below 10 minutes, 5 minutes below an hour. Calls by outcome are not reported yet." }));
    } catch (e) { err.textContent = e.message; }
  }

  D.views.reports = { section, render };
})();
