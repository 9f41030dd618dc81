// Case files shared by the teacher's profile page and the student's sidebar: labels,
// sizes and the download link. Names are always rendered as text.

import { el } from "./dom.js";

const TYPE_LABELS = {
  "application/pdf": "PDF",
  "image/png": "PNG image",
  "image/jpeg": "JPEG image",
  "image/gif": "GIF image",
  "image/webp": "WebP image",
  "text/plain": "Text",
};

export function typeLabel(contentType) {
  return TYPE_LABELS[contentType] || contentType;
}

/** 1234567 -> "1.2 MB" (decimal units, as file managers show them). */
export function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/**
 * A link that downloads the file: the server answers `Content-Disposition: attachment`
 * with the exact name (RFC 6266 filename*), so the browser saves it under that name.
 */
export function downloadLink(href, file) {
  return el("a", {
    href,
    download: file.filename,
    class: "file-link",
    "aria-label": `Download ${file.filename}`,
    text: file.filename,
  });
}
