// The StatePersistence dashboard: plain JavaScript, no framework and no build step. Views are chosen by the URL's
// fragment (#/, #/tasks, #/tasks/<id>, #/sessions/<id>, #/backups) and re-read when /api/events reports a change.
// Text from the server is only ever set as textContent, never parsed as HTML.
"use strict";

const STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled"];
const main = document.getElementById("main");
let current = { view: null, refresh: null, onEvent: null };
let refreshTimer = null;
// Each render has a number; a slower, older one that finishes later must not replace the newer page.
let renderSeq = 0;
// The render that redraws the view already on screen (a live refresh), or 0.
let refreshSeq = 0;

// ---- helpers ----
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  if (seconds < 60) return Math.round(seconds) + " s ago";
  if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
  return (seconds / 3600).toFixed(1) + " h ago";
}

function when(text) { return text ? new Date(text).toLocaleString() : "–"; }

function notice(text, isError) {
  const el = document.getElementById("notice");
  el.textContent = text;
  el.className = "notice" + (isError ? " error" : "");
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { el.textContent = ""; }, 6000);
}

async function api(path, options) {
  const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
  if (opts.json !== undefined) {
    // The server takes JSON only as application/json, which a cross-site page cannot send without a preflight.
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
  }
  if (opts.action) opts.headers["X-StatePersistence-Action"] = opts.action;
  const res = await fetch(path, opts);
  if (res.status === 401) { window.location.assign("/login"); throw new Error("not logged in"); }
  if (!res.ok && res.status !== 206 && !(opts.allow || []).includes(res.status)) {
    let detail = res.status + " " + res.statusText;
    try { const p = await res.json(); if (p.detail) detail = p.detail; } catch { /* not a problem document */ }
    throw new Error(detail);
  }
  return res;
}
const getJson = async (path) => (await api(path)).json();

function confirmAction(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
  });
}

async function act(label, question, run) {
  if (!(await confirmAction(question))) return;
  try {
    await run();
    notice(label + ": done.");
    scheduleRefresh(0);
  } catch (e) {
    notice(label + " failed: " + e.message, true);
  }
}

function setPage(seq, title, nav, ...content) {
  if (seq !== renderSeq) return false;
  // A live refresh redraws the view on screen: what the operator typed in its fields (a search not yet submitted)
  // and where the focus was must survive it, or the next Enter submits the field as the URL had it. They are read
  // now, as the page is replaced, not when the refresh began: typing goes on while its request is out.
  const refresh = seq === refreshSeq;
  const drafts = refresh ? [...main.querySelectorAll("input[id], select[id], textarea[id]")].map((field) => [field.id, field.value]) : [];
  const active = refresh && document.activeElement && main.contains(document.activeElement) ? document.activeElement.id : null;
  document.title = title + " · StatePersistence";
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  main.replaceChildren(h("h1", {}, title), ...content);
  for (const [id, value] of drafts) {
    const field = document.getElementById(id);
    if (field) field.value = value;
  }
  if (active && document.getElementById(active)) document.getElementById(active).focus();
  return true;
}

function table(caption, headers, rows, numeric) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "muted" }, caption),
    h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: (numeric || []).includes(i) ? "num" : null }, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "None.")))));
}

// ---- actions ----
const snapshotNow = () => act("Snapshot", "Write a snapshot of the whole state now?", () =>
  api("/api/state/save", { method: "POST", json: {}, action: "snapshot" }));

const downloadExport = () => act("Export", "Download an export of the whole state (every task and session)?", async () => {
  const res = await api("/api/state", { action: "export" });
  const url = URL.createObjectURL(await res.blob());
  const a = h("a", { href: url, download: "statepersistence-export-" + new Date().toISOString().replace(/[:.]/g, "-") + ".json" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
});

// Sent with If-Match: the change applies to the task as the operator saw it, or not at all (412, shown as the error).
const setStatus = (id, status, verb, revision) => act(verb, verb + " task " + id + " (status becomes " + status + ")?", () =>
  api("/api/tasks/" + encodeURIComponent(id), {
    method: "PATCH", json: { status }, action: verb.toLowerCase() + "-task", headers: { "If-Match": '"' + revision + '"' },
  }));

// ---- views ----
async function overview(seq) {
  const [o, sessions] = await Promise.all([getJson("/api/dashboard/overview"), getJson("/api/sessions?limit=20")]);
  const counts = STATUSES.map((s) => h("a", { class: "card", href: "#/tasks?status=" + s, "data-status": s },
    h("div", { class: "value", "data-count": s }, o.status_counts[s] ?? 0), h("div", { class: "label" }, s.replace("_", " "))));
  const healthCard = h("div", { class: "card" },
    h("div", { class: "value status-" + o.health, id: "health" }, o.health),
    h("div", { class: "label" }, "health"),
    o.health_reasons.length ? h("ul", {}, o.health_reasons.map((r) => h("li", {}, r))) : null);
  setPage(seq, "Overview", "overview",
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("div", { class: "value", id: "task-count" }, o.task_count), h("div", { class: "label" }, "tasks")),
      ...counts),
    h("div", { class: "grid", style: null },
      h("div", { class: "card" }, h("div", { class: "value", id: "saves-per-second" }, o.saves_per_second.toFixed(1)), h("div", { class: "label" }, "saves per second (last 10 s)")),
      h("div", { class: "card" }, h("div", { class: "value" }, age(o.last_save_age_seconds)), h("div", { class: "label" }, "last snapshot: " + when(o.last_save_time))),
      healthCard,
      h("div", { class: "card" }, h("div", { class: "value" }, o.session_count), h("div", { class: "label" }, "sessions · revision " + o.revision))),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: snapshotNow, id: "snapshot" }, "Take a snapshot now"),
      h("button", { type: "button", onclick: downloadExport, id: "export" }, "Download an export")),
    h("h2", {}, "Disk usage"),
    table("Bytes on disk by kind; free: " + bytes(o.disk_free_bytes), ["Kind", "Size"],
      Object.entries(o.disk_bytes).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", { class: "num" }, bytes(v)))), [1]),
    h("h2", {}, "Backups"),
    table(o.backups.length + " backup(s), newest first", ["File", "Saved", "Size"],
      o.backups.slice(0, 5).map((b) => h("tr", {}, h("td", {}, b.name), h("td", {}, when(b.saved_at)), h("td", { class: "num" }, bytes(b.bytes)))), [2]),
    h("h2", {}, "Sessions"),
    table("The first 20 sessions by id", ["Session", "Type", "Status", "Task"],
      sessions.map((s) => h("tr", {}, h("td", {}, h("a", { href: "#/sessions/" + encodeURIComponent(s.id) }, s.id)),
        h("td", {}, s.type ?? ""), h("td", {}, s.status ?? ""),
        h("td", {}, s.task_id ? h("a", { href: "#/tasks/" + encodeURIComponent(s.task_id) }, s.task_id) : "")))));
}

async function tasks(seq, params) {
  const status = params.get("status") || "";
  const q = params.get("q") || "";
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  const query = new URLSearchParams({ page: String(page), size: "25" });
  if (status) query.set("status", status);
  if (q) query.set("q", q);
  const result = await getJson("/api/dashboard/tasks?" + query);
  // A page whose tasks pass the server's bytes per answer comes cut short: ask for the rest from where it stopped.
  for (let more = result; more.next_offset != null && result.tasks.length < result.size;) {
    query.set("offset", String(more.next_offset));
    query.set("size", String(result.size - result.tasks.length));
    more = await getJson("/api/dashboard/tasks?" + query);
    result.tasks.push(...more.tasks);
  }
  const go = (changes) => {
    const next = new URLSearchParams({ status, q, page: String(page) });
    for (const [k, v] of Object.entries(changes)) next.set(k, v);
    for (const k of [...next.keys()]) if (!next.get(k) || (k === "page" && next.get(k) === "1")) next.delete(k);
    window.location.hash = "#/tasks" + (next.toString() ? "?" + next : "");
  };
  const search = h("input", { id: "search", type: "search", value: q, placeholder: "id, description or tool" });
  const select = h("select", { id: "status-filter" }, h("option", { value: "" }, "any"),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));
  const form = h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); go({ status: select.value, q: search.value.trim(), page: "1" }); } },
    h("div", {}, h("label", { for: "status-filter" }, "Status"), select),
    h("div", {}, h("label", { for: "search" }, "Search"), search),
    h("button", { type: "submit" }, "Apply"));
  select.addEventListener("change", () => go({ status: select.value, q: search.value.trim(), page: "1" }));
  const first = result.total === 0 ? 0 : (result.page - 1) * result.size + 1;
  const last = Math.min(result.total, result.page * result.size);
  const pages = Math.max(1, Math.ceil(result.total / result.size));
  setPage(seq, "Tasks", "tasks", form,
    table("Tasks " + first + "–" + last + " of " + result.total + ", most recently updated first", ["Task", "Description", "Status", "Tool", "Updated"],
      result.tasks.map((t) => h("tr", { "data-task": t.id },
        h("td", {}, h("a", { href: "#/tasks/" + encodeURIComponent(t.id) }, t.id)),
        h("td", {}, t.description ?? ""),
        h("td", {}, h("span", { class: "badge " + (t.status ?? "") }, t.status ?? "")),
        h("td", {}, t.tool ?? ""), h("td", {}, when(t.updated_at))))),
    h("div", { class: "pager" },
      h("button", { type: "button", disabled: page <= 1, onclick: () => go({ page: String(page - 1) }) }, "Previous"),
      h("span", { id: "page-info" }, "Page " + page + " of " + pages),
      h("button", { type: "button", disabled: page >= pages, onclick: () => go({ page: String(page + 1) }) }, "Next")));
}

async function task(seq, id) {
  const t = await getJson("/api/tasks/" + encodeURIComponent(id));
  const terminal = ["completed", "failed", "cancelled"].includes(t.status);
  const field = (k, v) => [h("dt", {}, k), h("dd", {}, v ?? "–")];
  setPage(seq, "Task " + t.id, "tasks",
    h("dl", { class: "fields" },
      field("Description", t.description), field("Status", h("span", { class: "badge " + t.status, id: "task-status" }, t.status)),
      field("Tool", t.tool), field("Created", when(t.created_at)), field("Updated", when(t.updated_at)),
      field("Started", when(t.started_at)), field("Completed", when(t.completed_at)),
      field("Revision", h("span", { id: "task-revision" }, String(t.revision)))),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "danger", id: "cancel-task", disabled: terminal, onclick: () => setStatus(t.id, "cancelled", "Cancel", t.revision) }, "Cancel task"),
      h("button", { type: "button", id: "retry-task", disabled: !(t.status === "failed" || t.status === "cancelled"), onclick: () => setStatus(t.id, "pending", "Retry", t.revision) }, "Retry task")),
    h("h2", {}, "Result"),
    t.result === undefined || t.result === null ? h("p", { class: "muted" }, "No result yet.") : h("pre", {}, JSON.stringify(t.result, null, 2)),
    h("h2", {}, "Logs"),
    table((t.logs || []).length + " log entries", ["Time", "Level", "Type", "Message"],
      (t.logs || []).map((l) => h("tr", {}, h("td", {}, when(l.timestamp)), h("td", {}, l.level), h("td", {}, l.type), h("td", {}, l.message)))));
}

// The most of a session's log the page loads by itself: its end. A log of gigabytes was downloaded whole into the page.
const LOG_TAIL = 256 * 1024;

async function session(seq, id) {
  const url = "/api/sessions/" + encodeURIComponent(id) + "/log";
  const log = h("pre", { id: "session-log", "aria-live": "polite", tabindex: "0" });
  const follow = h("input", { type: "checkbox", id: "follow", checked: true });
  const earlier = h("p", { id: "log-earlier", class: "muted", hidden: true });
  let offset = 0, last = -1, whole = false;
  let decoder = new TextDecoder();
  function restart() {
    offset = 0; last = -1; log.textContent = ""; decoder = new TextDecoder(); earlier.hidden = true;
  }
  // The log's end first: its length (HEAD), then the last LOG_TAIL bytes of a longer log, the text before them offered
  // on request. A HEAD rather than a suffix range, which an empty log answers with 416 (a console error).
  async function start() {
    const length = Number((await api(url, { method: "HEAD", headers: { Accept: "text/plain" } })).headers.get("Content-Length") || 0);
    const from = whole || length <= LOG_TAIL ? 0 : length - LOG_TAIL;
    const res = await api(url, { headers: from ? { Range: "bytes=" + from + "-", Accept: "text/plain" } : { Accept: "text/plain" }, allow: [416] });
    if (res.status === 416) return; // cut shorter between the two requests: the next event starts again
    let data = new Uint8Array(await res.arrayBuffer());
    const first = res.status === 206 ? Number(/^bytes (\d+)-/.exec(res.headers.get("Content-Range") || "")?.[1] ?? 0) : 0;
    offset = first + data.length;
    if (data.length) last = data[data.length - 1];
    if (first > 0) {
      // Started inside a character: its continuation bytes (10xxxxxx) are not shown.
      let skip = 0;
      while (skip < data.length && skip < 3 && (data[skip] & 0xc0) === 0x80) skip++;
      data = data.subarray(skip);
      earlier.replaceChildren("The first " + bytes(first + skip) + " of the log are not shown. ",
        h("button", { type: "button", id: "log-whole", onclick: () => { whole = true; restart(); tailSoon(); } }, "Show the whole log"));
      earlier.hidden = false;
    }
    show(data);
  }
  function show(data) {
    log.append(decoder.decode(data, { stream: true }));
    if (follow.checked) log.scrollTop = log.scrollHeight;
  }
  async function tail() {
    if (!offset) return start();
    // From the last byte shown rather than past it: the range always holds a byte while the log only grows (no 416),
    // and that byte must be the one shown, else the log was cut (retention) or replaced: it is then shown again.
    const res = await api(url, { headers: { Range: "bytes=" + (offset - 1) + "-", Accept: "text/plain" }, allow: [416] });
    let data = new Uint8Array(await res.arrayBuffer());
    if (res.status === 206 && data[0] === last) {
      data = data.subarray(1);
    } else {
      restart();
      return start();
    }
    offset += data.length;
    if (data.length) last = data[data.length - 1];
    show(data);
  }
  // One request at a time: two answers for the same offset (a burst of appends, one event each) would show their
  // bytes twice. An event during a request asks once more when it is answered, from the new end.
  let tailing = null, again = false;
  function tailSoon() {
    if (tailing) { again = true; return tailing; }
    tailing = (async () => {
      try { do { again = false; await tail(); } while (again); } finally { tailing = null; }
    })();
    return tailing;
  }
  // Listening before the first request: an event during this render (a checkpoint's state:saved, another item's
  // change) would otherwise find no handler and reload the page, asking for the log's end again.
  // Handled here (true: no reload): this session's appends, and every event about something else. Its log deleted
  // (session:log-deleted) reloads the view, which then shows the log as it is now: empty.
  listen(seq, (type, data) => {
    if (type === "session:log") {
      if (data.id === id) tailSoon();
      return true;
    }
    return !(type === "reset" || (type.startsWith("session:") && data.id === id));
  });
  const s = await getJson("/api/sessions/" + encodeURIComponent(id));
  const field = (k, v) => [h("dt", {}, k), h("dd", {}, v ?? "–")];
  if (!setPage(seq, "Session " + s.id, "overview",
    h("dl", { class: "fields" }, field("Type", s.type), field("Status", s.status),
      field("Task", s.task_id ? h("a", { href: "#/tasks/" + encodeURIComponent(s.task_id) }, s.task_id) : null),
      field("Created", when(s.created_at)), field("Updated", when(s.updated_at)),
      field("Revision", h("span", { id: "session-revision" }, String(s.revision)))),
    h("h2", {}, "Log"),
    h("label", {}, follow, " follow the end of the log"),
    earlier,
    log)) return null;
  await tailSoon();
}

async function backups(seq) {
  const o = await getJson("/api/dashboard/overview");
  let report = null;
  try { report = await getJson("/api/dashboard/recovery"); } catch { report = null; }
  const list = (title, items, render) => [h("h2", {}, title), items.length ? h("ul", {}, items.map((x) => h("li", {}, render(x)))) : h("p", { class: "muted" }, "None.")];
  setPage(seq, "Backups & recovery", "backups",
    table(o.backups.length + " backup(s), newest first", ["File", "Saved", "Size"],
      o.backups.map((b) => h("tr", {}, h("td", {}, b.name), h("td", {}, when(b.saved_at)), h("td", { class: "num" }, bytes(b.bytes)))), [2]),
    h("h2", {}, "Last recovery"),
    report === null ? h("p", { class: "muted" }, "No recovery report.") : h("dl", { class: "fields", id: "recovery" },
      [["Started", when(report.started_at)], ["Snapshot used", report.snapshot_source], ["Snapshot revision", report.snapshot_revision],
       ["Journal records replayed", report.journal_records_replayed], ["Torn journal bytes", report.torn_journal_bytes],
       ["Tasks loaded", report.tasks_loaded], ["Sessions loaded", report.sessions_loaded], ["Revision", report.revision]]
        .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "–")])),
    report ? list("Quarantined (moved aside)", report.quarantined || [], (q) => q.original_path + " → " + q.quarantine_path + ": " + q.reason) : null,
    report ? list("Restored from a backup", report.restored_from_backup || [], (r) => r.kind + " " + r.id + " from " + r.source + (r.possibly_stale ? " (possibly stale)" : "")) : null,
    report ? list("Lost", report.lost || [], (l) => l) : null,
    report ? list("Warnings", report.warnings || [], (w) => w) : null);
}

// ---- routing and live updates ----
async function render(focus) {
  const hash = window.location.hash || "#/";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let run;
  if (parts[0] === "tasks" && parts[1]) run = (seq) => task(seq, parts[1]);
  else if (parts[0] === "tasks") run = (seq) => tasks(seq, params);
  else if (parts[0] === "sessions" && parts[1]) run = (seq) => session(seq, parts[1]);
  else if (parts[0] === "backups") run = (seq) => backups(seq);
  else run = (seq) => overview(seq);
  const view = hash;
  const refresh = current && current.view === view;
  if (!refresh) current = { view, refresh: run, onEvent: null };
  // This render reads after every event so far: a reload one of them scheduled (on the view before, or on this one)
  // is not needed. The page before's handler is done too; a view that handles events sets its own (listen).
  clearTimeout(refreshTimer);
  current.onEvent = null;
  const seq = ++renderSeq;
  // A redraw of the view on screen keeps what was typed into it (setPage).
  refreshSeq = refresh ? seq : 0;
  try {
    await run(seq);
    if (seq !== renderSeq) return;
    if (focus) main.focus();
  } catch (e) {
    if (seq === renderSeq) setPage(seq, "Error", "", h("p", { class: "error", role: "alert" }, e.message));
  }
}

// A view that handles live events itself: onEvent(type, data) returns true for an event it handled, false for one
// that needs the page reloaded. Only the newest render's view sets it.
function listen(seq, onEvent) {
  if (seq === renderSeq) current.onEvent = onEvent;
}

function scheduleRefresh(delay) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { if (current.refresh && !document.getElementById("confirm").open) render(false); }, delay);
}

function connect() {
  const live = document.getElementById("live");
  const source = new EventSource("/api/events");
  source.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  source.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
  // The browser resumes after the last event id by itself (Last-Event-ID); "reset" means events were missed: reload.
  const types = ["task:created", "task:updated", "task:deleted", "session:created", "session:updated", "session:deleted",
    "session:log", "session:log-deleted", "report:saved", "state:saved", "state:loaded", "state:save-error", "autosave:triggered", "audit", "reset"];
  for (const type of types) {
    source.addEventListener(type, (e) => {
      const data = JSON.parse(e.data);
      if (type === "state:save-error") notice("A save failed (" + data.operation + "): see the server's log.", true);
      if (current.onEvent && current.onEvent(type, data)) return;
      // Many events in a burst cause one reload of the view, not one each.
      scheduleRefresh(250);
    });
  }
}

window.addEventListener("hashchange", () => render(true));
render(false);
connect();
