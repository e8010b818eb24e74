/*! shopchat widget: add to a page with
 *   <script src="https://CHAT-SERVER/widget/shopchat.js" async></script>
 * Optional attributes on the tag: data-server (WebSocket URL, default wss://CHAT-SERVER/ws),
 * data-customer (the customer identity the shop signed; see docs/protocol.md), data-title,
 * data-locale, data-open="true". No framework, no build step. Protocol: docs/protocol.md (v1).
 */
(function () {
  "use strict";
  if (window.ShopChat && window.ShopChat.loaded) return;

  var script = document.currentScript || (function () {
    var s = document.querySelectorAll("script[src*='shopchat.js']");
    return s[s.length - 1];
  })();
  var cfg = (script && script.dataset) || {};
  var origin = script && script.src ? new URL(script.src, location.href) : new URL(location.href);
  var serverURL = cfg.server || ((origin.protocol === "https:" ? "wss://" : "ws://") + origin.host + "/ws");
  var cssURL = new URL("shopchat.css", origin.href.replace(/[^/]*$/, "")).href;
  var KEY = "shopchat:" + serverURL;
  var customerIdentity = cfg.customer || "";

  // ---- persistent state: token, the last seq shown, the outbox of unacknowledged messages ----
  var store = {
    get: function () {
      try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
    },
    set: function (v) {
      try { localStorage.setItem(KEY, JSON.stringify(v)); } catch (e) { /* private mode */ }
    }
  };
  var saved = store.get();
  var state = {
    token: saved.token || "",
    conv: saved.conv || "",
    lastSeq: saved.lastSeq || 0,         // highest seq received (resume from here)
    outbox: saved.outbox || [],          // [{id, text, reply}] not yet acknowledged
    customer: saved.customer || ""
  };
  if (customerIdentity && state.customer !== customerIdentity) {
    // Another identity than the stored conversation's: the server decides whether to resume.
    state.customer = customerIdentity;
  }
  function persist() {
    store.set({ token: state.token, conv: state.conv, lastSeq: state.lastSeq, outbox: state.outbox, customer: state.customer,
      open: typeof panel !== "undefined" && panel ? !panel.hidden : !!saved.open });
  }

  // ---- DOM ----
  var link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = cssURL;
  document.head.appendChild(link);

  var root = document.createElement("div");
  root.className = "sc-root";
  root.innerHTML =
    '<button type="button" class="sc-launcher" aria-expanded="false" aria-controls="sc-panel" aria-label="Open chat with customer service">' +
    '<span aria-hidden="true">💬</span><span class="sc-launcher-text">Chat</span></button>' +
    '<section id="sc-panel" class="sc-panel" role="dialog" aria-modal="false" aria-labelledby="sc-title" hidden>' +
    '<header class="sc-header"><h2 id="sc-title" class="sc-title"></h2>' +
    '<span class="sc-status" role="status" aria-live="polite"></span>' +
    '<button type="button" class="sc-close" aria-label="Close chat">×</button></header>' +
    '<button type="button" class="sc-more" hidden>Show earlier messages</button>' +
    '<ol class="sc-log" role="log" aria-live="polite" aria-relevant="additions" aria-label="Conversation" tabindex="0"></ol>' +
    '<div class="sc-typing" aria-live="polite" hidden>The assistant is typing…</div>' +
    '<div class="sc-replies" role="group" aria-label="Suggested replies"></div>' +
    '<form class="sc-form"><label for="sc-input" class="sc-sr">Your message</label>' +
    '<textarea id="sc-input" class="sc-input" rows="1" maxlength="2000" placeholder="Type your message…" autocomplete="off"></textarea>' +
    '<button type="submit" class="sc-send">Send</button></form></section>';
  function mount() { document.body.appendChild(root); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  var $ = function (sel) { return root.querySelector(sel); };
  var launcher = $(".sc-launcher"), panel = $(".sc-panel"), log = $(".sc-log"), input = $(".sc-input");
  var form = $(".sc-form"), statusEl = $(".sc-status"), typingEl = $(".sc-typing"), replies = $(".sc-replies");
  var moreBtn = $(".sc-more");
  $(".sc-title").textContent = cfg.title || "Customer service";

  var bySeq = {};       // seq -> li
  var byClientID = {};  // client id -> li (own messages, before and after their ack)
  var oldestSeq = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function insertBySeq(li, seq) {
    li.dataset.seq = seq;
    bySeq[seq] = li;
    if (!oldestSeq || seq < oldestSeq) oldestSeq = seq;
    // Insert before the first rendered element with a larger seq (pending ones stay last).
    var items = log.children;
    for (var i = 0; i < items.length; i++) {
      var d = items[i].dataset.seq;
      if (d === undefined || +d > seq) { log.insertBefore(li, items[i]); return; }
    }
    log.appendChild(li);
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function money(v, cur) {
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency: cur || "EUR" }).format(v); }
    catch (e) { return v + " " + (cur || ""); }
  }

  function renderCard(c) {
    var card = el("article", "sc-card sc-card-" + (c.type || "info"));
    if (c.type === "product") {
      card.setAttribute("aria-label", "Product: " + c.name);
      if (c.image) {
        var img = el("img", "sc-card-img");
        img.src = c.image; img.alt = ""; img.loading = "lazy";
        card.appendChild(img);
      }
      card.appendChild(el("h3", "sc-card-title", c.name));
      if (c.price != null) card.appendChild(el("p", "sc-card-price", money(c.price, c.currency)));
      if (c.description) card.appendChild(el("p", "sc-card-desc", c.description));
      if (c.in_stock === false) card.appendChild(el("p", "sc-card-stock", "Out of stock"));
      if (c.url) {
        var a = el("a", "sc-card-link", "View product");
        a.href = c.url;
        card.appendChild(a);
      }
    } else if (c.type === "order") {
      card.setAttribute("aria-label", "Order " + c.number);
      card.appendChild(el("h3", "sc-card-title", "Order " + c.number));
      card.appendChild(el("p", "sc-card-status", c.status_label || c.status));
      var dl = el("dl", "sc-card-facts");
      var facts = [["Placed", c.placed], ["Expected", c.eta], ["Carrier", c.carrier], ["Tracking", c.tracking], ["Total", c.total != null ? money(c.total, c.currency) : null]];
      facts.forEach(function (f) {
        if (!f[1]) return;
        dl.appendChild(el("dt", null, f[0]));
        dl.appendChild(el("dd", null, f[1]));
      });
      card.appendChild(dl);
      if (c.items && c.items.length) {
        var ul = el("ul", "sc-card-items");
        c.items.forEach(function (it) { ul.appendChild(el("li", null, (it.quantity || 1) + " × " + it.name)); });
        card.appendChild(ul);
      }
      if (c.tracking_url) {
        var t = el("a", "sc-card-link", "Track parcel");
        t.href = c.tracking_url;
        card.appendChild(t);
      }
    } else {
      card.appendChild(el("h3", "sc-card-title", c.title || ""));
      if (c.text) card.appendChild(el("p", null, c.text));
    }
    return card;
  }

  var senderLabel = { customer: "You", bot: "Assistant", agent: "Agent", system: "" };

  function renderMessage(env) {
    var p = env.payload || {};
    var seq = env.seq;
    if (seq && bySeq[seq]) return bySeq[seq];
    var li;
    if (p.sender === "customer" && env.id && byClientID[env.id]) {
      li = byClientID[env.id];
      li.classList.remove("sc-pending");
      if (li.parentNode) li.parentNode.removeChild(li);
      insertBySeq(li, seq);
      return li;
    }
    li = el("li", "sc-msg sc-from-" + (p.sender || "system") + (env.type === "event" ? " sc-event" : ""));
    if (env.type !== "event") {
      var who = p.sender === "agent" && p.agent_name ? p.agent_name : senderLabel[p.sender] || "";
      li.appendChild(el("span", "sc-sr", who + ": "));
    }
    if (p.text) li.appendChild(el("p", "sc-text", p.text));
    if (p.cards && p.cards.length) {
      var cards = el("div", "sc-cards");
      p.cards.forEach(function (c) { cards.appendChild(renderCard(c)); });
      li.appendChild(cards);
    }
    if (env.ts) {
      var t = el("time", "sc-time", new Date(env.ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
      t.dateTime = env.ts;
      li.appendChild(t);
    }
    if (env.id && p.sender === "customer") byClientID[env.id] = li;
    if (seq) insertBySeq(li, seq); else log.appendChild(li);
    if (p.quick_replies) li._replies = p.quick_replies;
    return li;
  }

  // Quick replies belong to the newest bot message only.
  function refreshReplies() {
    replies.textContent = "";
    var last = log.lastElementChild;
    while (last && last.classList.contains("sc-event")) last = last.previousElementSibling;
    if (!last || !last._replies || last.classList.contains("sc-from-customer")) return;
    last._replies.forEach(function (q) {
      var b = el("button", "sc-reply", q.title);
      b.type = "button";
      b.addEventListener("click", function () { sendMessage(q.title, q.payload); });
      replies.appendChild(b);
    });
  }

  function setStatus(s) { statusEl.textContent = s; root.dataset.state = s; }

  // ---- connection ----
  var ws = null, ready = false, backoff = 500, reconnectTimer = null, typingTimer = null;
  var lastTypingSent = 0, historyRequested = false;

  function send(obj) {
    if (!ws || ws.readyState !== 1) return false;
    obj.v = 1;
    ws.send(JSON.stringify(obj));
    return true;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    ready = false;
    setStatus("connecting");
    try { ws = new WebSocket(serverURL); } catch (e) { scheduleReconnect(); return; }
    ws.onopen = function () {
      var p = {};
      if (state.token) { p.token = state.token; p.last_seq = state.lastSeq; }
      if (customerIdentity) p.customer = customerIdentity;
      if (cfg.locale) p.locale = cfg.locale;
      send({ type: state.token ? "resume" : "hello", payload: p });
    };
    ws.onmessage = function (ev) {
      var env;
      try { env = JSON.parse(ev.data); } catch (e) { return; }
      handle(env);
    };
    ws.onclose = function () { ready = false; ws = null; scheduleReconnect(); };
    ws.onerror = function () { /* onclose follows */ };
  }

  function scheduleReconnect() {
    setStatus("offline — reconnecting");
    clearTimeout(reconnectTimer);
    var d = backoff * (0.5 + Math.random());
    backoff = Math.min(backoff * 2, 15000);
    reconnectTimer = setTimeout(connect, d);
  }

  function flushOutbox() {
    state.outbox.forEach(function (m) {
      var p = { text: m.text };
      if (m.reply) p.reply = m.reply;
      send({ type: "message", id: m.id, payload: p });
    });
  }

  function noteSeq(seq) {
    if (seq && seq > state.lastSeq) { state.lastSeq = seq; persist(); }
  }

  function handle(env) {
    var p = env.payload || {};
    switch (env.type) {
      case "welcome":
        ready = true;
        backoff = 500;
        if (state.conv && state.conv !== env.conv) {
          // A new conversation: forget the old one's messages.
          log.textContent = ""; bySeq = {}; oldestSeq = 0; state.lastSeq = 0;
        }
        state.conv = env.conv;
        state.token = p.token;
        persist();
        setStatus("online");
        if (p.resumed && !historyRequested && !log.querySelector("[data-seq]")) {
          historyRequested = true;
          send({ type: "history", id: "h-init", payload: { before: state.lastSeq + 1, limit: 50 } });
        }
        flushOutbox();
        break;
      case "ack":
        state.outbox = state.outbox.filter(function (m) { return m.id !== env.id; });
        var li = byClientID[env.id];
        if (li) {
          li.classList.remove("sc-pending");
          if (!li.dataset.seq) { li.parentNode && li.parentNode.removeChild(li); insertBySeq(li, env.seq); }
        }
        noteSeq(env.seq);
        persist();
        break;
      case "message":
      case "event":
        if (env.type === "event" && p.event === "handoff.position" && updatePosition(p)) break; // handoff (#7)
        renderMessage(env);
        if (env.type === "event" && p.event === "csat.request") renderCSAT(); // handoff (#7)
        noteSeq(env.seq);
        if (p.sender !== "customer") { typingEl.hidden = true; }
        if (env.type === "event" && p.event === "handoff.assigned") typingEl.textContent = (p.agent_name || "The agent") + " is typing…";
        if (env.type === "event" && (p.event === "handoff.returned" || p.event === "handoff.resolved")) typingEl.textContent = "The assistant is typing…";
        refreshReplies();
        scrollDown();
        break;
      case "history":
        (p.messages || []).forEach(function (m) { renderMessage(m); });
        moreBtn.hidden = !p.has_more;
        refreshReplies();
        if (env.id === "h-init") scrollDown();
        break;
      case "typing":
        if (p.sender !== "customer") {
          typingEl.hidden = !p.state;
          clearTimeout(typingTimer);
          if (p.state) typingTimer = setTimeout(function () { typingEl.hidden = true; }, 15000);
        }
        break;
      case "error":
        if (p.code === "bad_token" || p.code === "token_expired" || p.code === "not_found") {
          state.token = ""; state.conv = ""; state.lastSeq = 0; persist();
          send({ type: "hello", payload: customerIdentity ? { customer: customerIdentity } : {} });
        } else if (p.code === "bad_identity") {
          customerIdentity = "";
          send({ type: state.token ? "resume" : "hello", payload: state.token ? { token: state.token, last_seq: state.lastSeq } : {} });
        } else if (p.code === "rate_limited" || p.code === "unavailable") {
          setTimeout(flushOutbox, Math.max(p.retry_after_ms || 1000, 250));
        } else if (env.id && byClientID[env.id]) {
          byClientID[env.id].classList.add("sc-failed");
          state.outbox = state.outbox.filter(function (m) { return m.id !== env.id; });
          persist();
        }
        break;
    }
  }

  function newID() {
    var a = new Uint8Array(8);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return "c" + Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sendMessage(text, reply) {
    text = (text || "").trim();
    if (!text) return;
    var id = newID();
    var m = { id: id, text: text };
    if (reply) m.reply = reply;
    state.outbox.push(m);
    persist();
    var li = renderMessage({ type: "message", id: id, payload: { sender: "customer", text: text } });
    li.classList.add("sc-pending");
    replies.textContent = "";
    scrollDown();
    if (ready) {
      var p = { text: text };
      if (reply) p.reply = reply;
      send({ type: "message", id: id, payload: p });
    }
    lastTypingSent = 0;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    sendMessage(input.value);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
    if (e.key === "Escape") close();
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (ready && now - lastTypingSent > 3000) { lastTypingSent = now; send({ type: "typing", payload: { state: true } }); }
  });
  moreBtn.addEventListener("click", function () {
    send({ type: "history", id: "h-more", payload: { before: oldestSeq, limit: 50 } });
  });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat with customer service");
    if (!ws) connect();
    input.focus();
    scrollDown();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat with customer service");
    launcher.focus();
  }
  launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
  $(".sc-close").addEventListener("click", close);

  // Greeting shown locally (not stored) for a new conversation.
  function greet() {
    if (state.token) return;
    var li = el("li", "sc-msg sc-from-bot sc-greeting");
    li.dataset.seq = "0";
    li.appendChild(el("span", "sc-sr", "Assistant: "));
    li.appendChild(el("p", "sc-text", "Hi! I can track orders, help with returns and refunds, and find products. How can I help?"));
    li._replies = [
      { title: "Where is my order?", payload: "intent:order_status" },
      { title: "Return an item", payload: "intent:return_item" },
      { title: "Recommend something", payload: "intent:recommend_products" },
      { title: "Talk to a person", payload: "intent:talk_to_human" }
    ];
    log.appendChild(li);
    refreshReplies();
  }
  greet();
  state.outbox.forEach(function (m) {
    renderMessage({ type: "message", id: m.id, payload: { sender: "customer", text: m.text } }).classList.add("sc-pending");
  });

  // ---- handoff (#7): queue position updates in place, and the satisfaction question ----
  function updatePosition(p) {
    var evs = log.querySelectorAll(".sc-event");
    var last = evs.length ? evs[evs.length - 1] : null;
    if (!last || !/in the queue/.test(last.textContent)) return false;
    var t = last.querySelector(".sc-text");
    if (t && p.text) t.textContent = p.text;
    return true;
  }
  function renderCSAT() {
    var li = el("li", "sc-msg sc-from-system sc-event sc-csat");
    var row = el("div", "sc-replies");
    var comment = el("textarea", "sc-input");
    comment.rows = 2; comment.maxLength = 1000; comment.placeholder = "Anything to add? (optional)";
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", "sc-reply", String(n));
      b.type = "button";
      b.setAttribute("aria-label", "Rate " + n + " out of 5");
      b.addEventListener("click", function () {
        if (send({ type: "csat", id: newID(), conv: state.conv, payload: { rating: n, comment: comment.value.trim() } })) {
          li.textContent = "";
          li.appendChild(el("p", "sc-text", "Thanks for your feedback!"));
        }
      });
      row.appendChild(b);
    });
    li.appendChild(row);
    li.appendChild(comment);
    log.appendChild(li);
  }

  window.ShopChat = {
    loaded: true,
    open: open,
    close: close,
    send: sendMessage,
    // identify sets the signed customer identity (after the shopper logs in) and reconnects.
    identify: function (identity) { customerIdentity = identity || ""; if (ws) ws.close(); },
    // reset forgets the conversation on this browser.
    reset: function () { state = { token: "", conv: "", lastSeq: 0, outbox: [], customer: "" }; persist(); log.textContent = ""; bySeq = {}; byClientID = {}; greet(); if (ws) ws.close(); },
    _socket: function () { return ws; },
    _state: function () { return state; }
  };
  launcher.addEventListener("click", persist);
  $(".sc-close").addEventListener("click", persist);
  if (cfg.open === "true" || saved.open) open();
})();
