// The admin console: every part of the setup edited through the API's
// collections (/api/v1/config/...), checked as it is typed (dry runs),
// published as a new version of the setup; the IVR editor with each
// step's figures; prompts; versions with their diffs.
"use strict";

const pages = [
  ["flows", "IVR flows"], ["numbers", "Numbers"], ["queues", "Queues"], ["agents", "Agents"],
  ["users", "Users and roles"], ["hours", "Hours and holidays"], ["trunks", "Trunks"],
  ["mailboxes", "Voicemail boxes"], ["webhooks", "Webhooks"], ["scorecards", "QA scorecards"],
  ["campaigns", "Outbound campaigns"], ["prompts", "Prompts"], ["versions", "Versions"],
];
const keyOf = {numbers: "number", flows: "name", queues: "name", agents: "extension", users: "username", hours: "name",
  trunks: "name", mailboxes: "name", webhooks: "", scorecards: "name", campaigns: "name"};
const schemaOf = {numbers: "SetupNumber", flows: "SetupFlow", queues: "SetupQueue", agents: "SetupAgent", users: "SetupUser",
  hours: "SetupHours", trunks: "SetupTrunk", mailboxes: "SetupMailbox", webhooks: "SetupWebhook", scorecards: "SetupScorecard",
  campaigns: "SetupCampaign"};
const stepTypes = ["play", "menu", "hours", "queue", "extension", "voicemail", "caller", "hangup"];
// The fields of a step that name the step it goes to, and their labels.
const targets = {next: "then", open: "open", closed: "closed", no_input: "no key pressed", invalid: "invalid key"};

let me = null, schemas = {}, roles = null;

// req sends a request and never throws on an HTTP error: {status, etag, data}.
async function req(method, path, body, headers) {
  const opts = {method, credentials: "same-origin", headers: Object.assign({"X-Switchboard-UI": "1"}, headers || {})};
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) opts.body = body;
    else { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { /* no JSON */ }
  return {status: res.status, etag: res.headers.get("ETag"), version: res.headers.get("X-Switchboard-Version"), data};
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function problems(r) {
  if (r.data && r.data.errors) return r.data.errors;
  if (r.data && r.data.error) return [r.data.error];
  return ["HTTP " + r.status];
}

function showErrors(box, list) {
  box.replaceChildren(...list.map((m) => el("li", {}, m)));
}

async function refreshVersion() {
  const r = await req("GET", "/api/v1/config/versions?limit=1");
  if (r.status === 200) text("version", String(r.data.running));
}

// debounce calls f ms after the last call; its cancel() drops a pending one.
function debounce(f, ms) {
  let t = null;
  const d = (...a) => { clearTimeout(t); t = setTimeout(() => f(...a), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

// ---- the draft: changes to several items, checked together as they are
// made and published as one version (POST /api/v1/config/changes) ----

// The draft is kept in the page only (never in storage: it may hold
// passwords as typed); leaving or reloading the page with one asks first.
let draft = [], draftNote = "", draftGen = 0;
window.addEventListener("beforeunload", (ev) => { if (draft.length) ev.preventDefault(); });

// merged is list with change made: in place of a change of the same item,
// keeping what it was read as (if_match) and a creation a creation; a
// removal of an item the list creates drops both.
function merged(list, change) {
  const out = list.slice();
  const i = out.findIndex((c) => c.collection === change.collection && c.id === change.id);
  if (i < 0) { out.push(change); return out; }
  const prev = out[i];
  if (prev.op === "create" && change.op === "delete") { out.splice(i, 1); return out; }
  out[i] = Object.assign({}, change, {op: prev.op === "create" ? "create" : change.op, if_match: prev.if_match});
  return out;
}

function setDraft(list) {
  draft = list;
  renderDraft();
}

// drafted is the draft's change of an item, or undefined.
function drafted(collection, id) {
  return draft.find((c) => c.collection === collection && c.id === id);
}

// withDrafted is a collection's published names with the draft's made.
function withDrafted(collection, names) {
  const out = names.slice();
  for (const c of draft) {
    if (c.collection !== collection) continue;
    const i = out.indexOf(c.id);
    if (c.op === "delete" && i >= 0) out.splice(i, 1);
    else if (c.op !== "delete" && i < 0) out.push(c.id);
  }
  return out;
}

// checkChanges checks a list of changes against the latest version.
function checkChanges(list) {
  return req("POST", "/api/v1/config/changes?dry_run=true", {changes: list});
}

const checkDraft = debounce(async () => {
  if (!draft.length) return;
  const g = ++draftGen;
  const r = await checkChanges(draft);
  if (g !== draftGen) return; // a later check, or the publish, answers instead
  const st = document.getElementById("draft-status");
  if (r.status === 200) { showErrors(document.getElementById("draft-errors"), []); st.textContent = "valid"; st.className = "ok"; }
  else { showErrors(document.getElementById("draft-errors"), problems(r)); st.textContent = "has problems"; st.className = "bad"; }
}, 300);

function renderDraft() {
  const box = document.getElementById("draft");
  box.classList.toggle("hidden", !draft.length && !draftNote);
  text("draft-count", draft.length === 1 ? "1 change" : draft.length ? draft.length + " changes" : "nothing to publish");
  document.getElementById("btn-draft-publish").disabled = !draft.length;
  document.getElementById("btn-draft-discard").disabled = !draft.length;
  document.getElementById("draft-list").replaceChildren(...draft.map((c) => el("li", {"data-change": c.collection + "/" + c.id},
    `${{create: "add", put: "change", delete: "remove"}[c.op]} ${c.collection.replace(/s$/, "")} ${c.id} `,
    el("button", {type: "button", class: "quiet", "aria-label": "Take out of the draft", onclick: () => { setDraft(draft.filter((x) => x !== c)); }}, "×"))));
  if (draftNote) { text("draft-status", draftNote); return; }
  text("draft-status", "");
  checkDraft();
}

async function publishDraft() {
  checkDraft.cancel();
  ++draftGen;
  const button = document.getElementById("btn-draft-publish");
  button.disabled = true;
  const r = await req("POST", "/api/v1/config/changes", {changes: draft});
  button.disabled = !draft.length;
  const errors = document.getElementById("draft-errors");
  if (r.status === 200) {
    draftNote = "published as version " + r.data.version;
    showErrors(errors, []);
    setDraft([]);
    document.getElementById("draft-status").className = "ok";
    refreshVersion();
    const note = draftNote;
    route();
    draftNote = note; // the page redrawn, the note stays until the next page
    renderDraft();
    return;
  }
  showErrors(errors, r.status === 409 ? [problems(r)[0], "Someone changed an item of the draft since you read it: remove its change (×), reopen the item, then redo it."] : problems(r));
}

// ---- navigation ----

function route() {
  const name = (location.hash || "#flows").slice(1).split("/")[0];
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("current", a.dataset.page === name));
  const page = document.getElementById("page");
  page.replaceChildren();
  page.dataset.page = name;
  text("error", "");
  draftNote = "";
  renderDraft();
  if (name === "flows") return flowsPage(page);
  if (name === "prompts") return promptsPage(page);
  if (name === "versions") return versionsPage(page);
  if (keyOf[name] !== undefined) return collectionPage(page, name);
}

login(async (m) => {
  me = m;
  if (me.role === "agent") { text("error", "The admin console is for admins and supervisors."); return; }
  const [doc, rl] = await Promise.all([req("GET", "/api/openapi.json"), req("GET", "/api/v1/config/roles")]);
  schemas = (doc.data && doc.data.components && doc.data.components.schemas) || {};
  roles = rl.data;
  const nav = document.getElementById("nav");
  for (const [id, title] of pages) {
    if (me.role !== "admin" && ["users", "trunks", "webhooks", "versions"].includes(id)) continue;
    nav.append(el("a", {href: "#" + id, "data-page": id}, title));
  }
  window.addEventListener("hashchange", route);
  document.getElementById("btn-draft-publish").addEventListener("click", publishDraft);
  document.getElementById("btn-draft-discard").addEventListener("click", () => setDraft([]));
  route();
  refreshVersion();
});

function mayEdit(what) {
  if (me.role === "admin") return true;
  const sup = (roles && roles.roles || []).find((r) => r.role === "supervisor");
  return !!sup && sup.edits.includes(what);
}

// ---- a collection: a table and a form made from the item's schema ----

function resolve(s) {
  if (s && s.$ref) return schemas[s.$ref.split("/").pop()] || {};
  return s || {};
}

// fieldKind is how a property of the schema is edited.
function fieldKind(name, s) {
  s = resolve(s);
  if (s.writeOnly) return "secret";
  if (name === "script") return "text";
  if (s.type === "boolean") return "bool";
  if (s.type === "integer" || s.type === "number") return "number";
  if (s.type === "string") return "string";
  if (s.type === "array" && resolve(s.items).type === "string") return "list";
  return "json";
}

function inputFor(name, s, value) {
  const kind = fieldKind(name, s);
  const id = "f-" + name;
  let input;
  switch (kind) {
    case "bool": input = el("input", {id, type: "checkbox"}); input.checked = !!value; break;
    case "number": input = el("input", {id, type: "number"}); input.value = value ?? ""; break;
    case "secret": input = el("input", {id, type: "password", autocomplete: "new-password", placeholder: value === undefined ? "(unchanged)" : ""}); break;
    case "list": input = el("input", {id, type: "text", placeholder: "comma, separated"}); input.value = (value || []).join(", "); break;
    case "text": input = el("textarea", {id, rows: 6}); input.value = value ?? ""; break;
    case "json": input = el("textarea", {id, rows: 3, placeholder: "JSON"}); input.value = value === undefined ? "" : JSON.stringify(value, null, 1); break;
    default: input = el("input", {id, type: "text", placeholder: resolve(s).pattern ? "e.g. 30s" : ""}); input.value = value ?? "";
  }
  input.dataset.field = name;
  input.dataset.kind = kind;
  return input;
}

// formValue reads the editor's inputs back into an item; empty fields are
// left out (as the file would leave them out).
function formValue(form) {
  const out = {};
  for (const input of form.querySelectorAll("[data-field]")) {
    const name = input.dataset.field;
    const v = input.type === "checkbox" ? input.checked : input.value.trim();
    switch (input.dataset.kind) {
      case "bool": if (v) out[name] = true; break;
      case "number": if (v !== "") out[name] = Number(v); break;
      case "list": if (v !== "") out[name] = v.split(",").map((x) => x.trim()).filter((x) => x); break;
      case "json":
        if (v !== "") {
          try { out[name] = JSON.parse(v); } catch (e) { throw new Error(name + ": not JSON (" + e.message + ")"); }
        }
        break;
      case "text": if (input.value !== "") out[name] = input.value; break;
      default: if (v !== "") out[name] = v;
    }
  }
  return out;
}

// markFields outlines the inputs the errors name (queues[sales].ring_timeout
// names ring_timeout).
function markFields(form, errors) {
  form.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
  for (const m of errors) {
    const path = m.split(": ")[0];
    const field = path.replace(/\[[^\]]*\]/g, "").split(".")[1];
    const inner = m.split(": ")[1] || "";
    for (const f of [field, inner.split(":")[0]]) {
      const input = f && form.querySelector(`[data-field="${CSS.escape(f)}"]`);
      if (input) input.classList.add("invalid");
    }
  }
}

async function collectionPage(page, name) {
  const title = pages.find((p) => p[0] === name)[1];
  page.append(el("h2", {}, title));
  const r = await req("GET", "/api/v1/config/" + name);
  if (r.status !== 200) { text("error", problems(r).join("; ")); return; }
  const key = keyOf[name];
  const schema = resolve({$ref: "#/components/schemas/" + schemaOf[name]});
  const props = Object.keys(schema.properties || {});
  const shown = [key || null, ...props.filter((p) => p !== key && !p.endsWith("_file") && !fieldKind(p, schema.properties[p]).match(/secret|json|text/)).slice(0, 4)].filter((x) => x);
  const table = el("table", {id: "items"}, el("thead", {}, el("tr", {}, shown.map((p) => el("th", {}, p)), el("th", {}))));
  const tb = el("tbody");
  const rows = r.data.items.map((it, i) => [key ? String(it[key]) : String(i), it]);
  for (const c of draft) if (c.collection === name && c.op === "create") rows.push([c.id, c.item]);
  for (const [id, published] of rows) {
    const d = drafted(name, id);
    const it = d && d.op !== "delete" ? d.item : published;
    tb.append(el("tr", {"data-item": id, class: d ? "drafted" : ""}, shown.map((p) => el("td", {}, Array.isArray(it[p]) ? it[p].join(", ") : it[p] ?? "")),
      el("td", {}, d && d.op === "delete" ? "removed in the draft " : "",
        el("button", {type: "button", class: "quiet", onclick: () => openEditor(page, name, id)}, "Edit"))));
  }
  table.append(tb);
  page.append(table);
  if (name === "queues" || mayEdit(name)) {
    page.append(el("div", {class: "actions"}, mayEdit(name) ? el("button", {type: "button", id: "btn-add", onclick: () => openEditor(page, name, null)}, "Add") : null));
  }
  if (name === "users" && roles) {
    page.append(el("h3", {}, "What each role may do"),
      el("table", {id: "roles"}, el("thead", {}, el("tr", {}, el("th", {}, "Role"), el("th", {}, "Edits"))),
        el("tbody", {}, roles.roles.map((x) => el("tr", {"data-role": x.role}, el("td", {}, x.role), el("td", {}, x.edits.join(", ") || "nothing"))))),
      el("p", {class: "note"}, "What supervisors may edit is the setup's console.supervisors_edit."));
    if (me.role === "admin") supervisorRights(page);
  }
  if (name === "hours") hoursOverrides(page);
  if (name === "campaigns") campaignRuns(page);
  page.append(el("div", {id: "editor-box"}));
}

async function openEditor(page, name, id) {
  const box = page.querySelector("#editor-box");
  const key = keyOf[name];
  let item = {}, etag = null;
  const inDraft = id !== null ? drafted(name, id) : undefined;
  if (inDraft && inDraft.op !== "delete") {
    item = inDraft.item; etag = inDraft.if_match || null; // go on from the draft
  } else if (id !== null) {
    const r = await req("GET", `/api/v1/config/${name}/${encodeURIComponent(id)}`);
    if (r.status !== 200) { text("error", problems(r).join("; ")); return; }
    item = r.data; etag = r.etag;
  }
  let created = inDraft && inDraft.op === "create"; // in the draft only
  const schema = resolve({$ref: "#/components/schemas/" + schemaOf[name]});
  // Supervisors who may not edit queues edit a queue's dispositions and script.
  const partial = name === "queues" && !mayEdit("queues");
  const fields = partial ? ["dispositions", "script"].filter((f) => mayEdit(f === "script" ? "scripts" : "dispositions")) : Object.keys(schema.properties || {});
  const form = el("form", {id: "editor", class: "editor", "aria-label": "Edit"});
  for (const f of fields) {
    const s = schema.properties[f];
    const input = inputFor(f, s, item[f]);
    if (id !== null && f === key) input.disabled = true;
    form.append(el("label", {for: "f-" + f}, f.replaceAll("_", " ")), input);
  }
  const errors = el("ul", {id: "errors", class: "errors", role: "alert"});
  const status = el("span", {id: "status", role: "status"});
  const save = el("button", {type: "submit", id: "btn-save"}, id === null ? "Add" : "Publish");
  const actions = el("div", {class: "actions"}, save, status);
  // change is the form as a change of the draft.
  const change = (body) => {
    const cid = id !== null ? id : String(body[key] ?? "");
    if (key) body[key] = cid;
    return {collection: name, op: id === null || created ? "create" : "put", id: cid, item: body, if_match: etag || undefined};
  };
  if (key && !partial && mayEdit(name)) {
    actions.append(el("button", {type: "button", class: "quiet", id: "btn-draft-add", onclick: () => {
      let body;
      try { body = formValue(form); } catch (e) { showErrors(errors, [e.message]); return; }
      const c = change(body);
      if (!c.id) { showErrors(errors, [key + ": required"]); return; }
      check.cancel();
      ++gen;
      setDraft(merged(draft, c));
      if (id === null) { // from now on this form edits the drafted item
        id = c.id; created = true;
        const k = form.querySelector(`[data-field="${key}"]`);
        if (k) k.disabled = true;
      }
      status.textContent = "in the draft, not published"; status.className = "ok";
    }}, "Add to draft"));
  }
  const dropFromDraft = () => setDraft(draft.filter((c) => !(c.collection === name && c.id === id)));
  if (id !== null && mayEdit(name) && !partial && key) {
    actions.append(el("button", {type: "button", class: "quiet", id: "btn-draft-delete", onclick: () => {
      setDraft(merged(draft, {collection: name, op: "delete", id, if_match: etag || undefined}));
      route();
    }}, "Remove in the draft"));
  }
  if (id !== null && mayEdit(name) && !partial) {
    actions.append(el("button", {type: "button", class: "danger", id: "btn-delete", onclick: async () => {
      if (created) { dropFromDraft(); route(); return; } // only the draft has it
      const r = await req("DELETE", `/api/v1/config/${name}/${encodeURIComponent(id)}`, undefined, etag ? {"If-Match": etag} : {});
      if (r.status === 204) { dropFromDraft(); status.textContent = "removed, version " + r.version; refreshVersion(); route(); return; }
      showErrors(errors, problems(r));
    }}, "Remove"));
  }
  form.append(el("div", {}), el("div", {}, errors, actions));
  const path = () => (id === null ? `/api/v1/config/${name}` : `/api/v1/config/${name}/${encodeURIComponent(id)}`);
  const send = async (dry) => {
    let body;
    try { body = formValue(form); } catch (e) { showErrors(errors, [e.message]); return null; }
    if (partial) {
      const results = [];
      for (const f of fields) {
        const r = await req("PUT", `/api/v1/config/queues/${encodeURIComponent(id)}/${f}`, {[f]: body[f] ?? (f === "script" ? "" : [])});
        results.push(r);
      }
      return results.find((r) => r.status !== 200) || results[results.length - 1];
    }
    if (dry && draft.length && key) return checkChanges(merged(draft, change(body))); // checked with the draft
    if (id !== null && key) body[key] = id;
    const method = id === null ? "POST" : "PUT";
    return req(method, path() + (dry ? "?dry_run=true" : ""), body, etag && !dry ? {"If-Match": etag} : {});
  };
  let gen = 0;
  const check = debounce(async () => {
    if (partial) return;
    const g = ++gen;
    const r = await send(true);
    if (!r || g !== gen) return; // a later check or a publish answers instead
    if (r.status === 200) { showErrors(errors, []); markFields(form, []); status.textContent = draft.length ? "valid with the draft" : "valid"; status.className = "ok"; }
    else { showErrors(errors, problems(r)); markFields(form, problems(r)); status.textContent = ""; }
  }, 400);
  form.addEventListener("input", check);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    check.cancel();
    ++gen;
    const r = await send(false);
    if (!r) return;
    if (r.status === 200 || r.status === 201) {
      etag = r.etag;
      created = false;
      if (id !== null && drafted(name, id)) setDraft(draft.filter((c) => !(c.collection === name && c.id === id))); // published on its own
      if (id === null) { // created: from now on this form edits it
        const loc = r.data && key ? String(r.data[key]) : null;
        id = loc;
        save.textContent = "Publish";
        const k = key && form.querySelector(`[data-field="${key}"]`);
        if (k) k.disabled = true;
      }
      status.textContent = "published as version " + (r.version || "");
      status.className = "ok";
      showErrors(errors, []);
      refreshVersion();
      return;
    }
    if (r.status === 409) {
      showErrors(errors, [problems(r)[0], "Someone changed it since you opened it: reopen it to see their change, then redo yours."]);
      return;
    }
    showErrors(errors, problems(r));
    markFields(form, problems(r));
  });
  box.replaceChildren(el("h3", {}, id === null ? "New" : `${name}: ${id}`), form);
}

// supervisorRights sets what supervisors may edit (PUT /api/v1/config/roles).
function supervisorRights(page) {
  const sup = roles.roles.find((r) => r.role === "supervisor");
  const status = el("span", {id: "rights-status", role: "status"});
  const boxes = (roles.supervisor_editable || []).map((what) => {
    const b = el("input", {type: "checkbox", id: "right-" + what, "data-right": what});
    b.checked = sup.edits.includes(what);
    return el("label", {for: "right-" + what}, b, " " + what.replaceAll("_", " "));
  });
  page.append(el("h3", {}, "What supervisors may edit"), el("div", {class: "row", id: "rights"}, boxes),
    el("div", {class: "actions"}, el("button", {type: "button", id: "btn-rights", onclick: async () => {
      const edits = [...document.querySelectorAll("#rights [data-right]")].filter((b) => b.checked).map((b) => b.dataset.right);
      const r = await req("PUT", "/api/v1/config/roles", {supervisors_edit: edits});
      if (r.status !== 200) { status.textContent = problems(r).join("; "); return; }
      roles = r.data;
      status.textContent = "published as version " + r.version;
      refreshVersion();
      route();
    }}, "Publish"), status),
    el("p", {class: "note"}, "Hours overrides are always theirs; users, trunks and webhooks are for admins."));
}

// campaignRuns shows each campaign's state and figures, starts, pauses
// and stops it, and imports contact lists (CSV, with a column mapping).
async function campaignRuns(page) {
  const r = await req("GET", "/api/v1/campaigns");
  if (r.status !== 200 || !r.data || !r.data.campaigns.length) return;
  const pct = (x) => (100 * (x || 0)).toFixed(1) + " %";
  const tb = el("tbody");
  const box = el("div", {id: "campaign-runs"});
  const status = el("span", {id: "campaign-status", role: "status"});
  for (const k of r.data.campaigns) {
    const act = (what) => async () => {
      const x = await req("POST", `/api/v1/campaigns/${encodeURIComponent(k.name)}/${what}`);
      status.textContent = x.status === 200 ? `${k.name}: ${x.data.state}` : problems(x).join("; ");
      route();
    };
    const file = el("input", {type: "file", class: "contacts-file", accept: ".csv,text/csv", "aria-label": "Contact list of " + k.name});
    const mapping = el("input", {type: "text", class: "contacts-map", size: 18, placeholder: "Phone:number,Zone:timezone", "aria-label": "Column mapping"});
    const upload = el("button", {type: "button", class: "quiet upload-contacts", onclick: async () => {
      if (!file.files[0]) { status.textContent = "choose a CSV file whose header names the number column"; return; }
      const q = mapping.value.trim() ? "?map=" + encodeURIComponent(mapping.value.trim()) : "";
      const x = await req("POST", `/api/v1/campaigns/${encodeURIComponent(k.name)}/contacts${q}`, file.files[0], {"Content-Type": "text/csv"});
      if (x.status !== 200) { status.textContent = problems(x).join("; "); return; }
      const d = x.data;
      status.textContent = `${k.name}: ${d.added} added, ${d.duplicates.length} already there, ${d.rejected.length} rejected` +
        (d.rejected.length ? " (" + d.rejected.slice(0, 3).map((e) => `line ${e.line}: ${e.reason}`).join("; ") + ")" : "");
      setTimeout(route, 1500);
    }}, "Import");
    tb.append(el("tr", {"data-campaign": k.name}, el("td", {}, k.name), el("td", {}, k.mode), el("td", {class: "run-state"}, k.state),
      el("td", {}, `${k.pending} of ${k.contacts}`), el("td", {}, String(k.attempts)), el("td", {}, String(k.connected)),
      el("td", {}, `${k.abandoned} (${pct(k.abandon_rate)}; 30 days ${pct(k.abandon_rate_30d)})`), el("td", {}, String(k.lines)),
      el("td", {}, // staff start, pause and stop campaigns
        k.state !== "running" ? el("button", {type: "button", class: "quiet start-campaign", onclick: act("start")}, "Start") : null,
        k.state === "running" ? el("button", {type: "button", class: "quiet pause-campaign", onclick: act("pause")}, "Pause") : null,
        k.state !== "stopped" ? el("button", {type: "button", class: "quiet stop-campaign", onclick: act("stop")}, "Stop") : null),
      el("td", {}, file, mapping, upload)));
  }
  box.append(el("h3", {}, "Running them"),
    el("table", {id: "runs"}, el("thead", {}, el("tr", {}, ["Campaign", "Mode", "State", "Pending", "Attempts", "Connected", "Dropped", "Lines", "", "Contact list"].map((h) => el("th", {}, h)))), tb),
    status,
    el("p", {class: "note"}, "A contact list is CSV whose header names at least number; its other columns become the contact's fields (timezone sets the contact's zone). The mapping renames the file's columns (Phone:number). Dropped: people who answered and reached no agent within 2 s, of live answers."));
  page.append(box);
}

async function hoursOverrides(page) {
  const r = await req("GET", "/api/v1/hours");
  if (r.status !== 200 || !Array.isArray(r.data)) return;
  const tb = el("tbody");
  for (const h of r.data) {
    const set = (state) => async () => {
      await req(state ? "PUT" : "DELETE", `/api/v1/hours/${encodeURIComponent(h.name)}/override`, state ? {state} : undefined);
      route();
    };
    tb.append(el("tr", {"data-hours": h.name}, el("td", {}, h.name), el("td", {}, h.open ? "open" : "closed"),
      el("td", {}, h.override || "—"),
      el("td", {}, el("button", {type: "button", class: "quiet", onclick: set("open")}, "Force open"), " ",
        el("button", {type: "button", class: "quiet", onclick: set("closed")}, "Force closed"), " ",
        el("button", {type: "button", class: "quiet", onclick: set(null)}, "Back to schedule"))));
  }
  page.append(el("h3", {}, "Now"), el("table", {id: "overrides"}, el("thead", {}, el("tr", {}, el("th", {}, "Schedule"), el("th", {}, "Now"), el("th", {}, "Override"), el("th", {}))), tb));
}

// ---- prompts ----

async function promptsPage(page) {
  page.append(el("h2", {}, "Prompts"));
  const r = await req("GET", "/api/v1/config/prompts");
  if (r.status !== 200) { text("error", problems(r).join("; ")); return; }
  const tb = el("tbody");
  for (const p of r.data.prompts) {
    tb.append(el("tr", {"data-prompt": p.name}, el("td", {}, p.name), el("td", {}, p.seconds.toFixed(1) + " s"),
      el("td", {}, p.uploaded ? `uploaded (${p.format}) by ${p.by}` : "sounds directory"), el("td", {}, p.in_use ? "in use" : ""),
      el("td", {}, el("audio", {controls: true, preload: "none", src: `/api/v1/config/prompts/${encodeURIComponent(p.name)}/wav`})),
      el("td", {}, p.uploaded && !p.in_use && mayEdit("prompts") ? el("button", {type: "button", class: "danger", onclick: async () => {
        const d = await req("DELETE", `/api/v1/config/prompts/${encodeURIComponent(p.name)}`);
        if (d.status !== 204) text("error", problems(d).join("; "));
        route();
      }}, "Remove") : "")));
  }
  page.append(el("table", {id: "prompts"}, el("thead", {}, el("tr", {}, ["Name", "Length", "From", "", "Play", ""].map((h) => el("th", {}, h)))), tb));
  if (!mayEdit("prompts")) return;
  const status = el("span", {id: "upload-status", role: "status"});
  const name = el("input", {id: "prompt-name", type: "text", placeholder: "name, e.g. billing-welcome", pattern: "[a-z0-9][a-z0-9_-]*"});
  const file = el("input", {id: "prompt-file", type: "file", accept: ".wav,.mp3,audio/wav,audio/mpeg"});
  const upload = async (blob) => {
    if (!name.value) { status.textContent = "give the prompt a name"; return; }
    status.textContent = "converting…";
    const u = await req("PUT", `/api/v1/config/prompts/${encodeURIComponent(name.value)}`, blob);
    status.textContent = u.status === 200 ? `saved: ${u.data.name}, ${u.data.seconds.toFixed(1)} s at 8 kHz` : problems(u).join("; ");
    if (u.status === 200) setTimeout(route, 300);
  };
  let rec = null;
  const recBtn = el("button", {type: "button", id: "btn-record", class: "quiet", onclick: async () => {
    if (rec) { const blob = await rec.stop(); rec = null; recBtn.textContent = "Record"; upload(blob); return; }
    try { rec = await record(); recBtn.textContent = "Stop and save"; status.textContent = "recording…"; } catch (e) { status.textContent = e.message; }
  }}, "Record");
  page.append(el("h3", {}, "Add a prompt"),
    el("div", {class: "row"}, el("label", {for: "prompt-name"}, "Name"), name, file,
      el("button", {type: "button", id: "btn-upload", onclick: () => { if (file.files[0]) upload(file.files[0]); else status.textContent = "choose a WAV or MP3 file"; }}, "Upload"),
      recBtn, status),
    el("p", {class: "note"}, "WAV or MP3, any rate: converted to 8 kHz mono, as callers hear it. Or record one with your microphone."));
}

// record captures the microphone as PCM and gives it back as a WAV Blob.
async function record() {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(stream);
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  proc.onaudioprocess = (ev) => chunks.push(new Float32Array(ev.inputBuffer.getChannelData(0)));
  src.connect(proc);
  proc.connect(ctx.destination);
  return {
    async stop() {
      proc.disconnect(); src.disconnect(); stream.getTracks().forEach((t) => t.stop());
      const rate = ctx.sampleRate;
      await ctx.close();
      const n = chunks.reduce((a, c) => a + c.length, 0);
      const buf = new DataView(new ArrayBuffer(44 + 2 * n));
      const str = (o, s) => { for (let i = 0; i < s.length; i++) buf.setUint8(o + i, s.charCodeAt(i)); };
      str(0, "RIFF"); buf.setUint32(4, 36 + 2 * n, true); str(8, "WAVEfmt "); buf.setUint32(16, 16, true);
      buf.setUint16(20, 1, true); buf.setUint16(22, 1, true); buf.setUint32(24, rate, true); buf.setUint32(28, rate * 2, true);
      buf.setUint16(32, 2, true); buf.setUint16(34, 16, true); str(36, "data"); buf.setUint32(40, 2 * n, true);
      let o = 44;
      for (const c of chunks) for (const v of c) { buf.setInt16(o, Math.max(-1, Math.min(1, v)) * 32767, true); o += 2; }
      return new Blob([buf.buffer], {type: "audio/wav"});
    },
  };
}

// ---- versions ----

async function versionsPage(page) {
  page.append(el("h2", {}, "Versions of the setup"));
  const r = await req("GET", "/api/v1/config/versions?limit=100");
  if (r.status !== 200) { text("error", problems(r).join("; ")); return; }
  const diff = el("pre", {id: "diff", class: "diff"});
  const tb = el("tbody");
  for (const v of r.data.versions) {
    tb.append(el("tr", {"data-version": v.version}, el("td", {}, v.version + (v.version === r.data.running ? " (running)" : "")),
      el("td", {}, new Date(v.at).toLocaleString()), el("td", {}, v.by), el("td", {}, v.origin),
      el("td", {}, el("button", {type: "button", class: "quiet", onclick: async () => {
        const res = await fetch(`/api/v1/config/versions/${v.version}/diff`, {credentials: "same-origin"});
        const lines = (await res.text()).split("\n");
        diff.replaceChildren(...lines.map((l) => el("span", {class: l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : ""}, l + "\n")));
      }}, "Diff"), " ",
      v.version === r.data.running ? "" : el("button", {type: "button", class: "restore", onclick: async () => {
        const x = await req("POST", `/api/v1/config/versions/${v.version}/restore`);
        if (x.status !== 200) { text("error", problems(x).join("; ")); return; }
        refreshVersion(); route();
      }}, "Restore"))));
  }
  page.append(el("table", {id: "versions"}, el("thead", {}, el("tr", {}, ["Version", "When", "By", "How", ""].map((h) => el("th", {}, h)))), tb),
    el("h3", {}, "Diff from the version before"), diff,
    el("p", {class: "note"}, el("a", {href: "/api/v1/config/export", download: "setup.yaml"}, "Download the running setup as YAML")));
}

// ---- the IVR editor ----

async function flowsPage(page) {
  const parts = location.hash.slice(1).split("/");
  if (parts[1]) return flowEditor(page, decodeURIComponent(parts[1]));
  page.append(el("h2", {}, "IVR flows"));
  const r = await req("GET", "/api/v1/config/flows");
  if (r.status !== 200) { text("error", problems(r).join("; ")); return; }
  const list = el("ul", {id: "flows"});
  const flows = r.data.items.slice();
  for (const c of draft) if (c.collection === "flows" && c.op === "create") flows.push(c.item);
  for (const f of flows) {
    const d = drafted("flows", f.name);
    list.append(el("li", {"data-flow": f.name}, el("a", {href: "#flows/" + encodeURIComponent(f.name)}, f.name),
      " — ", Object.keys((d && d.item || f).steps || {}).length + " steps", d ? " (" + (d.op === "delete" ? "removed" : "changed") + " in the draft)" : ""));
  }
  page.append(list);
  if (!mayEdit("flows")) return;
  const name = el("input", {id: "new-flow", type: "text", placeholder: "name of a new flow"});
  page.append(el("div", {class: "row"}, name, el("button", {type: "button", id: "btn-new-flow", onclick: () => {
    if (name.value) location.hash = "flows/" + encodeURIComponent(name.value) + "/new";
  }}, "New flow")));
}

async function flowEditor(page, name) {
  const inDraft = drafted("flows", name);
  let isNew = location.hash.endsWith("/new") || !!(inDraft && inDraft.op === "create");
  let flow = {name, start: "start", steps: {start: {type: "hangup"}}}, etag = null;
  if (inDraft && inDraft.op !== "delete") {
    flow = JSON.parse(JSON.stringify(inDraft.item)); etag = inDraft.if_match || null; // go on from the draft
  } else if (!isNew) {
    const r = await req("GET", "/api/v1/config/flows/" + encodeURIComponent(name));
    if (r.status !== 200) { text("error", problems(r).join("; ")); return; }
    flow = r.data; etag = r.etag;
  }
  flow.steps = flow.steps || {};
  const [promptsRes, queuesRes, hoursRes, boxesRes] = await Promise.all([req("GET", "/api/v1/config/prompts"),
    req("GET", "/api/v1/config/queues"), req("GET", "/api/v1/config/hours"), req("GET", "/api/v1/config/mailboxes")]);
  const promptNames = ((promptsRes.data && promptsRes.data.prompts) || []).map((p) => p.name);
  const names = (res, k) => ((res.data && res.data.items) || []).map((x) => x[k || "name"]);
  const lists = {queue: withDrafted("queues", names(queuesRes)), hours: withDrafted("hours", names(hoursRes)), mailbox: withDrafted("mailboxes", names(boxesRes))};
  const asChange = () => ({collection: "flows", op: isNew && !etag ? "create" : "put", id: name, item: flow, if_match: etag || undefined});
  let figures = null;
  const from = el("input", {id: "ivr-from", type: "date"}), to = el("input", {id: "ivr-to", type: "date"});
  const today = new Date();
  to.value = today.toISOString().slice(0, 10);
  from.value = new Date(today.getTime() - 7 * 86400e3).toISOString().slice(0, 10);
  const errors = el("ul", {id: "flow-errors", class: "errors", role: "alert"});
  const status = el("span", {id: "flow-status", role: "status"});
  const tree = el("div", {id: "tree", class: "tree"});
  const funnel = el("div", {id: "funnel", class: "funnel"});
  const editable = mayEdit("flows");

  const loadFigures = async () => {
    const f = new Date(from.value + "T00:00:00").toISOString(), t = new Date(to.value + "T23:59:59").toISOString();
    const r = await req("GET", `/api/v1/reports/ivr?flow=${encodeURIComponent(name)}&from=${encodeURIComponent(f)}&to=${encodeURIComponent(t)}`);
    figures = r.status === 200 ? (r.data.flows || []).find((x) => x.flow === name) || {steps: [], funnel: {}, calls: 0} : null;
    draw();
  };
  let gen = 0;
  const check = debounce(async () => {
    const g = ++gen;
    const r = draft.length ? await checkChanges(merged(draft, asChange())) // checked with the draft
      : await req(isNew && !etag ? "POST" : "PUT", isNew && !etag ? "/api/v1/config/flows?dry_run=true" : `/api/v1/config/flows/${encodeURIComponent(name)}?dry_run=true`, flow);
    if (g !== gen) return; // a later check or the publish answers instead
    if (r.status === 200) { showErrors(errors, []); status.textContent = "valid draft, not published"; status.className = "ok"; }
    else { showErrors(errors, problems(r)); status.textContent = "draft with problems"; status.className = "bad"; }
  }, 300);
  const changed = () => { draw(); check(); };

  const stepSelect = (value, onchange, cls) => {
    const s = el("select", {class: cls || "step-target"}, el("option", {value: ""}, "—"),
      Object.keys(flow.steps).sort().map((id) => el("option", {value: id, selected: id === value}, id)),
      el("option", {value: "+new"}, "+ new step…"));
    s.disabled = !editable;
    s.addEventListener("change", () => {
      let v = s.value;
      if (v === "+new") {
        v = newStepId();
        flow.steps[v] = {type: "hangup"};
      }
      onchange(v);
      changed();
    });
    return s;
  };
  const newStepId = () => { let i = 1; while (flow.steps["step-" + i]) i++; return "step-" + i; };
  const listSelect = (kind, value, onchange) => {
    const s = el("select", {class: "pick-" + kind}, el("option", {value: ""}, "—"), (lists[kind] || []).map((x) => el("option", {value: x, selected: x === value}, x)));
    s.disabled = !editable;
    s.addEventListener("change", () => { onchange(s.value); changed(); });
    return s;
  };
  const promptPicker = (st, field) => {
    const box = el("span", {class: "prompts"});
    const vals = field === "prompts" ? (st.prompts || []) : (st[field] ? [st[field]] : []);
    const set = (arr) => {
      if (field === "prompts") { if (arr.length) st.prompts = arr; else delete st.prompts; } else if (arr[0]) st[field] = arr[0]; else delete st[field];
      changed();
    };
    vals.forEach((p, i) => {
      const s = el("select", {class: "pick-prompt"}, promptNames.map((x) => el("option", {value: x, selected: x === p}, x)));
      s.disabled = !editable;
      s.addEventListener("change", () => { const a = vals.slice(); a[i] = s.value; set(a); });
      const play = el("button", {type: "button", class: "quiet", onclick: () => new Audio(`/api/v1/config/prompts/${encodeURIComponent(s.value)}/wav`).play()}, "▶");
      box.append(s, play, editable ? el("button", {type: "button", class: "quiet", onclick: () => { const a = vals.slice(); a.splice(i, 1); set(a); }}, "×") : "");
    });
    if (editable && (field === "prompts" || vals.length === 0)) {
      box.append(el("button", {type: "button", class: "quiet add-prompt", onclick: () => set(vals.concat(promptNames[0] || ""))}, "+ prompt"));
    }
    return box;
  };
  const figureLine = (id) => {
    const f = figures && (figures.steps || []).find((s) => s.step === id);
    if (!figures) return null;
    if (!f) return el("div", {class: "figures"}, "no calls in this period");
    const pct = (x) => Math.round(100 * x) + "%";
    const opts = Object.entries(f.options || {}).sort().map(([k, n]) => `${k}: ${n} (${pct(n / f.entered)})`).join(", ");
    const s = (x) => (x === null || x === undefined ? "—" : x.toFixed(1) + " s");
    return el("div", {class: "figures", "data-figures": id},
      el("span", {class: "entered"}, `entered ${f.entered}`),
      opts ? el("span", {class: "options"}, "chose " + opts) : null,
      el("span", {}, `timeouts ${f.timeouts}`), el("span", {}, `invalid ${f.invalid}`),
      el("span", {class: "hangups"}, `hung up ${f.hangups}`),
      el("span", {}, `median ${s(f.median_seconds)}`), el("span", {}, `90th pct. ${s(f.p90_seconds)}`));
  };

  const drawn = new Set();
  const typedKeys = {};
  const card = (id) => {
    drawn.add(id);
    const st = flow.steps[id];
    const typeSel = el("select", {class: "step-type"}, stepTypes.map((t) => el("option", {value: t, selected: t === st.type}, t)));
    typeSel.disabled = !editable;
    typeSel.addEventListener("change", () => { flow.steps[id] = {type: typeSel.value}; changed(); });
    const head = el("header", {}, el("strong", {}, id), typeSel, id === flow.start ? el("span", {class: "note"}, "start") : null,
      editable && id !== flow.start ? el("button", {type: "button", class: "quiet remove-step", onclick: () => {
        delete flow.steps[id];
        for (const s of Object.values(flow.steps)) {
          for (const k of Object.keys(targets)) if (s[k] === id) delete s[k];
          for (const [key, v] of Object.entries(s.options || {})) if (v === id) delete s.options[key];
        }
        changed();
      }}, "Remove") : null,
      editable && id !== flow.start ? el("button", {type: "button", class: "quiet make-start", onclick: () => { flow.start = id; changed(); }}, "Make start") : null);
    const fields = el("div", {class: "fields"});
    const c = el("div", {class: "step", "data-step": id}, head, fields, figureLine(id));
    const branch = el("div", {class: "branch"});
    const child = (label, target, set) => {
      const row = el("div", {class: "branch-label", "data-branch": label}, label + " → ", stepSelect(target, set));
      branch.append(row);
      if (target && flow.steps[target] && !drawn.has(target)) branch.append(card(target));
      else if (target && flow.steps[target]) row.append(el("span", {class: "note"}, " (shown above)"));
    };
    if (["play", "menu"].includes(st.type)) fields.append(el("label", {}, "prompts"), promptPicker(st, "prompts"));
    if (st.type === "menu") {
      fields.append(el("label", {}, "timeout"), numInput(st, "timeout", "5s", changed), el("label", {}, "attempts"), numInput(st, "attempts", "2", changed, true),
        el("label", {}, "invalid prompt"), promptPicker(st, "invalid_prompt"));
    }
    if (st.type === "hours") fields.append(el("label", {}, "hours"), listSelect("hours", st.hours, (v) => { st.hours = v; }));
    if (st.type === "queue") fields.append(el("label", {}, "queue"), listSelect("queue", st.queue, (v) => { st.queue = v; }), el("label", {}, "priority"), numInput(st, "priority", "0", changed, true));
    if (st.type === "voicemail") fields.append(el("label", {}, "mailbox"), listSelect("mailbox", st.mailbox, (v) => { st.mailbox = v; }));
    if (st.type === "extension") fields.append(el("label", {}, "extension"), numInput(st, "extension", "1001", changed));
    if (st.type === "menu") {
      for (const [key, target] of Object.entries(st.options || {}).sort()) {
        child("key " + key, target, (v) => { if (v) st.options[key] = v; else delete st.options[key]; });
      }
      if (editable) {
        // What is typed survives a redraw (the figures arriving, a check).
        const k = el("input", {type: "text", class: "option-key", size: 2, placeholder: "key", oninput: (ev) => { typedKeys[id] = ev.target.value; }});
        k.value = typedKeys[id] || "";
        branch.append(el("div", {class: "row"}, k, el("button", {type: "button", class: "quiet add-option", onclick: () => {
          if (!/^[0-9*#]$/.test(k.value)) { showErrors(errors, ["a menu option is one key: 0-9, * or #"]); return; }
          st.options = st.options || {};
          const nid = newStepId();
          flow.steps[nid] = {type: "hangup"};
          st.options[k.value] = nid;
          delete typedKeys[id];
          changed();
        }}, "+ option")));
      }
    }
    const shownTargets = {play: ["next"], menu: ["no_input", "invalid"], hours: ["open", "closed"], caller: ["next"]}[st.type] || [];
    for (const t of shownTargets) child(targets[t], st[t], (v) => { if (v) st[t] = v; else delete st[t]; });
    if (branch.childElementCount) c.append(branch);
    return c;
  };
  const draw = () => {
    drawn.clear();
    tree.replaceChildren();
    if (flow.steps[flow.start]) tree.append(card(flow.start));
    const orphans = Object.keys(flow.steps).filter((id) => !drawn.has(id)).sort();
    if (orphans.length) {
      tree.append(el("h3", {}, "Not reached from the start"));
      for (const id of orphans) if (!drawn.has(id)) tree.append(card(id));
    }
    funnel.replaceChildren();
    if (figures) {
      funnel.append(el("div", {}, `${figures.calls || 0} calls`));
      for (const [k, n] of Object.entries(figures.funnel || {}).sort()) funnel.append(el("div", {"data-end": k}, `${k}: ${n}`));
    }
  };
  const publish = el("button", {type: "button", id: "btn-publish", onclick: async () => {
    check.cancel();
    ++gen;
    const creating = isNew && !etag;
    const r = await req(creating ? "POST" : "PUT", creating ? "/api/v1/config/flows" : `/api/v1/config/flows/${encodeURIComponent(name)}`, flow, etag ? {"If-Match": etag} : {});
    if (r.status === 200 || r.status === 201) {
      etag = r.etag; status.textContent = "published as version " + r.version; status.className = "ok"; showErrors(errors, []); refreshVersion();
      if (drafted("flows", name)) setDraft(draft.filter((c) => !(c.collection === "flows" && c.id === name))); // published on its own
      isNew = false;
      return;
    }
    showErrors(errors, r.status === 409 ? [problems(r)[0], "Someone published this flow since you opened it: reopen it, then redo your change."] : problems(r));
  }}, "Publish");
  const toDraft = el("button", {type: "button", class: "quiet", id: "btn-flow-draft", onclick: () => {
    check.cancel();
    ++gen;
    setDraft(merged(draft, JSON.parse(JSON.stringify(asChange()))));
    status.textContent = "in the draft, not published"; status.className = "ok";
  }}, "Add to draft");
  page.append(el("h2", {}, "IVR flow: " + name),
    el("div", {class: "row"}, el("label", {for: "ivr-from"}, "Figures from"), from, el("label", {for: "ivr-to"}, "to"), to,
      el("button", {type: "button", class: "quiet", id: "btn-figures", onclick: loadFigures}, "Show")),
    funnel, errors, tree,
    el("div", {class: "actions"}, editable ? publish : null, editable ? toDraft : null, status, el("a", {href: "#flows"}, "All flows")),
    el("p", {class: "note"}, "Changes are a draft until published; each is checked as you make it. Publish publishes this flow now; Add to draft keeps it with the draft's other changes, published together as one version. A published flow takes the next call; calls in the flow finish on the old one."));
  draw();
  loadFigures();
}

// numInput edits one scalar field of a step (number when integer).
function numInput(st, field, placeholder, changed, integer) {
  const i = el("input", {type: integer ? "number" : "text", class: "field-" + field, size: 6, placeholder});
  i.value = st[field] ?? "";
  i.addEventListener("change", () => {
    if (i.value === "") delete st[field];
    else st[field] = integer ? Number(i.value) : i.value;
    changed();
  });
  return i;
}
