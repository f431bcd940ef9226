/* The Vivere live board: keep the server-rendered lists current from Vivere's channels.
   WebSocket first ({prefix}events/ws); if it cannot open, Server-Sent Events
   ({prefix}events/sse). Reconnects resume after the last event seen. The
   announcement form posts with fetch (the new announcement arrives on the channel);
   without this script it is a plain form. */
"use strict";
(function () {
  const status = document.getElementById("live-status");
  if (!status || !window.ngshare) return;
  const channels = status.dataset.channels.split(",");
  const MAX_RETRY_SECONDS = 30;
  let lastId = null;
  let retrySeconds = 1;
  let useSse = typeof WebSocket === "undefined";

  function shortTime(iso) { return iso ? iso.replace("T", " ").slice(0, 16) : ""; }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function toggleEmpty(listId, emptyId) {
    document.getElementById(emptyId).hidden = document.getElementById(listId).children.length > 0;
  }

  function flash(node) { node.classList.add("fresh"); }

  // -- announcements ---------------------------------------------------------
  function announcementItem(a) {
    const li = el("li", { "data-id": a.id });
    li.append(el("time", { datetime: a.time }, shortTime(a.time)), " ", el("span", { class: "message" }, a.message));
    return li;
  }
  function onAnnouncement(name, a) {
    const list = document.getElementById("announcements");
    const old = list.querySelector(`li[data-id="${CSS.escape(a.id)}"]`);
    if (name === "announcement.deleted") { if (old) old.remove(); }
    else if (old) { old.replaceWith(announcementItem(a)); }
    else { const li = announcementItem(a); list.prepend(li); flash(li); }
    toggleEmpty("announcements", "no-announcements");
  }

  // -- mentorship queue ------------------------------------------------------
  function ticketItem(t, state) {
    const li = el("li", { "data-id": t.id, "data-state": state });
    li.append(el("span", { class: "tag state" }, state), " ",
      el("span", { class: "description" }, t.description), " ",
      el("span", { class: "muted" }, `· ${t.location} · ${shortTime(t.time_created)}`));
    return li;
  }
  function onTicket(name, t) {
    const list = document.getElementById("queue");
    const old = list.querySelector(`li[data-id="${CSS.escape(t.id)}"]`);
    if (name === "ticket.closed" || name === "ticket.expired") { if (old) old.remove(); }
    else {
      const state = name === "ticket.claimed" ? "claimed" : "open";
      const li = ticketItem(t, state);
      if (old) old.replaceWith(li); else list.append(li);
      flash(li);
    }
    toggleEmpty("queue", "no-tickets");
  }

  // -- schedule --------------------------------------------------------------
  function onSchedule(name, e) {
    if (!name.startsWith("event.")) {
      status.textContent = "The schedule changed: reload the page to see it.";
      return;
    }
    const body = document.querySelector("#events tbody");
    const old = body.querySelector(`tr[data-id="${CSS.escape(e.id)}"]`);
    if (name === "event.deleted") { if (old) old.remove(); return; }
    const tr = el("tr", { "data-id": e.id });
    tr.append(el("td", { "data-sort": e.start_time }, shortTime(e.start_time)), el("td", {}, shortTime(e.end_time)),
      el("td", {}, e.short_description), el("td", {}, e.location ? e.location.name : ""));
    if (old) old.replaceWith(tr); else body.append(tr);
    flash(tr);
  }

  function dispatch(message) {
    if (message.id !== null && message.id !== undefined) lastId = message.id;
    const name = message.event || "";
    if (name.startsWith("announcement.")) onAnnouncement(name, message.data);
    else if (name.startsWith("ticket.")) onTicket(name, message.data);
    else if (name.startsWith("event.") || name.startsWith("location.") || name === "times.updated") onSchedule(name, message.data);
  }

  function streamUrl(kind) {
    const query = new URLSearchParams();
    channels.forEach(function (c) { query.append("channel", c); });
    if (lastId !== null) query.set("last_event_id", String(lastId));
    if (window.ngshare.devUser) query.set("user", window.ngshare.devUser);
    return `${window.ngshare.prefix}events/${kind}?${query}`;
  }

  function retryLater() {
    status.textContent = `Connection lost: trying again in ${retrySeconds} s.`;
    setTimeout(connect, retrySeconds * 1000);
    retrySeconds = Math.min(retrySeconds * 2, MAX_RETRY_SECONDS);
  }

  function connectSse() {
    const source = new EventSource(streamUrl("sse"), { withCredentials: true });
    source.onopen = function () { retrySeconds = 1; status.textContent = "Live (Server-Sent Events)"; status.dataset.transport = "sse"; };
    source.onmessage = function (e) { dispatch(JSON.parse(e.data)); };
    const names = ["ticket.created", "ticket.claimed", "ticket.reopened", "ticket.closed", "ticket.expired",
      "announcement.created", "announcement.updated", "announcement.deleted", "event.created", "event.updated",
      "event.deleted", "location.created", "location.updated", "location.deleted", "times.updated"];
    names.forEach(function (n) { source.addEventListener(n, function (e) { dispatch(JSON.parse(e.data)); }); });
    source.onerror = function () { source.close(); retryLater(); };
  }

  function connect() {
    if (useSse) { connectSse(); return; }
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + window.location.host + streamUrl("ws"));
    let opened = false;
    socket.onopen = function () { opened = true; retrySeconds = 1; status.textContent = "Live (WebSocket)"; status.dataset.transport = "ws"; };
    socket.onmessage = function (e) { dispatch(JSON.parse(e.data)); };
    socket.onclose = function () {
      if (!opened) { useSse = true; connect(); return; } // blocked on the way: try SSE
      retryLater();
    };
  }

  // -- the announcement form -------------------------------------------------
  const form = document.getElementById("announce");
  if (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const error = document.getElementById("announce-error");
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const answer = await window.ngshare.post("vivere/board/announcements", { message: form.message.value });
        if (answer.ok) { form.reset(); error.hidden = true; }
        else { error.textContent = `Not posted (error ${answer.status}).`; error.hidden = false; }
      } catch (e) {
        error.textContent = "Not posted: the server could not be reached."; error.hidden = false;
      } finally { button.disabled = false; }
    });
  }

  connect();
})();
