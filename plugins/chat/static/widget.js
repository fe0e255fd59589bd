/* Mindframe chat widget. Embed on any page with one tag:
 *   <script src="https://your-server/chat/widget.js" async></script>
 * Optional attributes: data-locale="nb" (else the browser's languages), data-open="true".
 * Everything goes over the socket except the texts (a plain GET) and uploads (a form POST),
 * so the host page needs no CORS set-up. Text is only ever inserted as text, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.mindframeChat) return;
  var base = new URL(script.src, location.href).origin;
  var wsBase = base.replace(/^http/, "ws");
  var storageKey = "mindframe.chat:" + base;
  var locale = script.getAttribute("data-locale") || "";
  var saved = load();
  var texts = {};
  var socket = null;
  var retryDelay = 500;
  var conversationId = saved.conversation_id || null;
  var cursor = 0; /* the last message number shown on this page */
  var unsent = {}; /* client id -> text, until acknowledged (resent after a reconnect) */
  var typingSentAt = 0;
  var typingTimers = {};
  var ui = {};

  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey) || "{}"); } catch (e) { return {}; }
  }
  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ token: saved.token, conversation_id: conversationId }));
    } catch (e) { /* private mode: the conversation lasts as long as the page */ }
  }
  function t(key) { return texts[key] || key; }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 64);
  }

  function build() {
    var host = el("div");
    host.setAttribute("data-mindframe-chat", "");
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style");
    style.textContent =
      ":host{all:initial}" +
      ".button{position:fixed;right:20px;bottom:20px;border:0;border-radius:24px;padding:12px 18px;" +
      "background:#1f5fbf;color:#fff;font:15px system-ui,sans-serif;cursor:pointer;z-index:2147483000}" +
      ".panel{position:fixed;right:20px;bottom:76px;width:320px;max-height:70vh;display:none;flex-direction:column;" +
      "background:#fff;color:#111;border:1px solid #ccd;border-radius:10px;box-shadow:0 6px 24px #0003;" +
      "font:14px system-ui,sans-serif;z-index:2147483000}" +
      ".panel.open{display:flex}.head{padding:10px 12px;border-bottom:1px solid #eee}" +
      ".status{font-size:12px;color:#555}.log{flex:1;overflow:auto;padding:8px 12px;min-height:160px}" +
      ".message{margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}.message .who{font-size:11px;color:#666}" +
      ".message.mine{text-align:right}.message.unsent{opacity:.6}.typing{font-size:12px;color:#666;padding:0 12px;min-height:16px}" +
      "form{display:flex;gap:6px;padding:8px;border-top:1px solid #eee}" +
      "input[type=text]{flex:1;padding:6px;border:1px solid #ccd;border-radius:6px;font:inherit}" +
      "button.send,label.attach{padding:6px 10px;border:0;border-radius:6px;background:#1f5fbf;color:#fff;cursor:pointer}" +
      "label.attach input{display:none}";
    root.appendChild(style);
    ui.button = el("button", "button", "💬");
    ui.panel = el("div", "panel");
    var head = el("div", "head");
    ui.title = el("div", "title");
    ui.status = el("div", "status");
    head.appendChild(ui.title);
    head.appendChild(ui.status);
    ui.log = el("div", "log");
    ui.log.setAttribute("role", "log");
    ui.typing = el("div", "typing");
    ui.form = el("form");
    ui.input = el("input");
    ui.input.type = "text";
    ui.input.maxLength = 4000;
    ui.attach = el("label", "attach", "📎");
    ui.file = el("input");
    ui.file.type = "file";
    ui.attach.appendChild(ui.file);
    ui.send = el("button", "send");
    ui.send.type = "submit";
    ui.form.appendChild(ui.input);
    ui.form.appendChild(ui.attach);
    ui.form.appendChild(ui.send);
    ui.panel.appendChild(head);
    ui.panel.appendChild(ui.log);
    ui.panel.appendChild(ui.typing);
    ui.panel.appendChild(ui.form);
    root.appendChild(ui.panel);
    root.appendChild(ui.button);
    document.body.appendChild(host);
    ui.button.addEventListener("click", function () { toggle(!ui.panel.classList.contains("open")); });
    ui.form.addEventListener("submit", function (event) { event.preventDefault(); sendText(); });
    ui.input.addEventListener("input", typing);
    ui.file.addEventListener("change", upload);
    label();
  }

  function label() {
    ui.title.textContent = t("title");
    ui.button.setAttribute("aria-label", t("open"));
    ui.input.placeholder = t("placeholder");
    ui.send.textContent = t("send");
    ui.attach.title = t("attach");
    if (!socket || socket.readyState !== 1) ui.status.textContent = t("connecting");
  }

  function toggle(open) {
    ui.panel.classList.toggle("open", open);
    if (open) { ui.input.focus(); markRead(); }
  }

  function connect() {
    socket = new WebSocket(wsBase + "/api/chat/ws");
    socket.onopen = function () {
      retryDelay = 500;
      frame({ type: "hello", visitor_token: saved.token || null });
    };
    socket.onmessage = function (event) { receive(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      ui.status.textContent = t("connecting");
      if (event.code === 4401) { saved.token = null; save(); }
      /* 1012: the server handed this socket to nobody (it was reloaded or changed): at once */
      var delay = event.code === 1012 ? 0 : retryDelay;
      retryDelay = Math.min(retryDelay * 2, 10000);
      setTimeout(connect, delay);
    };
  }

  function frame(value) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(value));
  }

  function receive(data) {
    if (data.type === "welcome") {
      if (data.visitor_token) { saved.token = data.visitor_token; save(); }
      online(data.agents_online);
      var open = data.conversations.map(function (c) { return c.id; });
      if (conversationId && open.indexOf(conversationId) < 0) conversationId = null;
      if (!conversationId && open.length) conversationId = open[0];
      save();
      if (conversationId) frame({ type: "join", conversation_id: conversationId, after: cursor });
      else resend();
    } else if (data.type === "joined") {
      conversationId = data.conversation.id;
      save();
      resend();
    } else if (data.type === "message") {
      show(data);
    } else if (data.type === "ack") {
      conversationId = data.conversation_id;
      delete unsent[data.client_id];
      save();
    } else if (data.type === "typing") {
      showTyping(data);
    } else if (data.type === "presence") {
      online(data.agents_online);
    } else if (data.type === "error" && data.problem) {
      ui.status.textContent = data.problem.detail;
    }
  }

  function online(yes) { ui.status.textContent = yes ? t("online") : t("offline"); }

  function show(message) {
    if (message.conversation_id !== conversationId || message.seq <= cursor) return;
    cursor = message.seq;
    var mine = message.author.kind === "visitor";
    var pending = message.client_id && ui.log.querySelector('[data-client-id="' + CSS.escape(message.client_id) + '"]');
    var row = pending || el("div", "message");
    row.textContent = "";
    row.className = "message" + (mine ? " mine" : "");
    row.setAttribute("data-seq", String(message.seq));
    row.appendChild(el("div", "who", mine ? t("you") : message.author.name || t("someone")));
    row.appendChild(el("div", "text", message.text));
    (message.attachments || []).forEach(function (file) {
      var link = el("a", "file", file.filename);
      link.href = base + file.url;
      link.target = "_blank";
      link.rel = "noopener";
      row.appendChild(link);
    });
    if (!pending) ui.log.appendChild(row);
    ui.log.scrollTop = ui.log.scrollHeight;
    if (!mine) { clearTyping(message.author); markRead(); }
  }

  function markRead() {
    if (conversationId && cursor && ui.panel.classList.contains("open")) {
      frame({ type: "read", conversation_id: conversationId, seq: cursor });
    }
  }

  function sendText() {
    var text = ui.input.value.trim();
    if (!text) return;
    ui.input.value = "";
    var clientId = newId();
    unsent[clientId] = text;
    var row = el("div", "message mine unsent");
    row.setAttribute("data-client-id", clientId);
    row.appendChild(el("div", "text", text));
    ui.log.appendChild(row);
    ui.log.scrollTop = ui.log.scrollHeight;
    frame({ type: "send", conversation_id: conversationId, client_id: clientId, text: text });
    typingSentAt = 0;
  }

  function resend() {
    /* the same client ids: a message the server already stored is not stored twice */
    Object.keys(unsent).forEach(function (clientId) {
      frame({ type: "send", conversation_id: conversationId, client_id: clientId, text: unsent[clientId] });
    });
  }

  function typing() {
    if (!conversationId || Date.now() - typingSentAt < 2000) return;
    typingSentAt = Date.now();
    frame({ type: "typing", conversation_id: conversationId, typing: true });
  }

  function authorKey(author) { return author.kind + ":" + (author.id || ""); }

  function showTyping(data) {
    var key = authorKey(data.author);
    clearTimeout(typingTimers[key]);
    if (data.typing) {
      ui.typing.textContent = t("typing").replace("{name}", data.author.name || t("someone"));
      typingTimers[key] = setTimeout(function () { clearTyping(data.author); }, data.expires_in * 1000);
    } else {
      clearTyping(data.author);
    }
  }

  function clearTyping(author) {
    clearTimeout(typingTimers[authorKey(author)]);
    ui.typing.textContent = "";
  }

  function upload() {
    var file = ui.file.files && ui.file.files[0];
    ui.file.value = "";
    if (!file || !conversationId) return;
    var form = new FormData();
    form.append("file", file);
    form.append("visitor_token", saved.token || "");
    form.append("client_id", newId());
    fetch(base + "/api/chat/conversations/" + encodeURIComponent(conversationId) + "/attachments", {
      method: "POST",
      body: form
    }).then(function (response) {
      if (response.status === 413) ui.status.textContent = t("too_large");
    });
  }

  function start() {
    var query = locale ? "?locale=" + encodeURIComponent(locale) : "";
    fetch(base + "/api/chat/widget/strings" + query)
      .then(function (response) { return response.json(); })
      .then(function (loaded) { texts = loaded; label(); })
      .catch(function () { /* the keys stand in until the server answers */ });
    build();
    connect();
    if (script.getAttribute("data-open") === "true") toggle(true);
  }

  window.mindframeChat = { open: function () { toggle(true); } };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
