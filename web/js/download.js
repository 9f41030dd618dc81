// Download a file from the API by fetching it first, so that an error (401, 422
// too_many_sessions) becomes a message on the page instead of a broken download.

import { ApiError } from "./api.js";
import { el } from "./dom.js";

/** `attachment; filename="x.zip"` -> "x.zip" (our server sends the quoted form). */
function attachmentName(header) {
  const match = /filename="([^"]+)"/.exec(header || "");
  return match ? match[1] : null;
}

/**
 * Fetch `path` and hand it to the browser as a download.
 * Resolves with the file name; rejects with ApiError (status 0 when offline).
 */
export async function downloadFile(path, fallbackName) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin" });
  } catch {
    throw new ApiError(0, { error: { code: "network", message: "Cannot reach the server. Check your connection and try again." } });
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, body, response.headers);
  }
  const blob = await response.blob();
  const name = attachmentName(response.headers.get("content-disposition")) || fallbackName;
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The click has handed the blob to the download manager; free it a little later.
  setTimeout(() => URL.revokeObjectURL(url), 30000);
  return name;
}
