// The case files of one client profile: upload (with the students' visibility), list,
// download and delete. Shown under the profile's edit form.

import { ApiError, del, get } from "../api.js";
import { downloadLink, formatBytes, typeLabel } from "../case-files.js";
import { confirmDialog } from "../dialog.js";
import { el, setText } from "../dom.js";
import { busy } from "./forms.js";

async function upload(profileId, file, visible) {
  const body = new FormData();
  body.append("file", file);
  body.append("visible_to_students", visible ? "true" : "false");
  let response;
  try {
    response = await fetch(`/api/profiles/${encodeURIComponent(profileId)}/files`, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body,
    });
  } catch {
    throw new ApiError(0, { error: { code: "network", message: "Cannot reach the server. Check your connection and try again." } });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data, response.headers);
  return data;
}

export function profileFilesSection(profileId, ctx) {
  const alert = el("p", { class: "alert alert--error", role: "alert", hidden: true });
  const input = el("input", { type: "file", id: "case-file-input", name: "file", required: true,
    accept: ".pdf,.png,.jpg,.jpeg,.gif,.webp,.txt,application/pdf,image/*,text/plain" });
  const visible = el("input", { type: "checkbox", id: "case-file-visible", name: "visible_to_students" });
  const submit = el("button", { type: "submit", class: "primary", text: "Upload" });
  const list = el("ul", { class: "case-files", "aria-label": "Case files" });
  const empty = el("p", { class: "muted", text: "No files yet." });
  const form = el("form", { class: "case-file-form", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: "case-file-input", text: "File" }),
      input,
      el("p", { class: "hint", text: "A referral letter, case notes or images: PDF, PNG, JPEG, GIF, WebP or plain text." }),
    ),
    // A checkbox reads best with its label after it (as on the session form).
    el("div", { class: "field field--check" },
      el("label", { for: "case-file-visible" }, visible, " Visible to students (in their chat sidebar)"),
    ),
    el("div", { class: "button-row" }, submit),
  );
  const section = el("section", { class: "card form-card", "aria-labelledby": "case-files-title" },
    el("h2", { id: "case-files-title", text: "Case files" }),
    alert, form, empty, list,
  );

  function showError(message) {
    setText(alert, message);
    alert.hidden = false;
  }

  function row(file) {
    const remove = el("button", { type: "button", class: "link-button danger", text: "Delete",
      "aria-label": `Delete ${file.filename}` });
    remove.addEventListener("click", async () => {
      const ok = await confirmDialog("Delete this file?", `"${file.filename}" will be removed from this profile.`,
        { confirmLabel: "Delete", danger: true });
      if (!ok) return;
      try {
        await del(`/api/files/${encodeURIComponent(file.id)}`);
        ctx.announce(`Deleted ${file.filename}.`);
        await refresh();
      } catch (error) {
        showError(error.message);
      }
    });
    const details = [
      typeLabel(file.content_type),
      formatBytes(file.size_bytes),
      file.visible_to_students ? "visible to students" : "teacher only",
    ].join(" · ");
    return el("li", { class: "case-file", dataset: { fileId: file.id } },
      downloadLink(`/api/files/${encodeURIComponent(file.id)}`, file),
      el("span", { class: "muted small", text: ` ${details} ` }),
      remove,
    );
  }

  async function refresh() {
    try {
      const page = await get(`/api/profiles/${encodeURIComponent(profileId)}/files`);
      list.replaceChildren(...page.items.map(row));
      empty.hidden = page.items.length > 0;
    } catch (error) {
      showError(error.message);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.hidden = true;
    const file = input.files[0];
    if (!file) {
      showError("Choose a file first.");
      return;
    }
    await busy(submit, async () => {
      try {
        const saved = await upload(profileId, file, visible.checked);
        ctx.announce(`Uploaded ${saved.filename}.`);
        form.reset();
        await refresh();
      } catch (error) {
        if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
        showError(error.message);
      }
    });
  });
  refresh();
  return section;
}
