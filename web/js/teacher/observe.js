// Live observer: a grid of sessions, each with its transcript over the WebSocket, budget
// meters, presence, a whisper box, the client's state (trust chart, hidden facts, flagged
// replies), private directions to the client and Pause/Resume/End. One tile opens full size.

import { get } from "../api.js";
import { BudgetMeters } from "../budget.js";
import { el, setText } from "../dom.js";
import { socketErrorText } from "../errors.js";
import { endReasonText } from "../format.js";
import { ConnectionState, SessionSocket } from "../socket.js";
import { showStatusBadge } from "../status.js";
import { Transcript } from "../transcript.js";
import { ClientType, EventType } from "../vocabulary.js";
import { toast } from "../toast.js";
import { actionButton, allowed, canRestart, restartButton } from "./actions.js";
import { auditEvent, ClientStatePanel, emptyClientState, foldClientState, markFlaggedReplies } from "./client-state.js";

const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** More tiles than this are unreadable and cost a socket each. */
const MAX_TILES = 12;
/** A fresh connection seeds the client state from the audit trail, which trails the live
 * log by the flush interval (0.25 s by default): a second read this much later catches
 * what was still in flight at the first. */
const RESEED_AFTER_MS = 2500;
/** Observers-only events: they feed the client-state panel, not the transcript. */
const CLIENT_EVENTS = new Set([EventType.CLIENT_STATE, EventType.DIRECTION, EventType.REPLY_FLAGGED]);

export function renderObserve(view, ids, ctx, { single = false } = {}) {
  view.classList.add("wide");
  if (!ids.length) {
    renderPicker(view, ctx);
    return undefined;
  }
  const grid = el("div", { class: single ? "observe-grid single" : "observe-grid" });
  view.append(
    el("div", { class: "view-head" },
      el("h1", { text: single ? "Observe session" : `Observing ${plural(Math.min(ids.length, MAX_TILES), "session")}` }),
      el("a", { class: "button", href: single ? "#/observe" : "#/sessions", text: single ? "All live sessions" : "Back to sessions" }),
    ),
    grid,
  );
  const tiles = ids.slice(0, MAX_TILES).map((id) => observeTile(grid, id, ctx, single));
  return () => tiles.forEach((close) => close());
}

async function renderPicker(view, ctx) {
  view.append(el("div", { class: "view-head" }, el("h1", { text: "Observe" })));
  const alert = el("div", { class: "alert alert--error", role: "alert" });
  view.append(alert);
  let page;
  try {
    page = await get("/api/sessions?status=active,paused,created&limit=200");
  } catch (error) {
    if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
    setText(alert, error.message);
    return;
  }
  if (!ctx.alive()) return;
  if (!page.items.length) {
    view.append(el("p", { class: "card empty", text: "No live sessions right now." }));
    return;
  }
  const boxes = page.items.map((s) => {
    const box = el("input", { type: "checkbox", value: s.id, checked: s.status === "active" });
    return el("label", {}, box, `${s.student_name} (${s.status})`);
  });
  const form = el("form", { class: "card" },
    el("fieldset", {}, el("legend", { text: "Sessions to watch" }), el("div", { class: "picker" }, boxes)),
    el("button", { type: "submit", class: "primary", text: "Observe" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll("input:checked")].map((box) => ["id", box.value]);
    if (!chosen.length) {
      setText(alert, "Choose at least one session.");
      return;
    }
    ctx.navigate(`#/observe?${new URLSearchParams(chosen)}`);
  });
  view.append(form);
}

/** One observed session; returns its cleanup. */
function observeTile(grid, id, ctx, single) {
  const titleId = `tile-${id}`;
  const heading = el("h2", { id: titleId, text: "Loading…" });
  const badge = el("span", { class: "badge" });
  const presence = el("span", { class: "tile__presence" }, el("span", { class: "dot" }), el("span", { text: "Student offline" }));
  const conn = el("p", { class: "tile__conn", role: "status" });
  const notice = el("p", { class: "small field-error", role: "alert" });
  const meterBox = el("div", { class: "meters" });
  const list = el("ol", { class: "transcript", role: "log", "aria-live": "off", "aria-labelledby": titleId });
  const whisperInput = el("input", { type: "text", id: `whisper-${id}`, maxlength: "4000", placeholder: "Whisper a hint…", autocomplete: "off" });
  const whisperForm = el("form", { class: "whisper-form", novalidate: true },
    el("label", { for: `whisper-${id}`, class: "visually-hidden", text: "Whisper a hint to the student" }),
    whisperInput,
    el("button", { type: "submit", text: "Whisper" }),
  );
  const directInput = el("input", {
    type: "text", id: `direct-${id}`, maxlength: "4000", autocomplete: "off",
    placeholder: "e.g. Be more guarded about work", "aria-describedby": `direct-help-${id}`,
  });
  const directForm = el("form", { class: "direct-form", novalidate: true },
    el("label", { for: `direct-${id}`, text: "Direct the client" }),
    el("div", { class: "direct-form__row" }, directInput, el("button", { type: "submit", text: "Direct" })),
    el("p", { id: `direct-help-${id}`, class: "hint small", text: "Only the virtual client sees this; the student never does." }),
  );
  const controls = el("div", { class: "button-row" });
  const clientBox = el("div", { class: "tile__client" });
  const tile = el("section", { class: "card tile", "aria-labelledby": titleId, dataset: { sessionId: id } },
    el("div", { class: "tile__head" }, heading, badge),
    presence,
    conn,
    meterBox,
    el("div", { class: "tile__body" }, el("div", { class: "tile__talk" }, list, whisperForm), clientBox),
    controls,
    notice,
  );
  grid.append(tile);
  const panel = new ClientStatePanel(clientBox, { idPrefix: `obs-${id}`, extra: directForm });
  let clientState = emptyClientState();
  let seedTimer = null;
  let seedGeneration = 0;

  // Each warning is announced once, naming the student (several tiles share the region).
  const meters = new BudgetMeters(meterBox, `obs-${id}`, {
    onWarning: (text) => ctx.announce(`${session?.student_name || "A session"}: ${text}`),
  });
  let session = null;
  let socket = null;
  let closed = false;
  const transcript = new Transcript(list, { whisperLabel: "Whisper", announce: () => {} });
  const replyNode = (replyId) => list.querySelector(`.msg[data-reply-id="${CSS.escape(replyId)}"]`);

  function foldClient(event) {
    const next = foldClientState(clientState, event);
    if (next === clientState) return;
    clientState = next;
    panel.draw(clientState);
    markFlaggedReplies(clientState, replyNode);
  }

  /** Earlier client states, directions and flags: a fresh connection's history has only
   * messages (the fold ignores what it already has, so overlapping the live events is fine). */
  async function seedClientState(generation) {
    try {
      const { items } = await get(`/api/sessions/${encodeURIComponent(id)}/events`);
      if (closed || generation !== seedGeneration) return;
      for (const row of items) foldClient(auditEvent(row));
    } catch {
      // The live events still draw; only the history before this connection is missing.
    }
  }

  const onDone = (updated) => {
    session = updated;
    setText(notice, "");
    setStatus(updated.status, updated.end_reason);
  };
  // A failed action says so in its toast (actions.js), not in the tile.
  const buttons = ["pause", "resume", "end"].map((action) => actionButton(action, () => session, { onDone }));
  // The tile follows the new attempt when its `session.restarted` event arrives.
  const restart = restartButton(() => session);
  controls.append(...buttons, restart);
  if (!single) controls.append(el("a", { class: "button", href: `#/observe/${id}`, text: "Open full size" }));
  controls.append(el("a", { class: "button", href: `#/sessions/${id}`, text: "Review" }));

  function setStatus(status, reason) {
    showStatusBadge(badge, status);
    meters.setStatus(status);
    for (const button of buttons) button.hidden = !allowed(button.dataset.action, status);
    restart.hidden = !session || !canRestart({ ...session, status });
    whisperInput.disabled = status === "completed" || status === "expired";
    directInput.disabled = whisperInput.disabled;
    if (status === "completed" || status === "expired") setText(conn, endReasonText(status, reason, "teacher"));
  }

  function setPresence({ student_online, observers }) {
    presence.classList.toggle("is-online", Boolean(student_online));
    const watching = observers ? ` · ${observers} observer(s)` : "";
    setText(presence.lastChild, `${student_online ? "Student online" : "Student offline"}${watching}`);
  }

  whisperForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = whisperInput.value.trim();
    if (!text) return;
    if (!socket?.whisper(text)) {
      setText(notice, "Not connected; the whisper was not sent.");
      return;
    }
    setText(notice, "");
    whisperInput.value = "";
  });

  directForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = directInput.value.trim();
    if (!text) return;
    // Listed once the server's `direction` event comes back, so the list is what was logged.
    if (!socket?.send({ type: ClientType.DIRECT, text })) {
      setText(notice, "Not connected; the direction was not sent.");
      return;
    }
    setText(notice, "");
    directInput.value = "";
  });

  /** The session was restarted (here or anywhere): watch its next attempt instead, in
   * this tile's place (the others keep theirs). */
  function followAttempt(event) {
    if (closed) return;
    const name = session?.student_name || "The student";
    toast(`${name}'s session was restarted: now observing attempt ${event.attempt}.`, { kind: "info" });
    const next = event.next_session_id;
    if (single) {
      ctx.navigate(`#/observe/${encodeURIComponent(next)}`);
      return;
    }
    const ids = ctx.query.getAll("id").map((one) => (one === id ? next : one));
    ctx.navigate(`#/observe?${new URLSearchParams(ids.map((one) => ["id", one]))}`);
  }

  (async () => {
    try {
      session = await get(`/api/sessions/${encodeURIComponent(id)}`);
      const profile = await get(`/api/profiles/${session.profile_id}`).catch(() => null);
      if (closed) return;
      setText(heading, session.student_name);
      transcript.studentName = session.student_name;
      transcript.setClientName(profile?.name || "Client");
      meters.setSnapshot(session);
      setStatus(session.status, session.end_reason);
    } catch (error) {
      if (closed) return;
      setText(heading, "Session");
      setText(notice, error.message);
      return;
    }
    socket = new SessionSocket(id, {
      onWelcome(welcome, { fresh }) {
        if (fresh) {
          transcript.clear();
          transcript.restoreStreaming(welcome.streaming);
          clientState = emptyClientState();
          panel.draw(clientState);
          foldClient(welcome.client_state);
          const generation = ++seedGeneration;
          seedClientState(generation);
          clearTimeout(seedTimer);
          seedTimer = setTimeout(() => seedClientState(generation), RESEED_AFTER_MS);
        }
        meters.setBudget(welcome.budget || {});
        setPresence(welcome.presence || {});
        setStatus(welcome.status);
      },
      onEvent(event) {
        if (event.type === EventType.BUDGET) meters.setBudget(event);
        else if (event.type === EventType.STATUS) setStatus(event.status, event.reason);
        else if (event.type === EventType.PRESENCE) setPresence(event);
        else if (event.type === EventType.SESSION_RESTARTED) followAttempt(event);
        else if (CLIENT_EVENTS.has(event.type)) foldClient(event);
        else {
          const entry = transcript.apply(event);
          // History and live messages alike: flag badges find a reply by its id.
          if (entry?.node && event.reply_id) entry.node.dataset.replyId = event.reply_id;
          foldClient(event);
          if (event.reply_id && clientState.flags.has(event.reply_id)) markFlaggedReplies(clientState, replyNode);
        }
      },
      onError(event) {
        setText(notice, socketErrorText(event, "teacher"));
      },
      onState(state) {
        if (state === ConnectionState.OPEN) setText(conn, "");
        else if (state === ConnectionState.RECONNECTING) setText(conn, "Connection lost. Reconnecting…");
        else if (state === ConnectionState.CLOSED) setText(conn, "Cannot watch this session.");
      },
    }).start();
  })();

  return () => {
    closed = true;
    clearTimeout(seedTimer);
    socket?.close();
    meters.destroy();
  };
}
