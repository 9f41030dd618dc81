// The student's sidebar list of the case files their teacher made visible.

import { get } from "./api.js";
import { el } from "./dom.js";
import { downloadLink, formatBytes, typeLabel } from "./case-files.js";

/**
 * Fill `card` (a section with a `ul` inside) with the session's visible files; the card
 * stays hidden when there are none or they cannot be read (the chat works without them).
 */
export async function showCaseFiles(card, sessionId) {
  const base = `/api/student/sessions/${encodeURIComponent(sessionId)}/files`;
  let page;
  try {
    page = await get(base);
  } catch {
    return;
  }
  const list = card.querySelector("ul");
  list.replaceChildren(
    ...page.items.map((file) =>
      el("li", { class: "case-file" },
        downloadLink(`${base}/${encodeURIComponent(file.id)}`, file),
        el("span", { class: "muted small", text: ` ${typeLabel(file.content_type)}, ${formatBytes(file.size_bytes)}` }),
      ),
    ),
  );
  card.hidden = page.items.length === 0;
}
