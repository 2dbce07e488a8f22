// mailtrace web UI: search delivery attempts, open one message's trace,
// export a search, see the block incidents. Plain JavaScript on the /api/v1 endpoints; every value
// from the store is put on the page as text, never as HTML.
"use strict";

const main = document.getElementById("main");
const tokenKey = "mailtrace-token";
const utcKey = "mailtrace-utc";
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// show replaces the page's content.
function show(...children) {
  main.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function useUTC() { return localStorage.getItem(utcKey) === "1"; }

function showZone() {
  document.getElementById("tz").textContent = "Times in " + (useUTC() ? "UTC" : zone);
  document.getElementById("tz-toggle").textContent = useUTC() ? "show " + zone : "show UTC";
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

// fmtTime shows a time in the chosen zone, with the zone's offset so that
// a printed page is unambiguous, and with exactly the digits of a second
// the API gave: none for a whole-second log line (maillog_file), six for
// the milter's clock. The fraction is copied from the text (a JavaScript
// Date keeps milliseconds only; zone offsets are whole minutes, so the
// fraction is the same in every zone).
function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const m = /T\d\d:\d\d:\d\d(\.\d+)/.exec(iso);
  const frac = m ? m[1] : "";
  if (useUTC()) {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac} UTC`;
  }
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac} ${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

// fmtSeconds shows a time to the second: block incidents are made from
// log times, whose digits past the second the store does not keep apart.
function fmtSeconds(iso) { return fmtTime(iso ? iso.replace(/(T\d\d:\d\d:\d\d)\.\d+/, "$1") : iso); }

// timeCell shows a time on two lines (date, then time and zone), so that
// it takes little width in tables.
function timeCell(iso) {
  const t = fmtTime(iso);
  const sp = t.indexOf(" ");
  return sp < 0 ? t : [el("span", { class: "date" }, t.slice(0, sp)), " ", el("span", { class: "clock" }, t.slice(sp + 1))];
}

function status(s) { return el("span", { class: "status " + s }, s); }

async function api(path) {
  const headers = {};
  const token = localStorage.getItem(tokenKey);
  if (token) headers["Authorization"] = "Bearer " + token;
  const res = await fetch(path, { headers });
  if (res.status === 401) {
    document.getElementById("token-bar").hidden = false;
    throw new Error("This server needs an API token (above).");
  }
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return res;
}

// --- search ---------------------------------------------------------------

const filterFields = [
  ["from", "From", "datetime-local"], ["to", "To", "datetime-local"], ["sender", "Sender (or @domain)"],
  ["recipient", "Recipient (or @domain)"], ["subject", "Subject contains"], ["class", "Class"], ["pool", "Pool"], ["source_ip", "Source IP"],
  ["provider", "Provider"], ["status", "Status", ["", "sent", "deferred", "bounced", "expired", "rejected", "handoff", "warning", "discarded", "held"]], ["dsn", "DSN (5, 5.7, 5.7.1)"],
];

// toLocalInput and fromLocalInput convert between RFC 3339 and the
// datetime-local input, in the zone shown.
function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (useUTC()) return iso.slice(0, 16);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(v) {
  if (!v) return "";
  return useUTC() ? new Date(v + ":00Z").toISOString() : new Date(v).toISOString();
}

function searchParams(form) {
  const p = new URLSearchParams();
  for (const [name] of filterFields) {
    let v = form.elements[name].value.trim();
    if (name === "from" || name === "to") v = fromLocalInput(v);
    if (v) p.set(name, v);
  }
  return p;
}

function renderSearch(params) {
  if (!params.get("to")) params.set("to", new Date().toISOString());
  if (!params.get("from")) params.set("from", new Date(Date.parse(params.get("to")) - 86400000).toISOString());
  const inputs = filterFields.map(([name, label, kind]) => {
    let input;
    if (Array.isArray(kind)) {
      input = el("select", { name }, kind.map((o) => el("option", { value: o, selected: params.get(name) === o }, o || "any")));
    } else {
      const v = kind === "datetime-local" ? toLocalInput(params.get(name)) : params.get(name) || "";
      input = el("input", { name, type: kind || "text", value: v });
    }
    return el("label", {}, label, input);
  });
  const results = el("div", { id: "results" });
  const form = el("form", { class: "filters", id: "search-form", onsubmit: (e) => {
    e.preventDefault();
    location.hash = "#/search?" + searchParams(form).toString();
  } }, inputs);
  const exportAs = (format) => async () => {
    const p = searchParams(form);
    p.set("format", format);
    try {
      const res = await api("/api/v1/export?" + p.toString());
      const blob = await res.blob();
      const a = el("a", { href: URL.createObjectURL(blob), download: `mailtrace-export.${format}` });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) { results.prepend(el("p", { class: "error" }, e.message)); }
  };
  show(
    el("h1", {}, "Search delivery attempts"),
    form,
    el("div", { class: "actions" },
      el("button", { type: "submit", form: "search-form" }, "Search"),
      el("button", { type: "button", class: "secondary", id: "export-csv", onclick: exportAs("csv") }, "Export CSV"),
      el("button", { type: "button", class: "secondary", id: "export-jsonl", onclick: exportAs("jsonl") }, "Export JSON lines")),
    results);
  loadPage(params, results, null);
}

async function loadPage(params, results, cursor) {
  const p = new URLSearchParams(params);
  if (cursor) p.set("cursor", cursor);
  let page;
  try {
    page = await (await api("/api/v1/search?" + p.toString())).json();
  } catch (e) {
    results.append(el("p", { class: "error" }, e.message));
    return;
  }
  let table = results.querySelector("table");
  if (!table) {
    // Fixed column widths: the reply takes what is left and is clamped,
    // so the table fits the window and the links stay in view.
    table = el("table", { id: "results-table", class: "results" },
      el("colgroup", {}, ["time", "recipient", "status", "sender", "via", "reply"].map((c) => el("col", { class: "col-" + c }))),
      el("thead", {}, el("tr", {}, ["Time", "Recipient", "Status", "Sender", "Pool · IP · provider", "Reply (click to expand)"].map((h) => el("th", {}, h)))),
      el("tbody"));
    results.append(table);
  }
  const body = table.querySelector("tbody");
  for (const r of page.rows) {
    const href = "#/trace/" + encodeURIComponent(r.trace_id || r.queue_id);
    const title = "Trace of this message" + (r.trace_id ? " (" + r.trace_id + ")" : " (queue ID " + r.queue_id + ")");
    const envelope = r.envelope_sender && r.envelope_sender.toLowerCase() !== (r.sender || "").toLowerCase() ? r.envelope_sender : "";
    const reply = el("div", { class: "reply", title: "Click to show the whole reply", onclick: () => reply.classList.toggle("expanded") },
      r.response || "(no reply text)");
    body.append(el("tr", {},
      el("td", { class: "time" }, el("a", { href, class: "trace-link", title }, timeCell(r.time))),
      el("td", { class: "recipient" }, el("a", { href, class: "rcpt-link", title }, r.recipient),
        r.subject ? el("div", { class: "sub muted" }, r.subject) : null),
      el("td", {}, status(r.status), r.dsn ? el("div", { class: "sub" }, r.dsn) : null),
      el("td", { class: "sender" }, r.sender || el("span", { class: "muted", title: "Postfix's own notifications are sent with the null sender" }, "<> (null sender)"), envelope ? el("div", { class: "sub muted envelope", title: "Envelope sender Postfix sent with (VERP): " + envelope }, "via " + envelope) : null),
      el("td", { class: "via" }, [r.pool, r.source_ip, r.provider].filter(Boolean).join(" · ")),
      el("td", { class: "response" }, reply)));
  }
  results.querySelector(".more")?.remove();
  if (page.rows.length === 0 && !cursor) results.append(el("p", { class: "muted" }, "No attempt matches."));
  if (page.next) {
    results.append(el("button", { class: "secondary more", onclick: () => loadPage(params, results, page.next) }, "More"));
  }
}

// --- trace ----------------------------------------------------------------

// renderTrace shows every message an identifier names; range (from, to)
// bounds a recipient's lookup.
async function renderTrace(id, range) {
  show(el("p", { class: "muted" }, "Looking up " + id + "…"));
  let data;
  const q = new URLSearchParams();
  if (range.get("from")) q.set("from", range.get("from"));
  if (range.get("to")) q.set("to", range.get("to"));
  try {
    data = await (await api("/api/v1/trace/" + encodeURIComponent(id) + (q.toString() ? "?" + q.toString() : ""))).json();
  } catch (e) {
    show(el("h1", {}, "Trace"), el("p", { class: "error" }, e.message), e.status === 404 ? suggestions(id, range) : null);
    return;
  }
  show(el("h1", {}, "Trace of ", id),
    data.messages.length > 1 ? el("p", { class: "muted" }, `${data.messages.length} messages match.`) : null,
    data.messages.map(renderMessage));
}

// suggestions offers searches for an identifier that named no message.
function suggestions(id, range) {
  const to = range.get("to") || new Date().toISOString();
  const from = range.get("from") || new Date(Date.parse(to) - 7 * 86400000).toISOString();
  const search = (field, value) => {
    const p = new URLSearchParams({ from, to });
    if (field) p.set(field, value);
    return "#/search?" + p.toString();
  };
  const span = `${fmtTime(from)} – ${fmtTime(to)}`;
  const items = [];
  if (id.includes("@")) {
    const bare = id.replace(/^</, "").replace(/>$/, "");
    items.push(el("li", {}, el("a", { href: search("recipient", bare), id: "suggest-recipient" }, "Search attempts to " + bare), " (" + span + ")"));
    items.push(el("li", {}, el("a", { href: search("sender", bare), id: "suggest-sender" }, "Search attempts from " + bare), " (" + span + ")"));
    const dom = bare.slice(bare.lastIndexOf("@"));
    items.push(el("li", {}, el("a", { href: search("recipient", dom), id: "suggest-domain" }, "Search attempts to any address " + dom), " (" + span + ")"));
    if (range.get("from") || range.get("to")) {
      items.push(el("li", {}, el("a", { href: "#/trace/" + encodeURIComponent(id), id: "suggest-any-time" }, "Look " + id + " up as a Message-ID at any time")));
    }
  } else {
    items.push(el("li", {}, el("a", { href: search("", ""), id: "suggest-search" }, "Search all attempts"), " (" + span + ")",
      " — a queue ID is known once the collector has read its log lines; a recipient address is looked up with a range"));
  }
  return el("div", { class: "card suggestions" }, el("h2", {}, "Try a search instead"), el("ul", {}, items));
}

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, v]) => v).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderAttempt(a) {
  const via = [a.pool && "pool " + a.pool, a.source_ip && "from " + a.source_ip, a.relay && "to " + a.relay + (a.relay_ip ? " [" + a.relay_ip + "]" : "")]
    .filter(Boolean).join(", ");
  return el("div", { class: "attempt" },
    el("span", {}, fmtTime(a.time)),
    el("span", {}, status(a.status), " ", a.dsn || ""),
    el("span", { class: "meta" }, via, a.provider ? " · " + a.provider : "", a.category ? " · " + a.category : "",
      ` · delay ${a.delay}s (${a.delays.join("/")})`, a.tls ? " · TLS " + a.tls : ""),
    el("pre", { class: "response" }, a.response || "(no reply text)"));
}

function renderLane(r) {
  return el("section", { class: "lane " + r.status },
    el("h3", {}, el("span", { class: "address" }, r.address), status(r.status), el("span", { class: "muted" }, `${r.attempts.length} attempt(s)`)),
    r.attempts.map(renderAttempt));
}

// evidenceButton downloads the message's evidence bundle (records,
// proofs, certificate), to verify offline with mailtrace evidence verify.
function evidenceButton(m) {
  const id = m.trace_id || m.queue_id;
  const out = el("span", { class: "muted" });
  const button = el("button", { type: "button", class: "secondary evidence", onclick: async () => {
    out.textContent = "Exporting…";
    try {
      const res = await api("/api/v1/evidence/" + encodeURIComponent(id));
      const a = el("a", { href: URL.createObjectURL(await res.blob()), download: "evidence-" + id + ".zip" });
      document.body.append(a);
      a.click();
      a.remove();
      out.textContent = "Downloaded evidence-" + id + ".zip: verify it with mailtrace evidence verify.";
    } catch (e) { out.textContent = e.message; out.className = "error"; }
  } }, "Evidence");
  return el("p", { class: "evidence-bar", title: "Evidence bundle: the records, their proofs and the delivery certificate (PDF)" }, button, " ", out);
}

function renderMessage(m) {
  const client = m.client ? [m.client.name, m.client.ip && "[" + m.client.ip + "]", m.client.sasl_user && "SASL " + m.client.sasl_user].filter(Boolean).join(" ") : "";
  return el("article", { class: "message" },
    el("div", { class: "card" },
      el("h2", {}, m.subject || m.message_id || m.queue_id),
      facts([["Trace ID", m.trace_id], ["Queue ID", `${m.queue_id} on ${m.host}`], ["Message-ID", m.message_id],
        ["Sender", m.sender],
        ["Envelope sender", m.envelope_sender && m.envelope_sender.toLowerCase() !== (m.sender || "").toLowerCase() ? m.envelope_sender + " (the return path Postfix sent with)" : ""],
        ["From", m.from], ["Class / pool", m.class ? m.class + " / " + (m.pool || "none (Postfix's own routing)") : m.pool],
        ["Accepted", fmtTime(m.accepted)], ["In the log", m.first_seen ? fmtTime(m.first_seen) + " – " + fmtTime(m.last_seen) : ""],
        ["Client", client], ["Queue state", m.state], ["Report on", m.notification_for]]),
      (m.missing || []).map((x) => el("p", { class: "warning" }, x)),
      evidenceButton(m)),
    el("div", { class: "card" }, el("h2", {}, "Recipients"), m.recipients.map(renderLane)),
    m.timeline && m.timeline.length ? el("div", { class: "card" }, el("h2", {}, "Timeline"),
      el("p", { class: "muted" }, "Every fact in causal order. A time without a fraction is a whole second as the log or the report had it (the moment lies within that second)."),
      el("table", { class: "timeline" }, el("thead", {}, el("tr", {}, ["Time", "Clock", "What", "Recipient", "Status", "Detail"].map((h) => el("th", {}, h)))),
        el("tbody", {}, m.timeline.map((e) => el("tr", {}, el("td", { class: "time" }, timeCell(e.time)), el("td", {}, e.clock),
          el("td", {}, e.kind + (e.queue_id ? " " + e.queue_id : "")), el("td", { class: "recipient" }, e.recipient || ""),
          el("td", {}, e.status ? status(e.status) : ""), el("td", { class: "response" }, e.detail || "")))))) : null,
    m.notifications && m.notifications.length ? el("div", { class: "card" }, el("h2", {}, "Notifications Postfix sent"),
      m.notifications.map((n) => el("div", {}, el("p", {}, `${n.kind} notification ${n.queue_id}, ${fmtTime(n.time)}`), n.recipients.map(renderLane)))) : null,
    m.bounces && m.bounces.length ? el("div", { class: "card" }, el("h2", {}, "Reports that came back"),
      el("table", { class: "reports" }, el("thead", {}, el("tr", {}, ["Time", "Kind", "Recipient", "Action", "Status", "Diagnostic", "Matched by"].map((h) => el("th", {}, h)))),
        el("tbody", {}, m.bounces.map((b) => el("tr", {}, el("td", {}, fmtTime(b.time)), el("td", {}, b.kind), el("td", {}, b.recipient),
          el("td", {}, b.acknowledgement || b.action), el("td", {}, b.inferred_status ? `${b.status} (words say ${b.inferred_status})` : b.status),
          el("td", { class: "response" }, b.acknowledgement ? b.disposition : b.diagnostic), el("td", {}, b.matched_by)))))) : null);
}

// --- block incidents ------------------------------------------------------

function incidentTable(id, incidents) {
  if (!incidents.length) return el("p", { class: "muted", id }, "None.");
  return el("table", { id },
    el("thead", {}, el("tr", {}, ["Opened", "State", "Kind", "Pool", "Source IP", "Provider / list", "Signals", "Attempts", "Category", "Last signal", "Reply or listing"].map((h) => el("th", {}, h)))),
    el("tbody", {}, incidents.map((i) => el("tr", {},
      el("td", {}, fmtSeconds(i.opened_at)),
      el("td", {}, i.open ? status("open") : [status("closed"), " ", fmtSeconds(i.closed_at), i.close_reason ? " (" + i.close_reason + ")" : ""]),
      el("td", {}, i.kind), el("td", {}, i.pool), el("td", {}, i.source_ip), el("td", {}, i.provider),
      el("td", {}, i.signals), el("td", {}, i.attempts), el("td", {}, i.category), el("td", {}, fmtSeconds(i.last_signal)),
      el("td", { class: "response" }, i.sample)))));
}

async function renderBlocks() {
  show(el("p", { class: "muted" }, "Loading block incidents…"));
  try {
    const [open, recent] = await Promise.all([
      api("/api/v1/blocks").then((r) => r.json()),
      api("/api/v1/blocks?state=all").then((r) => r.json())]);
    show(el("h1", {}, "Block incidents"),
      el("p", { class: "muted" }, "A provider refusing one of the pools' source IPs, or an IP on a DNS blocklist."),
      el("div", { class: "card" }, el("h2", {}, "Open now"), incidentTable("blocks-open", open.incidents)),
      el("div", { class: "card" }, el("h2", {}, "Opened in the last 30 days"), incidentTable("blocks-recent", recent.incidents)));
  } catch (e) {
    show(el("h1", {}, "Block incidents"), el("p", { class: "error" }, e.message));
  }
}

// --- routing --------------------------------------------------------------

function route() {
  showZone();
  const h = location.hash || "#/search";
  if (h.startsWith("#/trace/")) {
    const rest = h.slice("#/trace/".length);
    const q = rest.indexOf("?");
    renderTrace(decodeURIComponent(q >= 0 ? rest.slice(0, q) : rest), new URLSearchParams(q >= 0 ? rest.slice(q + 1) : ""));
  } else if (h.startsWith("#/blocks")) {
    renderBlocks();
  } else if (h.startsWith("#/reports")) {
    renderReports(); // reports.js
  } else {
    const q = h.indexOf("?");
    renderSearch(new URLSearchParams(q >= 0 ? h.slice(q + 1) : ""));
  }
}

// The lookup box: an address is looked up as a Message-ID and as a
// recipient within the chosen range; other identifiers at any time.
document.getElementById("lookup").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = document.getElementById("lookup-id").value.trim();
  if (!id) return;
  let hash = "#/trace/" + encodeURIComponent(id);
  if (id.includes("@")) {
    const to = new Date();
    const from = new Date(to.getTime() - Number(document.getElementById("lookup-days").value) * 86400000);
    hash += "?" + new URLSearchParams({ from: from.toISOString(), to: to.toISOString() }).toString();
  }
  location.hash = hash;
});
document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem(tokenKey, document.getElementById("token").value);
  document.getElementById("token-bar").hidden = true;
  route();
});
document.getElementById("tz-toggle").addEventListener("click", () => {
  localStorage.setItem(utcKey, useUTC() ? "0" : "1");
  route();
});
window.addEventListener("hashchange", route);
route();
