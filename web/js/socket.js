// One session socket with resume: GET /ws/sessions/{id}?after=<last seq seen>.
//
// Invariants (see realtime/protocol.py and docs/protocol.md):
// - every sequenced event carries a per-session seq; `cursor` is the highest seq handled;
//   an event at or below the cursor was already handled and is dropped (no duplicates);
// - a connection opened without `after` starts with `welcome` (cursor = welcome.last_seq)
//   followed by the history messages (seq <= last_seq), which are handed on as history;
// - a reconnect asks for `after=cursor` and gets exactly the missed events; if the server
//   answers `resume.failed`, we reconnect fresh and the page rebuilds from the welcome;
// - a `say` keeps its client_id until echoed back as a `message`; it is re-sent with the
//   same client_id on every new connection (the server deduplicates by client_id).

import { ClientType, CloseCode, ErrorCode, EventType } from "./vocabulary.js";

/** Close codes after which reconnecting cannot help (REVOKED: the link or login that let
 * this socket in was revoked). A handshake the server refuses (auth, not found, origin)
 * reaches the page as 1006, like a network error: see onFailing. */
const FINAL_CLOSE_CODES = new Set([CloseCode.ABUSE, CloseCode.REVOKED, CloseCode.TOO_MANY_SOCKETS]);
/** Consecutive failed attempts after which the page is asked to check, over HTTP, whether
 * the session can still be joined (a refused handshake looks like a network error, 1006). */
const PROBE_AFTER_ATTEMPTS = 3;
/** Reconnect backoff: 0.5 s doubling to 8 s, with up to 30% jitter so a restarted server
 * is not hit by every client in the same millisecond. */
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 8000;
/** A ping every 15 s; with no frame at all for 40 s the connection is presumed dead
 * (the server sends budget ticks and pongs, so silence means a broken path). */
const PING_EVERY_MS = 15000;
const SILENCE_LIMIT_MS = 40000;
/** The server may still hold the reply lock for a moment after `reply.done`: a say that
 * meets `reply_in_progress` then is retried, 3 times at most, 300/600/900 ms apart. */
const BUSY_RETRIES = 3;
const BUSY_RETRY_MS = 300;
/** Error codes that refuse the latest say for good (nothing was stored). */
const SAY_REFUSALS = new Set([
  ErrorCode.REPLY_IN_PROGRESS, ErrorCode.NOT_ACTIVE, ErrorCode.RATE_LIMITED, ErrorCode.BUDGET_EXHAUSTED,
  ErrorCode.MONTHLY_CAP_REACHED, ErrorCode.TEXT_TOO_LONG, ErrorCode.INVALID, ErrorCode.FORBIDDEN,
  ErrorCode.BUSY,
]);
/** An `error` this soon after a say is taken as the answer to it (errors carry no id). */
const SAY_ANSWER_MS = 5000;

export const ConnectionState = Object.freeze({
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

function newClientId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; plain-http LAN deployments still get 122 bits.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class SessionSocket {
  /**
   * @param {string} sessionId
   * @param {object} handlers
   *   onWelcome(welcome, {fresh})  fresh=true: rebuild the view from this snapshot
   *   onEvent(event, {history})    a sequenced event, each exactly once, in seq order
   *   onError(event)               an unsequenced `error` frame from the server
   *   onSayRefused(clientId, text, event)  the server refused a say; it will not be re-sent
   *   onState(state, detail)       connection state changes (banner)
   *   onFailing(attempts)          reconnecting keeps failing: check the session over HTTP
   *   isReplying()                 optional: true while the page shows a reply streaming
   *                                (a `reply_in_progress` then is a real refusal, not the
   *                                moment after `reply.done`, and is not retried)
   */
  constructor(sessionId, handlers) {
    this.sessionId = sessionId;
    this.handlers = handlers;
    this.cursor = null; // highest seq handled; null = never welcomed (connect fresh)
    this.epoch = null;
    this.pending = new Map(); // client_id -> text, says not yet echoed as a message
    this.state = ConnectionState.CONNECTING;
    this.ws = null;
    this.fresh = false;
    this.attempt = 0;
    this.timers = { retry: null, ping: null, busy: null };
    this.lastSay = null;
    this.lastFrameAt = 0;
    this.stopped = false;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.drop("offline");
    this.onVisible = () => {
      if (document.visibilityState === "visible") this.checkAlive();
    };
  }

  start() {
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
    return this;
  }

  /** Close for good (leaving the page or the view). */
  close() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.clearTimers();
    if (this.ws) {
      this.detach(this.ws);
      this.ws.close(1000, "bye");
      this.ws = null;
    }
  }

  get isOpen() {
    return this.state === ConnectionState.OPEN;
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const base = `${scheme}//${location.host}/ws/sessions/${encodeURIComponent(this.sessionId)}`;
    if (this.cursor === null) return base;
    const params = new URLSearchParams({ after: String(this.cursor) });
    if (this.epoch) params.set("epoch", this.epoch);
    return `${base}?${params}`;
  }

  connect() {
    if (this.stopped) return;
    this.fresh = this.cursor === null;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => this.opened(ws);
    ws.onmessage = (frame) => this.received(ws, frame);
    ws.onclose = (event) => this.closed(ws, event);
    ws.onerror = () => {}; // onclose follows and decides
  }

  opened(ws) {
    if (ws !== this.ws) return;
    this.attempt = 0;
    this.lastFrameAt = Date.now();
    this.setState(ConnectionState.OPEN);
    this.timers.ping = setInterval(() => this.heartbeat(), PING_EVERY_MS);
    // Idempotent by client_id: safe even if the server already has some of these.
    for (const [clientId, text] of this.pending) {
      this.send({ type: ClientType.SAY, text, client_id: clientId });
    }
  }

  received(ws, frame) {
    if (ws !== this.ws) return;
    this.lastFrameAt = Date.now();
    let event;
    try {
      event = JSON.parse(frame.data);
    } catch {
      return; // not ours to interpret; the server never sends non-JSON
    }
    if (!event || typeof event.type !== "string") return;
    switch (event.type) {
      case EventType.WELCOME:
        this.welcomed(event);
        return;
      case EventType.RESUME_FAILED:
        // The asked-for point is gone: start over from a fresh snapshot. Never a silent gap.
        this.cursor = null;
        this.epoch = null;
        this.restart();
        return;
      case EventType.ERROR:
        this.refused(event);
        return;
      case EventType.PONG:
        return;
      default:
        if (typeof event.seq === "number") this.sequenced(event);
    }
  }

  welcomed(welcome) {
    if (this.fresh) {
      this.cursor = welcome.last_seq;
      this.epoch = welcome.epoch || null;
    } else if (welcome.epoch && this.epoch && welcome.epoch !== this.epoch) {
      // A welcome on a resumed connection from a rebuilt log: our cursor means nothing now.
      this.cursor = null;
      this.epoch = null;
      this.restart();
      return;
    }
    this.handlers.onWelcome?.(welcome, { fresh: this.fresh });
  }

  sequenced(event) {
    if (this.cursor !== null && event.seq <= this.cursor) {
      // Only history messages after a fresh welcome may be at or below the cursor.
      if (!(this.fresh && event.type === EventType.MESSAGE)) return;
      this.acknowledge(event);
      this.handlers.onEvent?.(event, { history: true });
      return;
    }
    this.cursor = event.seq;
    this.acknowledge(event);
    this.handlers.onEvent?.(event, { history: false });
  }

  acknowledge(event) {
    if (event.type !== EventType.MESSAGE || !event.client_id) return;
    this.pending.delete(event.client_id);
    if (this.lastSay?.clientId === event.client_id) this.lastSay = null;
  }

  /** An `error` frame: retry or give up the latest say if it was the one refused. */
  refused(event) {
    const say = this.lastSay;
    const recent = say && this.pending.has(say.clientId) && Date.now() - say.at < SAY_ANSWER_MS;
    const replying = Boolean(this.handlers.isReplying?.());
    if (recent && event.code === ErrorCode.REPLY_IN_PROGRESS && !replying && say.retries < BUSY_RETRIES) {
      say.retries += 1;
      say.at = Date.now();
      clearTimeout(this.timers.busy);
      this.timers.busy = setTimeout(() => {
        if (this.pending.has(say.clientId)) this.send({ type: ClientType.SAY, text: say.text, client_id: say.clientId });
      }, BUSY_RETRY_MS * say.retries);
      return;
    }
    if (recent && SAY_REFUSALS.has(event.code)) {
      this.pending.delete(say.clientId);
      this.lastSay = null;
      if (this.handlers.onSayRefused) {
        this.handlers.onSayRefused(say.clientId, say.text, event);
        return;
      }
    }
    this.handlers.onError?.(event);
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clearTimers();
    if (this.stopped) return;
    if (event.code === CloseCode.RELOAD) {
      // The server could not resume us (it sent resume.failed first): start over fresh.
      this.cursor = null;
      this.epoch = null;
    }
    if (FINAL_CLOSE_CODES.has(event.code)) {
      this.setState(ConnectionState.CLOSED, { code: event.code, reason: event.reason });
      return;
    }
    this.scheduleReconnect({ code: event.code, reason: event.reason });
  }

  /** Forget the current socket at once (it may be half-dead) and reconnect. */
  drop(why) {
    if (this.stopped || !this.ws) return;
    const ws = this.ws;
    this.detach(ws);
    this.ws = null;
    this.clearTimers();
    try {
      ws.close(4000, why);
    } catch {
      // already closing
    }
    this.scheduleReconnect({ reason: why });
  }

  /** Reconnect fresh (after resume.failed): the page rebuilds from the next welcome. */
  restart() {
    const ws = this.ws;
    if (ws) {
      this.detach(ws);
      this.ws = null;
      ws.close(1000, "reload");
    }
    this.clearTimers();
    this.setState(ConnectionState.RECONNECTING, { reason: "reload" });
    this.connect();
  }

  scheduleReconnect(detail) {
    this.setState(ConnectionState.RECONNECTING, detail);
    if (this.attempt + 1 >= PROBE_AFTER_ATTEMPTS) this.handlers.onFailing?.(this.attempt + 1);
    clearTimeout(this.timers.retry);
    const base = Math.min(BACKOFF_START_MS * 2 ** this.attempt, BACKOFF_MAX_MS);
    this.attempt += 1;
    const delay = base * (1 + Math.random() * 0.3);
    // Offline: the `online` event reconnects at once; the timer is only a fallback
    // because navigator.onLine is not trustworthy on every platform.
    this.timers.retry = setTimeout(() => this.connect(), navigator.onLine ? delay : BACKOFF_MAX_MS);
  }

  reconnectNow() {
    if (this.stopped || this.state !== ConnectionState.RECONNECTING) return;
    clearTimeout(this.timers.retry);
    this.attempt = 0;
    this.connect();
  }

  heartbeat() {
    if (!this.checkAlive()) return;
    this.send({ type: ClientType.PING });
  }

  checkAlive() {
    if (this.ws && this.state === ConnectionState.OPEN && Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS) {
      this.drop("silent");
      return false;
    }
    return true;
  }

  detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  }

  clearTimers() {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.retry);
    clearTimeout(this.timers.busy);
    this.timers.ping = this.timers.retry = this.timers.busy = null;
  }

  setState(state, detail = {}) {
    this.state = state;
    this.handlers.onState?.(state, detail);
  }

  /** Send a frame if connected; returns whether it went out. */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Send a student turn; it is kept and re-sent until echoed. Returns its client_id. */
  say(text) {
    const clientId = newClientId();
    this.pending.set(clientId, text);
    this.lastSay = { clientId, text, at: Date.now(), retries: 0 };
    this.send({ type: ClientType.SAY, text, client_id: clientId });
    return clientId;
  }

  stopReply(replyId) {
    return this.send(replyId ? { type: ClientType.STOP, reply_id: replyId } : { type: ClientType.STOP });
  }

  /** @param {string} type  ClientType.PAUSE, RESUME or END */
  control(type) {
    return this.send({ type });
  }

  whisper(text) {
    return this.send({ type: ClientType.WHISPER, text });
  }
}
