// Status badge shared by every page.

import { setText } from "./dom.js";
import { statusLabel } from "./format.js";

const STATUSES = ["created", "active", "paused", "completed", "expired"];

export function showStatusBadge(badge, status) {
  badge.hidden = false;
  for (const known of STATUSES) badge.classList.toggle(`badge--${known}`, known === status);
  badge.dataset.status = status;
  setText(badge, statusLabel(status));
}
