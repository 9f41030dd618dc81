// Formatting of times, numbers, statuses and end reasons for display.

const numberFormat = new Intl.NumberFormat("en");

export function formatNumber(n) {
  return numberFormat.format(Math.round(n));
}

/** 75 -> "1:15", 3725 -> "1:02:05"; negative clamps to 0. */
export function formatClock(seconds) {
  const total = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

/** 1800 -> "30 min", 5400 -> "1 h 30 min", 45 -> "45 s". */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.round((total % 3600) / 60);
  if (!h) return `${m} min`;
  return m ? `${h} h ${m} min` : `${h} h`;
}

export function formatDateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export const STATUS_LABELS = {
  created: "Not started",
  active: "Active",
  paused: "Paused",
  completed: "Completed",
  expired: "Expired",
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || String(status || "Unknown");
}

/** Why a session ended, in words, for the student ("you") or the teacher ("the student"). */
export function endReasonText(status, reason, audience = "student") {
  const you = audience === "student";
  switch (reason) {
    case "time":
      return "The time for this session ran out.";
    case "tokens":
      return "The session used up its token budget (the amount of conversation it allows).";
    case "idle":
      return you
        ? "The session ended because nothing happened for a long while."
        : "The session ended after a long time without activity.";
    case "teacher":
      return you ? "Your teacher ended the session." : "A teacher ended the session.";
    case "student":
      return you ? "You ended the session." : "The student ended the session.";
    case "restarted":
      return you
        ? "This attempt ended because a new attempt started."
        : "This attempt ended when the session was restarted.";
    default:
      if (status === "expired") return "The session's time or token budget ran out.";
      return "The session is over.";
  }
}
