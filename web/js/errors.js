// Human words for the session socket's `error` codes (docs/protocol.md, "Error codes"):
// every ErrorCode has words for both audiences (tests/realtime/unit/test_rt_vocabulary.py
// checks). The server's own message is the fallback for a code this page does not know.

import { ErrorCode } from "./vocabulary.js";

const COMMON = {
  [ErrorCode.REPLY_IN_PROGRESS]: "The client is still answering. Wait for the reply to finish (or press Stop reply), then send again.",
  [ErrorCode.NOTHING_TO_STOP]: "There is no reply to stop: it has already finished.",
  [ErrorCode.RATE_LIMITED]: "You are sending messages too quickly. Wait a few seconds, then send again.",
  [ErrorCode.TEXT_TOO_LONG]: "That message is too long (at most 4,000 characters). Shorten it and send again.",
  [ErrorCode.ILLEGAL_TRANSITION]: "That is not possible in the session's current state.",
  [ErrorCode.CONFLICT]: "The session changed at the same moment. Try again.",
  [ErrorCode.BAD_JSON]: "The browser sent something the server could not read. Reload the page.",
  [ErrorCode.UNKNOWN_TYPE]: "The browser asked for something the server does not know. Reload the page to get the current version.",
  [ErrorCode.INVALID]: "The server could not accept that message. Reload the page if this repeats.",
  [ErrorCode.TOO_LARGE]: "That message is too large to send.",
  [ErrorCode.UNAVAILABLE]: "The server could not do that just now. Try again in a moment.",
  [ErrorCode.BUSY]: "The client is answering many students right now. Send again in a few seconds.",
};

const STUDENT = {
  ...COMMON,
  [ErrorCode.NOT_ACTIVE]: "The session is not active right now, so nothing was sent.",
  [ErrorCode.BUDGET_EXHAUSTED]: "The session's token budget is used up, so the client cannot answer any more. Your teacher can extend the session.",
  [ErrorCode.MONTHLY_CAP_REACHED]: "Your teacher's monthly allowance for AI replies is used up, so the client cannot answer now. Please tell your teacher.",
  [ErrorCode.FORBIDDEN]: "That is not allowed in this session.",
};

const TEACHER = {
  ...COMMON,
  [ErrorCode.NOT_ACTIVE]: "The session has ended, so the whisper was not sent.",
  [ErrorCode.BUDGET_EXHAUSTED]: "The session's token budget is used up. Extend it to let the conversation go on.",
  [ErrorCode.MONTHLY_CAP_REACHED]: "Your monthly cap (tokens or cost) is reached: no new replies until it renews. An administrator can raise your cap on the admin page.",
  [ErrorCode.FORBIDDEN]: "Teachers can whisper, pause, resume and end; only the student talks to the client.",
};

/**
 * The message to show for an `error` frame.
 * @param {{code?: string, message?: string}} event
 * @param {"student"|"teacher"} audience
 */
export function socketErrorText(event, audience = "student") {
  const table = audience === "teacher" ? TEACHER : STUDENT;
  const code = event?.code;
  return (typeof code === "string" && Object.hasOwn(table, code) && table[code]) || event?.message || "The server refused that.";
}
