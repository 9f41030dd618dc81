// Human words for the session socket's `error` codes (docs/protocol.md, "Error codes").
// The server's own message is the fallback for codes not listed here.

const COMMON = {
  reply_in_progress: "The client is still answering. Wait for the reply to finish (or press Stop reply), then send again.",
  nothing_to_stop: "There is no reply to stop: it has already finished.",
  rate_limited: "You are sending messages too quickly. Wait a few seconds, then send again.",
  text_too_long: "That message is too long (at most 4,000 characters). Shorten it and send again.",
  illegal_transition: "That is not possible in the session's current state.",
  conflict: "The session changed at the same moment. Try again.",
  bad_json: "The browser sent something the server could not read. Reload the page.",
  invalid: "The server could not accept that message. Reload the page if this repeats.",
  too_large: "That message is too large to send.",
};

const STUDENT = {
  ...COMMON,
  not_active: "The session is not active right now, so nothing was sent.",
  budget_exhausted: "The session's token budget is used up, so the client cannot answer any more. Your teacher can extend the session.",
  monthly_cap_reached: "Your teacher's monthly allowance for AI replies is used up, so the client cannot answer now. Please tell your teacher.",
  forbidden: "That is not allowed in this session.",
};

const TEACHER = {
  ...COMMON,
  not_active: "The session has ended, so the whisper was not sent.",
  budget_exhausted: "The session's token budget is used up. Extend it to let the conversation go on.",
  monthly_cap_reached: "Your monthly token cap is reached: no new replies until it renews. An administrator can raise TEACHER_MONTHLY_TOKEN_CAP.",
  forbidden: "Teachers can whisper, pause, resume and end; only the student talks to the client.",
};

/**
 * The message to show for an `error` frame.
 * @param {{code?: string, message?: string}} event
 * @param {"student"|"teacher"} audience
 */
export function socketErrorText(event, audience = "student") {
  const table = audience === "teacher" ? TEACHER : STUDENT;
  return table[event?.code] || event?.message || "The server refused that.";
}
