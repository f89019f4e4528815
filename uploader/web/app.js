// The Import screen: sign in with a token (kept in this tab's sessionStorage),
// read the instructions, upload, follow imports, see errors, download the
// failed rows, start and cancel. Plain DOM, no build step, no external assets.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("sweep.token") || "", imports: [], selected: null, errorsNext: null, timer: null, admin: false };
// What a state means (settled, awaits the operator, has a run to show) comes
// with each import from the API; this script never derives it from the status.

function notice(text, isError) {
  const n = $("notice");
  n.textContent = text || "";
  n.className = isError ? "error" : "";
}

async function api(method, path, body, headers) {
  const h = Object.assign({ Authorization: "Bearer " + state.token }, headers || {});
  const resp = await fetch(path, { method, headers: h, body });
  if (resp.status === 401) {
    signOut("Your token was not accepted. Sign in again with a valid token.");
    throw new Error("unauthorized");
  }
  if (!resp.ok) {
    let msg = resp.status + " " + resp.statusText;
    try { msg = (await resp.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return resp;
}
const getJSON = async (path) => (await api("GET", path)).json();

function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }
function when(t) { return t ? new Date(t).toLocaleString() : ""; }
function duration(s) {
  if (s == null) return "";
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

// ---- sign in -------------------------------------------------------------

async function signIn(token) {
  state.token = token.trim();
  try {
    const me = await getJSON("/v1/me");
    sessionStorage.setItem("sweep.token", state.token);
    $("who-text").textContent = `Tenant ${me.tenant_id} · ${me.token_name}`;
    state.admin = me.scopes.includes("admin");
    state.approver = me.scopes.includes("imports:approve");
    state.me = me.token_id;
    state.writer = me.scopes.includes("imports:write");
    $("who").hidden = false;
    $("sign-in").hidden = true;
    $("upload").hidden = !state.writer; // without imports:write an upload would only be refused
    $("history").hidden = false;
    showTab("work");
    notice("");
    await refresh();
  } catch (e) {
    if (e.message !== "unauthorized") signOut("Could not sign in: " + e.message);
  }
}

function signOut(message) {
  sessionStorage.removeItem("sweep.token");
  state.token = "";
  state.selected = null;
  clearTimeout(state.timer);
  $("who").hidden = true;
  $("sign-in").hidden = false;
  for (const id of ["upload", "history", "detail"]) $(id).hidden = true;
  showTab("instructions");
  $("token").value = "";
  notice(message || "", !!message);
  $("token").focus();
}

// ---- tabs ------------------------------------------------------------------

// The screen has two tabs, as the platform's own Import screen: the
// instructions and samples, and the upload with the history.
function showTab(name) {
  document.querySelector("main").className = "tab-" + name;
  for (const [id, tab] of [["tab-instructions", "instructions"], ["tab-work", "work"]]) {
    const on = tab === name;
    $(id).setAttribute("aria-selected", String(on));
    $(id).tabIndex = on ? 0 : -1;
  }
}

// ---- instructions --------------------------------------------------------

async function loadInstructions() {
  try {
    const ins = await (await fetch("/v1/instructions")).json();
    $("summary").textContent = ins.summary;
    const ul = $("rules");
    ul.replaceChildren();
    for (const [col, rule] of Object.entries(ins.columns)) ul.append(el("li", {}, el("code", { text: col }), " — " + rule));
    for (const r of ins.rules.concat(ins.checks)) ul.append(el("li", { text: r }));
    ul.append(el("li", { text: `At most ${fmt(ins.limits.max_rows)} rows and ${fmt(Math.round(ins.limits.max_upload_bytes / 1048576))} MiB per file.` }));
  } catch (e) {
    $("summary").textContent = "The instructions could not be loaded: " + e.message;
  }
}

// ---- upload --------------------------------------------------------------

async function upload(ev) {
  ev.preventDefault();
  const file = $("file").files[0];
  if (!file) { notice("Choose a CSV file first.", true); return; }
  const form = new FormData();
  form.append("policy", document.querySelector("input[name=policy]:checked").value);
  if ($("auto-start").checked) form.append("auto_start", "true");
  if ($("run-window").value.trim()) form.append("run_window", $("run-window").value.trim());
  if ($("max-rate").value.trim()) form.append("max_rows_per_second", $("max-rate").value.trim());
  form.append("file", file);
  $("upload-button").disabled = true;
  notice(`Uploading ${file.name}…`);
  try {
    const imp = await (await api("POST", "/v1/imports", form)).json();
    notice(`Uploaded ${file.name} as import ${imp.id}; checking every row…`);
    $("upload-form").reset();
    state.selected = imp.id;
    await refresh();
  } catch (e) {
    notice("Upload failed: " + e.message, true);
  } finally {
    $("upload-button").disabled = false;
  }
}

// ---- history -------------------------------------------------------------

async function refresh() {
  clearTimeout(state.timer);
  if (!state.token) return;
  try {
    const list = await getJSON("/v1/imports?limit=50");
    state.imports = list.imports;
    renderHistory();
    renderApprovals();
    await renderThrottle();
    if (state.selected != null) await renderDetail();
  } catch (e) {
    if (e.message !== "unauthorized") notice("Could not load the imports: " + e.message, true);
  }
  const busy = state.imports.some((i) => !i.settled);
  if (state.token) state.timer = setTimeout(refresh, busy ? 1000 : 5000);
}

function progressCell(imp) {
  const td = el("td", { class: "bar", "data-label": "Progress" });
  if (!imp.has_run || imp.valid_rows === 0) {
    return td;
  }
  const p = el("progress", { max: "100", value: String(imp.percent), "aria-label": `Import ${imp.id} progress` });
  td.append(p);
  let text = `${imp.percent}% · ${fmt(imp.processed_rows)} of ${fmt(imp.valid_rows)}`;
  if (imp.status === "running") {
    text += ` · ${fmt(imp.rows_per_second)} rows/s`;
    if (imp.eta_seconds != null) text += ` · ${duration(imp.eta_seconds)} left`;
  }
  td.append(el("small", { class: "progress-text", text }));
  return td;
}

const LABELS = { validate: "Validate", start: "Start", pause: "Pause", resume: "Resume", cancel: "Cancel", delete: "Remove", approve: "Approve…" };

function renderHistory() {
  const body = $("imports");
  body.replaceChildren();
  $("no-imports").hidden = state.imports.length > 0;
  for (const imp of state.imports) {
    const tr = el("tr", { "data-id": String(imp.id), class: imp.id === state.selected ? "selected" : "" });
    const open = el("button", { type: "button", class: "link", text: "#" + imp.id, "aria-label": `Show import ${imp.id}` });
    open.addEventListener("click", () => { state.selected = imp.id; state.errorsNext = null; refresh(); });
    const rows = `${fmt(imp.total_rows)} rows · ${fmt(imp.valid_rows)} valid · ${fmt(imp.error_rows)} errors` +
      (imp.deleted_rows || imp.skipped_rows ? ` · ${fmt(imp.deleted_rows)} deleted · ${fmt(imp.skipped_rows)} skipped` : "");
    const actions = el("td", { class: "actions", "data-label": "Actions" });
    // Only the steps the import allows now: the column stays narrow enough
    // for a 1,280-pixel screen, and no button is there only to be disabled.
    for (const a of ["validate", "start", "pause", "resume", "cancel", "delete"]) {
      if (!imp.actions.includes(a)) continue;
      const b = el("button", { type: "button", class: "secondary", "data-action": a, text: LABELS[a] });
      b.addEventListener("click", () => act(imp, a));
      actions.append(b);
    }
    if (mayDecide(imp)) {
      const b = el("button", { type: "button", class: "secondary", "data-action": "approve", text: LABELS.approve });
      b.addEventListener("click", () => askDecide(imp));
      actions.append(b);
    }
    tr.append(
      el("td", { "data-label": "Import" }, open),
      el("td", { "data-label": "File", text: imp.file_name }),
      el("td", { "data-label": "By", text: imp.created_by }),
      el("td", { "data-label": "When", text: when(imp.created_at) }),
      stateCell(imp),
      el("td", { class: "num", "data-label": "Rows", text: rows }),
      progressCell(imp),
      actions,
    );
    body.append(tr);
  }
}

// ---- four eyes -------------------------------------------------------------

// An approver decides on another token's deletion, never on their own (the
// API refuses it too).
function mayDecide(imp) {
  // The API refuses the token that asked and the one that uploaded; so does the page.
  return state.approver && imp.actions.includes("approve") &&
    !(imp.approval && imp.approval.requested_by_token_id === state.me) && imp.created_by_token_id !== state.me;
}

// The imports awaiting this person's approval, above the history.
function renderApprovals() {
  const mine = state.imports.filter(mayDecide);
  $("approvals").hidden = mine.length === 0;
  const ul = $("approval-list");
  ul.replaceChildren();
  for (const imp of mine) {
    const b = el("button", { type: "button", class: "link", text: `Review import #${imp.id}` });
    b.addEventListener("click", () => askDecide(imp));
    ul.append(el("li", {}, b, ` — ${fmt(imp.valid_rows)} customers, asked by ${imp.approval.requested_by}, expires ${when(imp.approval.expires_at)}`));
  }
}

function askDecide(imp) {
  state.selected = imp.id;
  const asks = (n) => `${who(imp.approval.requested_by, imp.approval.requested_by_token_id)} asks to delete ${n} of import ${imp.id} (${imp.file_name}) ` +
    `with everything that belongs to them. This cannot be undone. The request expires ${when(imp.approval.expires_at)}.`;
  $("decide-text").textContent = asks(`the customers of its ${fmt(imp.valid_rows)} valid rows`);
  $("decide").dataset.id = imp.id;
  $("decide").hidden = false;
  $("detail").hidden = false;
  $("decide-count").value = "";
  $("reject-reason").value = "";
  // The approver reads the preview as counted now (the API counts it again
  // when it is older than half a minute): that number is the one to type.
  showImpact(imp.id, "decide", "decide-impact", "approve-yes").then((m) => {
    if (m && $("decide").dataset.id === String(imp.id)) $("decide-text").textContent = asks(`${fmt(m.customers)} customers`);
    $("decide-count").focus();
  });
  refresh();
}

async function decide(approve) {
  const id = Number($("decide").dataset.id);
  try {
    if (approve) {
      const n = Number($("decide-count").value);
      await api("POST", `/v1/imports/${id}/approve`, JSON.stringify({ confirm_customers: n }), { "Content-Type": "application/json" });
      notice(`Import ${id} is approved: it runs as it was asked.`);
    } else {
      await api("POST", `/v1/imports/${id}/reject`, JSON.stringify({ reason: $("reject-reason").value.trim() }), { "Content-Type": "application/json" });
      notice(`Import ${id} is rejected; nothing was deleted.`);
    }
    $("decide").hidden = true;
  } catch (e) {
    notice((approve ? "Approval" : "Rejection") + " failed: " + e.message, true);
  }
  refresh();
}

// A held run says why in its State cell, in the API's own words.
function stateCell(imp) {
  const td = el("td", { "data-label": "State" }, el("span", { class: "state " + imp.status, text: imp.status.replaceAll("_", " ") }));
  if (imp.hold) td.append(el("small", { class: "held", text: "held: " + imp.hold.text }));
  return td;
}

// ---- throttle --------------------------------------------------------------

// What holds the tenant's runs now: the manual holds and the platform's
// signals; an admin token may hold and release every run of the tenant.
async function renderThrottle() {
  let st;
  try { st = await getJSON("/v1/throttle"); } catch (e) { return; }
  const box = $("throttle");
  box.hidden = false;
  box.className = "throttle" + (st.held ? " is-held" : "");
  const own = st.manual_holds.find((h) => !h.all_tenants);
  let text = st.held ? "Runs are held: they wait after their chunk in flight, holding no worker." : "Runs may delete.";
  if (st.max_rows_per_second) text += ` All runs together delete at most ${fmt(st.max_rows_per_second)} customers per second.`;
  $("throttle-text").textContent = text;
  const ul = $("throttle-signals");
  ul.replaceChildren();
  for (const h of st.manual_holds) ul.append(el("li", { class: "holding", text: `${h.message} (since ${when(h.since)})` }));
  for (const sg of st.signals) ul.append(el("li", { class: sg.holding ? "holding" : "ok", text: (sg.holding ? "Holding — " : "OK — ") + sg.message }));
  $("hold-form").hidden = !state.admin || !!own;
  $("release-runs").hidden = !state.admin || !own;
}

async function holdRuns(hold) {
  try {
    if (hold) {
      const reason = $("hold-reason").value.trim();
      await api("PUT", "/v1/throttle/hold", JSON.stringify({ reason }), { "Content-Type": "application/json" });
      $("hold-reason").value = "";
      notice("Every run of this tenant is held after its chunk in flight, until you release it.");
    } else {
      await api("DELETE", "/v1/throttle/hold");
      notice("Runs go on.");
    }
  } catch (e) {
    notice((hold ? "Hold" : "Release") + " failed: " + e.message, true);
  }
  refresh();
}

async function act(imp, action) {
  if (action === "start") { askStart(imp); return; }
  if (action === "delete" && !window.confirm(`Remove import ${imp.id} from the history? Deleted customers stay deleted; the audit trail is kept.`)) return;
  try {
    if (action === "delete") {
      await api("DELETE", `/v1/imports/${imp.id}`);
      if (state.selected === imp.id) { state.selected = null; $("detail").hidden = true; }
      notice(`Import ${imp.id} was removed from the history.`);
    } else {
      const r = await (await api("POST", `/v1/imports/${imp.id}/${action}`)).json();
      const done = {
        cancel: r.status === "cancelled" ? `Import ${imp.id} was cancelled.` : `Import ${imp.id} stops after its current chunk.`,
        pause: `Import ${imp.id} is paused: it stops after its current chunk and holds no worker until you resume it.`,
        resume: `Import ${imp.id} goes on where it stopped.`,
        validate: `Import ${imp.id} is being validated again.`,
      };
      notice(done[action]);
      state.selected = imp.id;
    }
  } catch (e) {
    notice(`${LABELS[action]} failed: ${e.message}`, true);
  }
  refresh();
}

// Start deletes customers, so it asks first, in the page (no pop-up).
function askStart(imp) {
  state.selected = imp.id;
  $("confirm-text").textContent = `Delete ${fmt(imp.valid_rows)} customers of import ${imp.id} (${imp.file_name}) with everything that belongs to them? ` +
    (imp.error_rows ? `The ${fmt(imp.error_rows)} rows with errors are left out. ` : "") + "This cannot be undone. Loans are never deleted.";
  $("confirm").hidden = false;
  $("confirm").dataset.id = imp.id;
  $("detail").hidden = false;
  showImpact(imp.id, "confirm", "confirm-impact", "confirm-yes");
}

// showImpact puts the import's impact preview in a box (the Start box, or
// the approver's): what goes, what is skipped, how long it takes. The yes
// button waits for it, so nobody confirms without having seen it; a preview
// that cannot be had says so and does not stop the step.
async function showImpact(id, panelId, boxId, yesId) {
  const box = $(boxId), yes = $(yesId);
  box.replaceChildren(el("p", { class: "hint", text: "Counting what this deletes…" }));
  yes.disabled = true;
  let m = null, failed = "";
  try {
    m = await getJSON(`/v1/imports/${id}/impact`);
  } catch (e) {
    failed = e.message;
  }
  if ($(panelId).dataset.id !== String(id)) return null; // another import was chosen meanwhile
  yes.disabled = false;
  yes.focus();
  if (!m) {
    box.replaceChildren(el("p", { class: "hint", text: "The impact preview could not be loaded: " + failed }));
    return null;
  }
  const kinds = el("ul", { class: "impact-kinds" });
  for (const r of m.related) kinds.append(el("li", {}, `${r.kind} ${r.action || ""} `, el("strong", { text: fmt(r.rows) })));
  const parts = [
    el("p", {}, el("strong", { text: `${fmt(m.customers)} customers` }), " and ", el("strong", { text: `${fmt(m.related_rows)} related rows` }),
      ` go, in about ${duration(m.estimated_seconds)} at ${fmt(Math.round(m.rows_per_second))} rows/s:`),
    kinds,
  ];
  if (m.skipped.length) {
    parts.push(el("p", { text: `${fmt(m.skipped_rows)} rows are skipped: ` +
      m.skipped.map((s) => `${fmt(s.rows)} ${s.reason.replaceAll("_", " ")}`).join(", ") + "." }));
  }
  if (m.file_error) parts.push(el("p", { text: m.file_error }));
  parts.push(el("p", { class: "hint", text: `Speed: ${m.basis}.` + (m.sample.length || (m.sample_keys || []).length ? ` For example customers ${(m.sample_keys || m.sample).join(", ")}.` : "") }));
  const age = Math.max(0, Math.round((Date.now() - Date.parse(m.computed_at)) / 1000));
  parts.push(el("p", { class: "hint impact-age", text: `Counted ${when(m.computed_at)} (${duration(age)} ago).` }));
  box.replaceChildren(...parts);
  return m;
}

// who writes a token's name with its id, "ops (token 3)": two tokens may
// not share a name, but an id tells them apart even across renames.
function who(name, token) {
  return token ? `${name} (token ${token})` : name;
}

async function confirmStart() {
  const id = Number($("confirm").dataset.id);
  $("confirm").hidden = true;
  try {
    const r = await (await api("POST", `/v1/imports/${id}/start`)).json();
    notice(r.status === "awaiting_approval"
      ? `Import ${id} waits for another person's approval (until ${when(r.approval.expires_at)}): ${r.approval.reason || "it deletes more customers than one person may start alone"}.`
      : `Import ${id} started.`);
  } catch (e) {
    notice("Start failed: " + e.message, true);
  }
  refresh();
}

// ---- one import ----------------------------------------------------------

async function renderDetail() {
  const imp = state.imports.find((i) => i.id === state.selected) || await getJSON(`/v1/imports/${state.selected}`);
  $("detail").hidden = false;
  $("detail-title").textContent = `Import #${imp.id} · ${imp.file_name}`;
  let s = `State: ${imp.status.replaceAll("_", " ")}. ${fmt(imp.total_rows)} rows, ${fmt(imp.valid_rows)} valid, ${fmt(imp.error_rows)} with errors.`;
  if (imp.processed_rows) s += ` ${fmt(imp.deleted_rows)} deleted, ${fmt(imp.skipped_rows)} skipped.`;
  const erased = Object.entries(imp.erased_rows || {}).sort(([a], [b]) => a.localeCompare(b));
  if (erased.length) s += " Rows by the plan: " + erased.map(([k, n]) => `${k} ${fmt(n)}`).join(", ") + ".";
  if (imp.error) s += " " + imp.error;
  if (imp.run_window || imp.max_rows_per_second) {
    s += ` Runs ${imp.run_window || "at any time"}` + (imp.max_rows_per_second ? `, at most ${fmt(imp.max_rows_per_second)} rows/s.` : ".");
  }
  if (imp.hold) s += ` Held: ${imp.hold.text}.`;
  if (imp.awaits_operator && imp.actions.includes("start")) s += " Review the errors below, then press Start to delete the valid rows.";
  if (imp.approval) {
    s += imp.approval.approved_at
      ? ` Asked by ${who(imp.approval.requested_by, imp.approval.requested_by_token_id)}, approved by ${who(imp.approval.approved_by, imp.approval.approved_by_token_id)} ${when(imp.approval.approved_at)}.`
      : imp.status === "awaiting_approval"
        ? ` Awaits the approval of another person with the imports:approve scope (asked by ${who(imp.approval.requested_by, imp.approval.requested_by_token_id)}; expires ${when(imp.approval.expires_at)}).`
        : "";
  }
  $("detail-summary").textContent = s;
  await renderTimeline(imp.id);
  $("download-failed").hidden = !(imp.error_rows > 0);
  $("download-results").hidden = !(imp.has_run && imp.settled);
  const box = $("errors-box");
  if (imp.error_rows > 0 && box.dataset.id !== String(imp.id)) {
    box.dataset.id = String(imp.id);
    $("errors").replaceChildren();
    await loadErrors(`/v1/imports/${imp.id}/errors?limit=100`);
  }
  box.hidden = !(imp.error_rows > 0);
  if (!(imp.error_rows > 0)) box.dataset.id = "";
}

// Every step of the import with who and when, oldest first.
async function renderTimeline(id) {
  let ev;
  try { ev = await getJSON(`/v1/imports/${id}/events`); } catch (e) { return; }
  const ol = $("timeline");
  ol.replaceChildren();
  for (const e of ev.events) {
    ol.append(el("li", { "data-kind": e.kind },
      el("time", { datetime: e.at, text: when(e.at) }), " ",
      el("strong", { text: e.actor }), " — " + e.text));
  }
}

async function loadErrors(path) {
  const page = await getJSON(path);
  const body = $("errors");
  if (page.file_error) body.append(el("tr", {}, el("td", { colspan: "4", text: page.file_error })));
  for (const e of page.errors) {
    body.append(el("tr", {},
      el("td", { class: "num", "data-label": "Line", text: String(e.line) }),
      el("td", { "data-label": "Column", text: e.column }),
      el("td", { "data-label": "Value", text: e.value }),
      el("td", { "data-label": "What to fix", text: e.message })));
  }
  state.errorsNext = page.next || null;
  $("more-errors").hidden = !state.errorsNext;
}

async function download(path, name) {
  try {
    const blob = await (await api("GET", path, undefined, { Accept: "text/csv" })).blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    notice("Download failed: " + e.message, true);
  }
}

function baseName(imp) { return (imp.file_name || "import").replace(/\.csv$/i, ""); }

// ---- wiring --------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  loadInstructions();
  $("sign-in-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("token").value); });
  $("tab-instructions").addEventListener("click", () => showTab("instructions"));
  $("tab-work").addEventListener("click", () => showTab("work"));
  for (const id of ["tab-instructions", "tab-work"]) {
    $(id).addEventListener("keydown", (ev) => {
      if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
      const other = id === "tab-work" ? "tab-instructions" : "tab-work";
      showTab(other === "tab-work" ? "work" : "instructions");
      $(other).focus();
    });
  }
  $("sign-out").addEventListener("click", () => signOut());
  $("upload-form").addEventListener("submit", upload);
  $("confirm-yes").addEventListener("click", confirmStart);
  $("hold-runs").addEventListener("click", () => holdRuns(true));
  $("approve-yes").addEventListener("click", () => decide(true));
  $("reject-yes").addEventListener("click", () => decide(false));
  $("decide-no").addEventListener("click", () => { $("decide").hidden = true; });
  $("release-runs").addEventListener("click", () => holdRuns(false));
  $("confirm-no").addEventListener("click", () => { $("confirm").hidden = true; notice("Nothing was deleted."); });
  $("more-errors").addEventListener("click", () => state.errorsNext && loadErrors(state.errorsNext));
  $("download-failed").addEventListener("click", () => {
    const imp = state.imports.find((i) => i.id === state.selected);
    download(`/v1/imports/${state.selected}/errors?format=csv`, `${baseName(imp || {})}.errors.csv`);
  });
  $("download-results").addEventListener("click", () => {
    const imp = state.imports.find((i) => i.id === state.selected);
    download(`/v1/imports/${state.selected}/results`, `${baseName(imp || {})}.results.csv`);
  });
  if (state.token) signIn(state.token); else $("token").focus();
});
