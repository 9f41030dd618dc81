// The list page shared by client profiles and rubrics: list, edit link, delete with the
// server's 409 "in use by N session(s)" message.

import { del, get } from "../api.js";
import { confirmDialog } from "../dialog.js";
import { el, setText } from "../dom.js";
import { formatDateTime } from "../format.js";

/**
 * @param {HTMLElement} view
 * @param {object} ctx
 * @param {{title: string, noun: string, api: string, route: string, describe: (item) => string, intro: string}} kind
 */
export function renderLibraryList(view, ctx, kind) {
  const alert = el("div", { class: "alert alert--error", role: "alert" });
  const list = el("ul", { class: "item-list", "aria-label": kind.title });
  view.append(
    el("div", { class: "view-head" },
      el("h1", { text: kind.title }),
      el("a", { class: "button primary", href: `#${kind.route}/new`, text: `New ${kind.noun}` }),
    ),
    el("p", { class: "muted", text: kind.intro }),
    alert,
    list,
  );

  async function load() {
    list.replaceChildren(el("li", { class: "muted", text: "Loading…" }));
    try {
      const { items } = await get(kind.api);
      list.replaceChildren();
      if (!items.length) list.append(el("li", { class: "card empty", text: `No ${kind.noun}s yet.` }));
      for (const item of items) list.append(row(item));
    } catch (error) {
      if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
      list.replaceChildren();
      setText(alert, error.message);
    }
  }

  function row(item) {
    const remove = el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${item.name}` });
    remove.addEventListener("click", async () => {
      const ok = await confirmDialog(`Delete “${item.name}”?`, `This ${kind.noun} will be removed for good.`, {
        confirmLabel: "Delete",
        danger: true,
      });
      if (!ok) return;
      setText(alert, "");
      try {
        await del(`${kind.api}/${item.id}`);
        ctx.announce(`Deleted ${item.name}.`);
        await load();
      } catch (error) {
        // 409: "This profile is used by N session(s); delete or reassign them first."
        setText(alert, error.message);
        alert.focus?.();
      }
    });
    return el("li", { class: "card", dataset: { id: item.id } },
      el("div", { class: "item-main" },
        el("h2", { class: "h3", text: item.name }),
        el("p", { class: "muted small", text: kind.describe(item) }),
        el("p", { class: "muted small", text: `Updated ${formatDateTime(item.updated_at)}` }),
      ),
      el("div", { class: "button-row" },
        el("a", { class: "button", href: `#${kind.route}/${item.id}`, text: "Edit", "aria-label": `Edit ${item.name}` }),
        remove,
      ),
    );
  }

  load();
}
