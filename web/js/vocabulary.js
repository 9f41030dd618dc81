// The session socket's vocabulary: event types, client frame types, error codes, close
// codes, message roles and budget warnings. A copy of the server's realtime/vocabulary.py,
// which is the source; tests/realtime/unit/test_rt_vocabulary.py checks that this copy
// matches it member for member. Other modules name these members and never spell the values.

/** `type` of every server -> client frame. */
export const EventType = Object.freeze({
  // Sequenced (carry `seq`).
  MESSAGE: "message",
  REPLY_START: "reply.start",
  REPLY_DELTA: "reply.delta",
  REPLY_STOP: "reply.stop",
  REPLY_DONE: "reply.done",
  REPLY_ERROR: "reply.error",
  BUDGET: "budget",
  STATUS: "status",
  PRESENCE: "presence",
  // An event this page cannot read (a newer server's, mid-deploy): skipped.
  UNREADABLE: "unreadable",
  // For observers only (a student's socket never receives them).
  CLIENT_STATE: "client.state",
  DIRECTION: "direction",
  REPLY_FLAGGED: "reply.flagged",
  REPLY_USAGE: "reply.usage",
  // The session was restarted: its next attempt follows (students and observers).
  SESSION_RESTARTED: "session.restarted",
  // Addressed to one socket (no `seq`).
  WELCOME: "welcome",
  ERROR: "error",
  PONG: "pong",
  RESUME_FAILED: "resume.failed",
});

/** `type` of every client -> server frame. */
export const ClientType = Object.freeze({
  SAY: "say",
  STOP: "stop",
  PAUSE: "pause",
  RESUME: "resume",
  END: "end",
  WHISPER: "whisper",
  DIRECT: "direct",
  PING: "ping",
});

/** `code` of an `error` frame: why one client frame was refused. */
export const ErrorCode = Object.freeze({
  BAD_JSON: "bad_json",
  UNKNOWN_TYPE: "unknown_type",
  INVALID: "invalid",
  TOO_LARGE: "too_large",
  TEXT_TOO_LONG: "text_too_long",
  FORBIDDEN: "forbidden",
  RATE_LIMITED: "rate_limited",
  NOT_ACTIVE: "not_active",
  REPLY_IN_PROGRESS: "reply_in_progress",
  NOTHING_TO_STOP: "nothing_to_stop",
  BUDGET_EXHAUSTED: "budget_exhausted",
  MONTHLY_CAP_REACHED: "monthly_cap_reached",
  ILLEGAL_TRANSITION: "illegal_transition",
  CONFLICT: "conflict",
  UNAVAILABLE: "unavailable",
  BUSY: "busy",
});

/** WebSocket close codes the server sends after accepting a socket. */
export const CloseCode = Object.freeze({
  // Too many refused frames: reconnecting cannot help.
  ABUSE: 1008,
  // The server is restarting (or re-checking credentials): reconnect with `after`.
  RESTART: 1012,
  // What let this socket in was revoked (new join link, logout): do not reconnect.
  REVOKED: 4003,
  // The send queue stayed full too long: reconnect with `after`.
  TOO_SLOW: 4008,
  // `after` cannot be honoured (`resume.failed` came first): reconnect without it.
  RELOAD: 4009,
  // Too many open sockets for this user or address: close other tabs, then reload.
  TOO_MANY_SOCKETS: 4029,
});

/** Who wrote a `message` (also the `role` of a stored transcript's messages). */
export const MessageRole = Object.freeze({
  STUDENT: "student",
  CLIENT: "client",
  WHISPER: "whisper",
});

/** `warning` of a `budget` event. */
export const BudgetWarning = Object.freeze({
  TOKENS_LOW: "tokens_low",
  TIME_LOW: "time_low",
});
