// shopchat agent console: plain JavaScript, no framework. Everything from the server is inserted as
// text (never as HTML).
"use strict";

const $ = (sel) => document.querySelector(sel);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
};

const state = {
  me: null, csrf: "", ws: null, queue: [], total: 0, mine: new Map(), agents: new Map(),
  conv: null, convData: null, canned: [], typingTimer: null, typingSent: false, retry: 500,
  customerTypingTimer: null,
};

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = state.csrf;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch("/console/api/" + path, opts);
  let data = null;
  try { data = await r.json(); } catch (_) { /* empty */ }
  if (r.status === 401 && path !== "login") { showLogin(); }
  if (!r.ok) {
    const err = new Error((data && data.message) || ("HTTP " + r.status));
    err.status = r.status; err.data = data;
    throw err;
  }
  return data;
}

function showLogin() {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  $("#app").classList.add("hidden");
  $("#login").classList.remove("hidden");
}

async function start(me) {
  state.me = me.agent; state.csrf = me.csrf;
  $("#login").classList.add("hidden");
  $("#app").classList.remove("hidden");
  $("#me-name").textContent = me.agent.name + (me.agent.role === "admin" ? " (admin)" : "");
  document.querySelectorAll(".admin-only").forEach((b) => b.classList.toggle("hidden", me.agent.role !== "admin"));
  connect();
}

// --- socket ---
function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/console/ws");
  state.ws = ws;
  $("#conn-state").textContent = "connecting…";
  ws.onopen = () => {
    state.retry = 500;
    $("#conn-state").textContent = "live";
    if (state.conv) ws.send(JSON.stringify({ type: "watch", conv: state.conv }));
  };
  ws.onmessage = (ev) => {
    let f; try { f = JSON.parse(ev.data); } catch (_) { return; }
    onFrame(f);
  };
  ws.onclose = () => {
    $("#conn-state").textContent = "offline, reconnecting…";
    state.ws = null;
    setTimeout(async () => {
      try { const me = await api("GET", "me"); state.csrf = me.csrf; connect(); } catch (_) { /* login shown */ }
    }, state.retry);
    state.retry = Math.min(state.retry * 2, 10000);
  };
}

function send(f) { if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify(f)); }

function onFrame(f) {
  switch (f.type) {
    case "hello":
      $("#status").value = f.status || "online";
      break;
    case "queue":
      state.queue = f.queue || []; state.total = f.total || 0; renderQueue();
      break;
    case "mine":
      state.mine = new Map((f.mine || []).map((h) => [h.conv, h])); renderMine();
      break;
    case "agents":
      state.agents = new Map((f.agents || []).map((a) => [a.id, a])); renderTransfer();
      break;
    case "agent":
      if (f.agent) { state.agents.set(f.agent.id, f.agent); renderTransfer(); }
      break;
    case "handoff": onHandoff(f); break;
    case "message":
      if (f.conv === state.conv && f.message) { addMessage(f.message); if (f.message.sender === "customer") showTyping(false); }
      break;
    case "note":
      if (f.conv === state.conv && f.note) addNote(f.note);
      break;
    case "typing":
      if (f.conv === state.conv) showTyping(!!f.typing);
      break;
    case "error":
      $("#compose-error").textContent = f.error || "";
      break;
  }
}

function onHandoff(f) {
  const h = f.handoff;
  if (h.state === "assigned" && h.agent_id === state.me.id) state.mine.set(h.conv, h);
  else state.mine.delete(h.conv);
  renderMine();
  if (h.conv === state.conv && state.convData) {
    state.convData.handoff = h;
    state.convData.mine = h.state === "assigned" && h.agent_id === state.me.id;
    renderHead();
    addEvent({ kind: f.event, agent_id: h.agent_id, at: new Date().toISOString(), detail: f.detail });
  }
}

// --- lists ---
function fmtWait(s) {
  if (s === undefined || s === null || s < 0) return "no agent online";
  const m = Math.ceil(s / 1e9 / 60);
  return "~" + m + " min";
}
function since(t) {
  const s = Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000));
  return s < 60 ? s + "s" : Math.floor(s / 60) + "m " + (s % 60) + "s";
}

function renderQueue() {
  const ul = $("#queue-list");
  ul.replaceChildren();
  $("#queue-count").textContent = state.total;
  for (const q of state.queue) {
    const li = el("li");
    li.dataset.conv = q.conv;
    if (q.conv === state.conv) li.classList.add("selected");
    const row = el("div", "row");
    row.append(el("strong", "", (q.position) + ". " + (q.customer_name || "Visitor " + q.conv.slice(0, 6))));
    const take = el("button", "claim", "Take");
    take.type = "button";
    take.onclick = (ev) => { ev.stopPropagation(); action(q.conv, "claim"); };
    row.append(take);
    li.append(row);
    li.append(el("span", "meta", (q.skill || "general") + " · waiting " + since(q.queued_at) + " · " + fmtWait(q.estimated_wait) + (q.priority ? " · priority " + q.priority : "")));
    li.onclick = () => openConv(q.conv);
    ul.append(li);
  }
  if (state.total > state.queue.length) ul.append(el("li", "meta", "… and " + (state.total - state.queue.length) + " more"));
}

function renderMine() {
  const ul = $("#mine-list");
  ul.replaceChildren();
  $("#mine-count").textContent = state.mine.size;
  for (const h of state.mine.values()) {
    const li = el("li");
    li.dataset.conv = h.conv;
    if (h.conv === state.conv) li.classList.add("selected");
    li.append(el("strong", "", h.customer_name || "Visitor " + h.conv.slice(0, 6)));
    li.append(el("span", "meta", (h.skill || "general") + " · assigned " + since(h.assigned_at) + (h.first_response_at ? "" : " · not answered yet")));
    li.onclick = () => openConv(h.conv);
    ul.append(li);
  }
}

async function renderLive() {
  const ul = $("#live-list");
  ul.replaceChildren(el("li", "meta", "loading…"));
  try {
    const r = await api("GET", "live");
    ul.replaceChildren();
    for (const c of r.live) {
      const li = el("li");
      li.dataset.conv = c.id;
      const row = el("div", "row");
      row.append(el("strong", "", c.customer_id || "Visitor " + c.id.slice(0, 6)));
      const take = el("button", "takeover", "Take over");
      take.type = "button";
      take.onclick = (ev) => { ev.stopPropagation(); action(c.id, "takeover"); };
      row.append(take);
      li.append(row, el("span", "meta", c.last_text || "(no message)"));
      li.onclick = () => openConv(c.id);
      ul.append(li);
    }
    if (!r.live.length) ul.append(el("li", "meta", "No conversation with the bot right now."));
  } catch (e) { ul.replaceChildren(el("li", "error", e.message)); }
}

function renderTransfer() {
  const sel = $("#transfer-to");
  const cur = sel.value;
  sel.replaceChildren();
  sel.append(new Option("Transfer to…", ""));
  sel.append(new Option("General queue", "queue:"));
  const skills = new Set();
  for (const a of state.agents.values()) {
    (a.skills || []).forEach((s) => skills.add(s));
    if (state.me && a.id === state.me.id) continue;
    sel.append(new Option(a.name + " (" + a.status + ", " + a.active + "/" + a.max_concurrent + ")", "agent:" + a.id));
  }
  for (const s of skills) sel.append(new Option("Team: " + s, "queue:" + s));
  sel.value = cur;
}

// --- conversation ---
async function openConv(id) {
  if (state.conv && state.conv !== id) send({ type: "unwatch", conv: state.conv });
  state.conv = id;
  send({ type: "watch", conv: id });
  document.querySelectorAll(".list li").forEach((li) => li.classList.toggle("selected", li.dataset.conv === id));
  $("#conv-empty").classList.add("hidden");
  $("#conv-view").classList.remove("hidden");
  $("#transcript").replaceChildren(el("div", "meta", "loading…"));
  try {
    const t = await api("GET", "conversations/" + encodeURIComponent(id));
    if (state.conv !== id) return;
    state.convData = t;
    renderHead();
    const tr = $("#transcript");
    tr.replaceChildren();
    // messages and notes in time order
    const items = t.messages.map((m) => ({ at: m.ts, m })).concat(t.notes.map((n) => ({ at: n.created_at, n })));
    items.sort((a, b) => new Date(a.at) - new Date(b.at));
    for (const it of items) { if (it.m) addMessage(it.m, true); else addNote(it.n, true); }
    tr.scrollTop = tr.scrollHeight;
    renderCustomer(t);
    loadCanned(id);
  } catch (e) { $("#transcript").replaceChildren(el("div", "error", e.message)); }
}

function renderHead() {
  const t = state.convData; const h = t.handoff;
  const name = (t.customer && (t.customer.first_name + " " + t.customer.last_name).trim()) || h.customer_name || "Visitor " + t.conversation.id.slice(0, 6);
  $("#conv-title").textContent = name;
  const st = $("#conv-state");
  st.textContent = h.state + (h.state === "assigned" ? " · " + (h.agent_name || h.agent_id) : "");
  st.className = "pill " + h.state;
  const mine = t.mine || (state.me.role === "admin" && h.state === "assigned");
  $("#btn-claim").disabled = !(h.state === "queued" || h.state === "bot" || h.state === "resolved");
  $("#btn-claim").textContent = h.state === "queued" ? "Take" : "Take over";
  $("#btn-resolve").disabled = !(mine || h.state === "queued");
  $("#btn-return").disabled = !(mine || h.state === "queued");
  $("#btn-transfer").disabled = !mine;
  $("#reply-input").disabled = false;
  $("#reply-send").disabled = false;
}

function addMessage(m, bulk) {
  const tr = $("#transcript");
  if (m.type === "note") return; // notes come from the notes table
  const d = el("div", "msg " + (m.type === "event" ? "event" : m.sender));
  d.dataset.seq = m.seq;
  if (tr.querySelector('[data-seq="' + m.seq + '"]')) return;
  if (m.type !== "event") {
    const who = m.sender === "agent" ? ((m.payload && m.payload.agent_name) || "Agent") : m.sender;
    d.append(el("span", "who", who + " · " + new Date(m.ts).toLocaleTimeString()));
  }
  d.append(el("span", "text", m.text || (m.payload && m.payload.text) || ""));
  if (m.sender === "customer" && m.intent) {
    const nlu = el("div", "nlu");
    const conf = el("span", m.confidence < 0.5 ? "low" : "", m.intent + " " + Math.round((m.confidence || 0) * 100) + "%");
    nlu.append(conf);
    for (const e of (m.entities || [])) nlu.append(el("span", "", (e.type || e.Type) + ": " + (e.value || e.Value || e.text || "")));
    d.append(nlu);
  }
  tr.append(d);
  if (!bulk) tr.scrollTop = tr.scrollHeight;
}

function addNote(n, bulk) {
  const tr = $("#transcript");
  const d = el("div", "msg note");
  d.append(el("span", "who", "note · " + (n.agent_id === state.me.id ? "you" : (state.agents.get(n.agent_id) || {}).name || n.agent_id)));
  d.append(el("span", "text", n.text));
  tr.append(d);
  if (!bulk) tr.scrollTop = tr.scrollHeight;
}

function addEvent(e) {
  $("#events").append(el("li", "", new Date(e.at).toLocaleTimeString() + " " + e.kind + (e.detail ? " (" + e.detail + ")" : "")));
}

function renderCustomer(t) {
  const ci = $("#customer-info");
  ci.replaceChildren();
  if (t.customer) {
    ci.append(el("div", "", (t.customer.first_name + " " + t.customer.last_name).trim()));
    ci.append(el("div", "meta", t.customer.email));
  } else {
    ci.append(el("div", "meta", "Anonymous visitor"));
  }
  const ol = $("#orders");
  ol.replaceChildren();
  for (const o of t.orders) ol.append(el("li", "", o.number + " · " + o.status + " · " + o.total + " " + o.currency));
  if (!t.orders.length) ol.append(el("li", "meta", "none"));
  const ev = $("#events");
  ev.replaceChildren();
  for (const e of t.events) addEvent(e);
}

function showTyping(on) {
  $("#typing").classList.toggle("hidden", !on);
  clearTimeout(state.customerTypingTimer);
  if (on) state.customerTypingTimer = setTimeout(() => showTyping(false), 6000);
}

async function action(conv, what, body) {
  $("#compose-error").textContent = "";
  try {
    const r = await api("POST", "conversations/" + encodeURIComponent(conv) + "/" + what, body);
    if (r.handoff) {
      onHandoff({ handoff: r.handoff, event: what });
      if (conv !== state.conv) openConv(conv);
    }
    return r;
  } catch (e) {
    $("#compose-error").textContent = e.message;
    throw e;
  }
}

// --- compose: reply, notes, typing, canned ---
async function loadCanned(conv) {
  try {
    const r = await api("GET", "canned?conv=" + encodeURIComponent(conv));
    state.canned = r.canned || [];
  } catch (_) { state.canned = []; }
}

function cannedMatches() {
  const v = $("#reply-input").value;
  const m = /(?:^|\s)\/([a-z0-9_-]*)$/.exec(v);
  if (!m) return null;
  return { prefix: m[1], list: state.canned.filter((c) => c.shortcut.startsWith(m[1])) };
}

function renderSuggest() {
  const box = $("#canned-suggest");
  const m = cannedMatches();
  if (!m || !m.list.length) { box.classList.add("hidden"); return; }
  box.replaceChildren();
  m.list.forEach((c, i) => {
    const d = el("div", i === 0 ? "active" : "", "/" + c.shortcut + " — " + (c.title || c.text.slice(0, 40)));
    d.onclick = () => insertCanned(c);
    box.append(d);
  });
  box.classList.remove("hidden");
}

function insertCanned(c) {
  const ta = $("#reply-input");
  ta.value = ta.value.replace(/\/([a-z0-9_-]*)$/, "") + (c.rendered || c.text);
  $("#canned-suggest").classList.add("hidden");
  if (c.missing && c.missing.length) $("#compose-error").textContent = "Fill in: " + c.missing.join(", ");
  ta.focus();
}

function typing(on) {
  if (!state.conv || !state.convData || !state.convData.mine || $("#note-mode").checked) return;
  if (on && !state.typingSent) { send({ type: "typing", conv: state.conv, typing: true }); state.typingSent = true; }
  clearTimeout(state.typingTimer);
  if (on) state.typingTimer = setTimeout(() => typing(false), 3000);
  else if (state.typingSent) { send({ type: "typing", conv: state.conv, typing: false }); state.typingSent = false; }
}

async function sendCompose() {
  const ta = $("#reply-input");
  const text = ta.value.trim();
  if (!text || !state.conv) return;
  const note = $("#note-mode").checked;
  try {
    if (note) {
      await action(state.conv, "notes", { text });
    } else {
      const r = await action(state.conv, "reply", { text, client_id: "c" + Date.now() + Math.random().toString(36).slice(2, 8) });
      if (r.message) addMessage(r.message);
    }
    ta.value = "";
    state.typingSent = false;
  } catch (_) { /* shown */ }
}

// --- inbox, reports, canned admin ---
async function renderUnanswered() {
  const p = $("#unanswered-panel");
  p.replaceChildren(el("div", "meta", "loading…"));
  try {
    const r = await api("GET", "unanswered");
    p.replaceChildren(el("div", "meta", "Label what the bot missed; labelled examples go to the training data."));
    for (const u of r.unanswered) {
      const d = el("div", "ua");
      d.append(el("strong", "", u.text));
      d.append(el("span", "meta", u.reason + (u.intent ? " · bot: " + u.intent + " " + Math.round(u.confidence * 100) + "%" : "")));
      const input = el("input");
      input.placeholder = "intent (e.g. refund_status)";
      input.value = u.intent && u.intent !== "oos" ? u.intent : "";
      const b = el("button", "", "Label");
      b.type = "button";
      b.onclick = async () => {
        try { await api("POST", "unanswered/" + u.id + "/label", { intent: input.value }); d.remove(); } catch (e) { d.append(el("span", "error", e.message)); }
      };
      const row = el("div", "row"); row.append(input, b); d.append(row);
      p.append(d);
    }
    if (!r.unanswered.length) p.append(el("div", "meta", "Nothing to label."));
  } catch (e) { p.replaceChildren(el("div", "error", e.message)); }
}

async function renderReports() {
  const p = $("#reports-panel");
  p.replaceChildren(el("div", "meta", "loading…"));
  try {
    const r = await api("GET", "reports");
    const t = el("table", "report");
    const rows = [
      ["Conversations (7 days)", r.conversations], ["Handled by the bot only", r.bot_only],
      ["Handoffs", r.handoffs], ["Handled by agents", r.handled_by_agents], ["Resolved", r.resolved],
      ["Returned to the bot", r.returned_to_bot], ["Failed (waited too long)", r.failed],
      ["Handoff rate", (r.handoff_rate * 100).toFixed(1) + "%"], ["Average wait", r.avg_wait_s.toFixed(0) + " s"],
      ["90th percentile wait", r.p90_wait_s.toFixed(0) + " s"], ["Average first response", r.avg_first_response_s.toFixed(0) + " s"],
      ["CSAT", r.csat_count ? r.csat_average.toFixed(2) + " / 5 (" + r.csat_count + ")" : "—"],
      ["CSAT 1..5", (r.csat_distribution || []).join(" / ")],
    ];
    for (const [k, v] of rows) { const tr = el("tr"); tr.append(el("td", "", k), el("td", "", v)); t.append(tr); }
    p.replaceChildren(t);
    for (const c of (r.recent_csat_comments || [])) p.append(el("div", "ua", c.rating + "★ " + c.comment));
    const d = await api("GET", "webhooks/deliveries");
    p.append(el("h4", "", "Webhook deliveries" + (d.configured ? "" : " (no webhook configured)")));
    const wt = el("table", "report");
    for (const x of d.deliveries.slice(0, 30)) {
      const tr = el("tr");
      tr.append(el("td", "", x.kind), el("td", "", x.status), el("td", "", x.attempts + " tries"), el("td", "", x.last_error || x.last_status_code || ""));
      wt.append(tr);
    }
    p.append(wt);
  } catch (e) { p.replaceChildren(el("div", "error", e.message)); }
}

async function renderCannedAdmin() {
  const p = $("#canned-panel");
  p.replaceChildren();
  const form = el("div", "ua");
  const sc = el("input"); sc.placeholder = "shortcut (e.g. refund)";
  const title = el("input"); title.placeholder = "title";
  const text = el("textarea"); text.rows = 3; text.placeholder = "Hi {customer.first_name}, your order {order.number}…";
  const save = el("button", "", "Save"); save.type = "button";
  const err = el("span", "error");
  save.onclick = async () => {
    try { await api("POST", "canned", { shortcut: sc.value, title: title.value, text: text.value }); renderCannedAdmin(); } catch (e) { err.textContent = e.message; }
  };
  form.append(sc, title, text, save, err);
  p.append(form);
  try {
    const r = await api("GET", "canned");
    for (const c of r.canned) {
      const d = el("div", "ua");
      d.append(el("strong", "", "/" + c.shortcut + " " + c.title), el("span", "", c.text));
      const del = el("button", "", "Delete"); del.type = "button";
      del.onclick = async () => { await api("DELETE", "canned/" + c.id); d.remove(); };
      d.append(del);
      p.append(d);
    }
  } catch (e) { p.append(el("div", "error", e.message)); }
}

// --- wiring ---
document.addEventListener("DOMContentLoaded", async () => {
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#login-error").textContent = "";
    try {
      const me = await api("POST", "login", { email: $("#login-email").value, password: $("#login-password").value });
      start(me);
    } catch (e) { $("#login-error").textContent = e.message; }
  });
  $("#logout").onclick = async () => { try { await api("POST", "logout"); } catch (_) { /* ignore */ } showLogin(); };
  $("#status").onchange = () => send({ type: "status", status: $("#status").value });
  document.querySelectorAll(".tabs button").forEach((b) => {
    b.onclick = () => {
      document.querySelectorAll(".tabs button").forEach((x) => x.classList.toggle("active", x === b));
      document.querySelectorAll("[data-panel]").forEach((p) => p.classList.toggle("hidden", p.dataset.panel !== b.dataset.tab));
      if (b.dataset.tab === "live") renderLive();
      if (b.dataset.tab === "unanswered") renderUnanswered();
      if (b.dataset.tab === "reports") renderReports();
      if (b.dataset.tab === "canned") renderCannedAdmin();
    };
  });
  $("#btn-claim").onclick = () => action(state.conv, state.convData.handoff.state === "queued" ? "claim" : "takeover");
  $("#btn-resolve").onclick = () => action(state.conv, "resolve");
  $("#btn-return").onclick = () => action(state.conv, "return");
  $("#btn-transfer").onclick = () => {
    const v = $("#transfer-to").value;
    if (v.startsWith("agent:")) action(state.conv, "transfer", { to_agent: v.slice(6) });
    else if (v.startsWith("queue:")) action(state.conv, "transfer", { to_skill: v.slice(6), to_queue: true });
  };
  $("#note-mode").onchange = () => $("#compose").classList.toggle("note-mode", $("#note-mode").checked);
  const ta = $("#reply-input");
  ta.addEventListener("input", () => { typing(ta.value.length > 0); renderSuggest(); });
  ta.addEventListener("keydown", (ev) => {
    const m = cannedMatches();
    if ((ev.key === "Tab" || ev.key === "Enter") && m && m.list.length && !$("#canned-suggest").classList.contains("hidden")) {
      ev.preventDefault(); insertCanned(m.list[0]); return;
    }
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); sendCompose(); }
  });
  $("#reply-send").onclick = sendCompose;
  setInterval(() => { if (!$("#queue-list").classList.contains("hidden")) renderQueue(); }, 5000);
  try { start(await api("GET", "me")); } catch (_) { showLogin(); }
});
