// mailtrace web UI: what DMARC and SMTP TLS reports say, per reporter, day
// and pool; unknown sources; coverage; the reports received. Loaded before
// app.js, which routes #/reports here. Every value is put on the page as
// text, never as HTML.
"use strict";

function reportsTable(id, head, rows) {
  if (!rows.length) return el("p", { class: "muted", id }, "None in the range.");
  return el("table", { id },
    el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))));
}

function share(part, total) {
  return total ? (100 * part / total).toFixed(1) + "%" : "";
}

async function renderReports() {
  show(el("p", { class: "muted" }, "Loading reports…"));
  try {
    const v = await api("/api/v1/reports").then((r) => r.json());
    const dmarc = reportsTable("reports-summary",
      ["Day", "Reporter", "Domain", "Pool", "Messages", "DKIM pass", "SPF pass", "DKIM aligned", "SPF aligned", "DMARC pass"],
      v.summary.map((d) => [d.day, d.org, d.domain, d.pool || el("span", { class: "status bounced" }, "no pool"), d.messages,
        share(d.dkim_pass, d.messages), share(d.spf_pass, d.messages), share(d.dkim_aligned, d.messages),
        share(d.spf_aligned, d.messages), share(d.dmarc_pass, d.messages)]));
    const unknown = reportsTable("reports-unknown",
      ["Source IP", "Reverse DNS", "Messages", "DMARC pass", "From domains", "Reporters", "First day", "Last day"],
      v.unknown_sources.map((u) => [u.source_ip, u.ptr, u.messages, u.dmarc_pass, u.domains.join(", "), u.reporters.join(", "), u.first_day, u.last_day]));
    const coverage = reportsTable("reports-coverage",
      ["Day", "Reporter", "Provider", "Reported", "From our pools", "Our deliveries", "Ratio"],
      v.coverage.map((c) => [c.day, c.org, c.provider, c.reported, c.from_pools, c.delivered, c.delivered ? c.ratio.toFixed(2) : ""]));
    const received = reportsTable("reports-received",
      ["Received", "Kind", "Reporter", "Report ID", "Domain", "Records", "Messages", "Refused because"],
      v.reports.map((r) => [fmtTime(r.received_at), r.kind, r.org, r.report_id, r.domain, r.records, r.messages,
        r.error ? el("span", { class: "response" }, r.error) : ""]));
    show(el("h1", {}, "Authentication reports"),
      el("p", { class: "muted" }, "What receivers' DMARC aggregate, DMARC failure and SMTP TLS reports say, the last 30 days."),
      el("div", { class: "card" }, el("h2", {}, "DMARC per reporter, day and pool"), dmarc),
      el("div", { class: "card" }, el("h2", {}, "Unknown sources: IPs in no pool sending as your domains"), unknown),
      el("div", { class: "card" }, el("h2", {}, "Coverage: reported against delivered"), coverage),
      el("div", { class: "card" }, el("h2", {}, "Reports received"), received));
  } catch (e) {
    show(el("h1", {}, "Authentication reports"), el("p", { class: "error" }, e.message));
  }
}
