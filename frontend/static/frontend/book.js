// The appointment book on the desk page: @event-calendar (npm, served under /static/vendor/) fed by the
// desk's JSON feed (scheduling.book). Everything the book may do comes from the server: which doctors,
// which times are shaded, which appointments may be dragged, and (in the panel) which actions an
// appointment's state allows. Kept out of the markup: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  const root = document.getElementById("book");
  if (!root || !window.EventCalendar) return;
  const panel = document.getElementById("book-panel");
  const panelBody = document.getElementById("panel-body");
  const message = document.getElementById("book-message");
  const csrf = (document.body.getAttribute("hx-headers") || "").match(/"X-CSRFToken": "([^"]+)"/);
  const week = root.dataset.view === "week";
  const REFRESH_MS = 10000;
  let calendar = null;
  let shape = "";
  let busy = false; // a drag, or a move on its way to the server: no refresh under the user's hand
  let focusId = root.dataset.focus || null; // an appointment to focus once shown (the search's link)

  // The calendar marks its grid up as an ARIA table whose cells hold free-standing events and a toolbar,
  // which a table may not contain (axe: aria-required-children). Its layout is kept; the table roles go,
  // and each appointment is its own labelled, focusable button. Re-renders put them back: watched.
  const TABLE_ROLES = ["table", "grid", "row", "rowgroup", "columnheader", "rowheader", "cell", "gridcell"];
  const TABLE_ATTRS = ["aria-colindex", "aria-rowindex", "aria-colspan", "aria-rowspan"];
  function plain(el) {
    if (TABLE_ROLES.includes(el.getAttribute("role"))) el.removeAttribute("role");
    TABLE_ATTRS.forEach(function (name) { if (el.hasAttribute(name)) el.removeAttribute(name); });
  }
  function untable(node) {
    if (node.nodeType !== 1) return;
    plain(node);
    node.querySelectorAll("[role], [aria-colindex], [aria-rowindex], [aria-colspan]").forEach(plain);
  }
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      if (change.type === "attributes") untable(change.target);
      else change.addedNodes.forEach(untable);
    });
  }).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ["role"].concat(TABLE_ATTRS) });

  // What a drag, a new length or an undo did: said over the page's foot (it does not push the book
  // down), until the next message or Dismiss.
  function say(text, refused) {
    message.textContent = text;
    message.classList.toggle("alert", !!refused);
    message.classList.toggle("notice", !refused && !!text);
    message.setAttribute("role", refused ? "alert" : "status");
    if (!text) return;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "secondary book-dismiss";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", function () { say("", false); });
    message.append(" ", dismiss);
  }

  function wallClock(date) {
    // The calendar runs in the branch's UTC offset (the feed's timeZone); its dates read in UTC give
    // the branch's wall clock, which is what the server expects back.
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T` +
      `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:00`;
  }

  async function load(background) {
    const headers = { Accept: "application/json" };
    if (background) headers["X-Clinicflow-Background"] = "1"; // a refresh is not the person's activity
    const response = await fetch(root.dataset.feed, { headers: headers, credentials: "same-origin" });
    if (response.redirected || !response.ok) {
      window.location.reload(); // signed out, or gone: the page says why
      throw new Error("feed " + response.status);
    }
    return response.json();
  }

  function applyShape(feed) {
    // Doctors and hours change rarely (a shift edited, a doctor added): set them only when they did.
    const next = JSON.stringify([feed.resources, feed.slotMinTime, feed.slotMaxTime, feed.timeZone]);
    if (next === shape || !calendar) return;
    shape = next;
    calendar.setOption("slotMinTime", feed.slotMinTime);
    calendar.setOption("slotMaxTime", feed.slotMaxTime);
    if (!week) calendar.setOption("resources", feed.resources);
  }

  function content(info) {
    const props = info.event.extendedProps;
    const time = document.createElement("span");
    time.className = "ev-time";
    time.textContent = info.timeText;
    const who = document.createElement("strong");
    who.className = "ev-who";
    who.textContent = typeof info.event.title === "string" ? info.event.title : props.patient || "";
    const status = document.createElement("span");
    status.className = "ev-status";
    status.textContent = props.statusLabel || "";
    const line = document.createElement("span");
    line.className = "ev-line";
    const minutes = (info.event.end - info.event.start) / 60000;
    if (props.statusLabel && minutes <= 15) {
      // a short visit has room for one line: the name, then its status (the time is where it sits)
      who.classList.add("ev-compact");
      who.append(" ", status);
      return { domNodes: [who] };
    }
    if (week && props.statusLabel) {
      // a week's columns are narrow: the status comes first, so it is never the part cut off
      line.append(status);
    } else {
      line.append(time); // a shift block has no status: no stray separator after its hours
      if (props.statusLabel) line.append(" · ", status);
    }
    if (props.service) line.append(" · " + props.service);
    return { domNodes: [who, line] };
  }

  function mounted(info) {
    const props = info.event.extendedProps;
    if (props.kind !== "appointment") return; // a cancelled or missed one is drawn behind, yet opens
    const el = info.el;
    el.dataset.eventId = info.event.id;
    el.id = "event-" + info.event.id;
    el.tabIndex = 0;
    el.setAttribute("role", "button");
    el.setAttribute("aria-haspopup", "dialog");
    const said = `${info.timeText} ${props.patient}, ${props.statusLabel}` + (props.service ? `, ${props.service}` : "");
    el.setAttribute("aria-label", said + ". Enter opens it.");
    el.title = said; // what a narrow or short block cannot show, on hover
    el.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        openPanel(info.event.id, el);
      }
    });
    if (pendingFocus && pendingFocus === info.event.id) {
      // drawn anew by a refresh while it had the keyboard: it gets it back in the same task, so no
      // key pressed meanwhile falls on the page
      pendingFocus = null;
      el.focus({ preventScroll: true });
    }
    if (focusId && focusId === info.event.id) {
      focusId = null;
      el.classList.add("book-found");
      window.requestAnimationFrame(function () {
        centreInBook(el);
        el.focus({ preventScroll: true });
      });
    }
  }

  // Scroll the book's own grid so `el` is in its middle; the page itself stays where it is, so the
  // message at its top (what was just booked) stays in view.
  function centreInBook(el) {
    const grid = el.closest(".ec-main");
    if (!grid) return;
    const box = el.getBoundingClientRect();
    const frame = grid.getBoundingClientRect();
    grid.scrollTop += box.top - frame.top - (grid.clientHeight - box.height) / 2;
  }

  // Only the panel asked last is shown: an answer overtaken by a newer ask, or by the panel's closing,
  // is dropped (a slow one would otherwise open the panel again, or put another patient in it).
  let opener = null;
  let asked = 0;
  async function showPanel(url, from) {
    const mine = ++asked;
    opener = from || document.activeElement;
    const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    const html = await response.text();
    if (mine !== asked) return;
    panelBody.innerHTML = html;
    htmx.process(panelBody);
    if (!panel.open) panel.showModal();
    focusPanel();
  }

  // Focus goes into the panel when it opens, and stays there when an action answers with the panel
  // again: on its message (what the action did, or why not), else its heading.
  function focusPanel() {
    const target = panelBody.querySelector(".notice, .alert, .field-error") || panelBody.querySelector("#panel-title");
    if (!target) return;
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
  }

  // The desk's URLs, named by the page ({% url %} with 0 for the appointment): none written here.
  function urlOf(name, id) {
    return root.dataset[name].replace("/0/", `/${encodeURIComponent(id)}/`);
  }

  function openPanel(id, from) {
    return showPanel(urlOf("panelUrl", id), from);
  }

  panel.addEventListener("close", function () {
    asked += 1; // what is still on its way is for a panel that was closed
    panelBody.textContent = "";
    if (opener && document.contains(opener)) opener.focus();
    else if (opener && opener.dataset && opener.dataset.eventId) refocus(opener.dataset.eventId);
  });
  // An action in the panel answers with the panel again (its refusal in it): the book follows.
  panelBody.addEventListener("htmx:afterSwap", function () { refetch(); focusPanel(); });

  // A refresh draws the events anew: the appointment that has the keyboard when they are drawn (not
  // when the refresh began: it may have moved while the feed was on its way) gets it back as it is
  // mounted again (see mounted); one that is no longer on the book leaves it where it fell.
  let pendingFocus = null;
  function keepFocus() {
    const el = document.activeElement;
    pendingFocus = el && el.dataset && root.contains(el) ? el.dataset.eventId || null : null;
  }
  function refetch() {
    if (calendar) calendar.refetchEvents();
  }
  root.addEventListener("book:refresh", refetch);

  function refocus(id) {
    const el = id && root.querySelector(`[data-event-id="${CSS.escape(id)}"]`);
    if (el) el.focus({ preventScroll: true });
  }

  // A drag (a move, or a new end) is posted to the page, which asks the booking door; a refusal
  // snaps the appointment back and is said in place. A change that was saved can be undone: the
  // same door is asked to put it back (and may refuse, if the old time was taken meanwhile).
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf[1] : "", Accept: "application/json" },
    });
    const answer = await response.json().catch(function () { return { error: "The change was not saved." }; });
    return { ok: response.ok, answer: answer };
  }

  function offerUndo(url, body, patient) {
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "secondary book-undo";
    undo.textContent = "Undo";
    undo.setAttribute("aria-label", `Undo the change to ${patient}'s appointment`);
    undo.addEventListener("click", async function () {
      undo.disabled = true;
      busy = true;
      try {
        const done = await post(url, body);
        if (done.ok) say(`${patient}: undone. ${done.answer.message}`, false);
        else say(`Not undone: ${done.answer.error}`, true);
      } catch (e) {
        say("Not undone: the desk could not reach the server.", true);
      } finally {
        busy = false;
        refetch();
      }
    });
    const dismiss = message.querySelector(".book-dismiss");
    message.insertBefore(undo, dismiss);
    message.insertBefore(document.createTextNode(" "), dismiss);
  }

  async function send(info, url, body, refused, undoBody) {
    busy = true;
    const patient = info.event.extendedProps.patient;
    try {
      const done = await post(url, body);
      if (done.ok) {
        say(`${patient}: ${done.answer.message}`, false);
        offerUndo(url, undoBody, patient);
      } else {
        info.revert(); // snaps back: the booking door refused
        say(`${refused}: ${done.answer.error}`, true);
      }
    } catch (e) {
      info.revert();
      say(`${refused}: the desk could not reach the server.`, true);
    } finally {
      busy = false;
      refetch();
    }
  }

  function doctorOf(resource, event) {
    return resource ? resource.id : (event.resourceIds[0] || root.dataset.weekDoctor);
  }

  function drop(info) {
    const body = new URLSearchParams();
    body.set("start", wallClock(info.event.start));
    body.set("doctor", doctorOf(info.newResource, info.event));
    const back = new URLSearchParams();
    back.set("start", wallClock(info.oldEvent.start));
    back.set("doctor", doctorOf(info.oldResource, info.oldEvent));
    return send(info, urlOf("dropUrl", info.event.id), body, "Not moved", back);
  }

  function resize(info) {
    const body = new URLSearchParams();
    body.set("end", wallClock(info.event.end));
    const back = new URLSearchParams();
    back.set("end", wallClock(info.oldEvent.end));
    return send(info, urlOf("resizeUrl", info.event.id), body, "Length not changed", back);
  }

  function clickTime(info) {
    if (!root.dataset.canBook) return;
    const doctor = info.resource ? info.resource.id : root.dataset.weekDoctor;
    const params = new URLSearchParams({ doctor: doctor, start: wallClock(info.date) });
    showPanel(`${root.dataset.slotUrl}?${params}`, null);
  }

  load(false).then(function (first) {
    let feed = first;
    const clock = { hour: "2-digit", minute: "2-digit", hour12: false };
    calendar = EventCalendar.create(root, {
      view: week ? "timeGridWeek" : "resourceTimeGridDay",
      date: feed.date,
      timeZone: feed.timeZone,
      firstDay: 1,
      headerToolbar: { start: "", center: "", end: "" },
      allDaySlot: false,
      nowIndicator: true,
      slotDuration: "00:15",
      slotHeight: 28,
      slotMinTime: feed.slotMinTime,
      slotMaxTime: feed.slotMaxTime,
      scrollTime: feed.scrollTime,
      slotLabelFormat: clock,
      eventTimeFormat: clock,
      dayHeaderFormat: week ? { weekday: "short", day: "numeric", month: "short" } : { weekday: "long" },
      resources: week ? [] : feed.resources,
      editable: true,
      eventDurationEditable: false, // each event says (durationEditable): where its service allows another length
      eventStartEditable: true,
      eventContent: content,
      eventDidMount: mounted,
      eventClick: function (info) {
        // Enter and Space open it through mounted()'s own handler (the calendar's, which calls this
        // too, skips the freed ones drawn behind): once per key, not twice
        if (info.jsEvent && info.jsEvent.type === "keydown") return;
        if (info.event.extendedProps.kind === "appointment") openPanel(info.event.id, info.el);
      },
      dateClick: clickTime,
      eventDragStart: function () { busy = true; },
      eventDragStop: function () { busy = false; },
      eventDrop: drop,
      eventResizeStart: function () { busy = true; },
      eventResizeStop: function () { busy = false; },
      eventResize: resize,
      eventAllUpdated: function () { pendingFocus = null; }, // drawn: nobody left to give the keyboard back to
      eventSources: [{
        events: function (fetchInfo, success, failure) {
          // The first fetch is the feed already loaded; each refresh reads it again.
          const pending = feed ? Promise.resolve(feed) : load(true);
          feed = null;
          pending.then(function (data) { keepFocus(); applyShape(data); success(data.events); }).catch(failure);
        },
      }],
    });
    shape = JSON.stringify([first.resources, first.slotMinTime, first.slotMaxTime, first.timeZone]);
    // Live: the events are fetched again without redrawing the page; focus and scroll stay where they are.
    window.setInterval(function () {
      if (busy || panel.open || document.hidden) return;
      refetch();
    }, REFRESH_MS);
    root.dataset.ready = "1";
  }).catch(function (e) {
    say("The book could not be loaded. Reload the page.", true);
  });
})();
