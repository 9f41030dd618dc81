// The admin page (/admin): every teacher's usage this month and their monthly caps
// (GET /api/admin/teachers, PUT /api/admin/teachers/{id}/caps). Logged out: a login
// form; logged in as a teacher who is not an admin: a plain refusal (the API says 403).
// Every piece of data goes in as text (el/setText), never as HTML.

import { get, post, put } from "./api.js";
import { byId, el, setText } from "./dom.js";
import { formatNumber } from "./format.js";
import { CAP_MAX, formatCost, formatMoney, microsToInput, parseMoneyToMicros } from "./money.js";
import { busy, clearErrors, field, formAlert, showApiError, showFieldErrors } from "./teacher/forms.js";

const view = byId("view");
const account = byId("account");

function announce(text) {
  const announcer = byId("announcer");
  announcer.textContent = "";
  requestAnimationFrame(() => {
    announcer.textContent = text;
  });
}

function formatDay(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

function showAccount(user) {
  account.hidden = !user;
  setText(byId("account-name"), user ? user.name || user.email : "");
}

byId("logout").addEventListener("click", async () => {
  try {
    await post("/api/auth/logout");
  } catch {
    // Logged out or not, the login form is what comes next.
  }
  start();
});

async function start() {
  let user;
  try {
    user = await get("/api/me");
  } catch (error) {
    showAccount(null);
    if (error.status === 401) renderLogin();
    else renderFailure(error);
    return;
  }
  showAccount(user);
  if (user.role !== "admin") renderNotAdmin(user);
  else renderTeachers();
}

function renderFailure(error) {
  view.replaceChildren(el("p", { class: "alert alert--error", role: "alert", text: `The page could not load: ${error.message}` }));
}

function renderNotAdmin(user) {
  view.replaceChildren(
    el("section", { class: "card login", "aria-labelledby": "refused-title" },
      el("h1", { id: "refused-title", text: "Administrators only" }),
      el("p", { class: "alert alert--error", role: "alert", text: `${user.email} is not an administrator, so this page shows nothing. Log out and log in as an administrator, or go back to the teacher app.` }),
      el("a", { href: "/teacher", text: "Open the teacher app" }),
    ),
  );
}

function renderLogin() {
  const email = field({ name: "email", label: "Email", type: "email", required: true, attrs: { autocomplete: "username" } });
  const password = field({ name: "password", label: "Password", type: "password", required: true, attrs: { autocomplete: "current-password" } });
  const alert = formAlert();
  const submit = el("button", { type: "submit", class: "primary", text: "Log in" });
  const form = el("form", { class: "card login", novalidate: true, "aria-labelledby": "login-title" },
    el("h1", { id: "login-title", text: "Administrator login" }),
    alert, email.wrapper, password.wrapper, submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setText(alert, "");
    if (!email.control.value.trim() || !password.control.value) {
      setText(alert, "Enter your email and password.");
      return;
    }
    await busy(submit, async () => {
      try {
        await post("/api/auth/login", { email: email.control.value.trim(), password: password.control.value });
      } catch (error) {
        setText(alert, error.status === 401 ? "Wrong email or password." : error.message);
        password.control.value = "";
        password.control.focus();
        return;
      }
      start();
    });
  });
  view.replaceChildren(form);
  email.control.focus();
}

function capText(value, unit) {
  return value == null ? "none" : unit(value);
}

function renderTeachers() {
  const summary = el("p", { class: "admin-summary muted" });
  const status = el("p", { class: "alert alert--ok", role: "status" });
  const error = el("p", { class: "alert alert--error", role: "alert" });
  const body = el("tbody");
  const table = el("div", { class: "table-wrap" },
    el("table", { class: "teachers-table" },
      el("caption", { class: "visually-hidden", text: "Every teacher's usage this month and monthly caps" }),
      el("thead", {}, el("tr", {},
        ["Teacher", "Role", "AI calls", "Tokens", "Cost", "Token cap", "Money cap", "This month", "Caps"]
          .map((name) => el("th", { scope: "col", text: name })),
      )),
      body,
    ),
  );
  const editor = capsEditor({
    onSaved: async (teacher) => {
      setText(status, `Caps of ${teacher.name || teacher.email} saved.`);
      announce(`Caps of ${teacher.name || teacher.email} saved.`);
      await load();
      // The rows were rebuilt: focus goes back to this teacher's button, not to <body>.
      const again = [...body.querySelectorAll("tr")].find((tr) => tr.dataset.teacherId === teacher.id);
      again?.querySelector("button")?.focus();
    },
  });
  view.replaceChildren(
    el("div", { class: "view-head" }, el("h1", { text: "Teachers and monthly caps" })),
    summary, status, error, table, editor.root,
  );

  let listing = null;
  async function load() {
    try {
      listing = await get("/api/admin/teachers");
    } catch (failure) {
      if (failure.status === 401) renderLogin();
      else if (failure.status === 403) start();
      else setText(error, `Teachers could not be loaded: ${failure.message}`);
      return;
    }
    setText(error, "");
    const currency = listing.cap_currency;
    const site = listing.default_token_cap == null ? "no site-wide token cap" : `a site-wide cap of ${formatNumber(listing.default_token_cap)} tokens`;
    setText(summary, `Usage since ${formatDay(listing.month_start)}; caps renew ${formatDay(listing.renews_at)}. Teachers without a token cap of their own have ${site}.`);
    body.replaceChildren(...listing.items.map((teacher) => row(teacher, currency, listing.default_token_cap)));
    editor.setContext(currency, listing.default_token_cap);
  }

  function row(teacher, currency, siteCap) {
    const edit = el("button", { type: "button", text: "Edit caps", "aria-label": `Edit caps of ${teacher.name || teacher.email}` });
    edit.addEventListener("click", () => editor.open(teacher, edit));
    const tokenCap = teacher.monthly_token_cap != null
      ? formatNumber(teacher.monthly_token_cap)
      : siteCap != null ? `${formatNumber(siteCap)} (site)` : "none";
    return el("tr", { class: teacher.cap_reached ? "is-capped" : "", dataset: { teacherId: teacher.id } },
      el("td", {}, el("span", { class: "who", text: teacher.name }), el("span", { class: "email", text: teacher.email })),
      el("td", { text: teacher.role }),
      el("td", { class: "num", text: formatNumber(teacher.calls) }),
      el("td", { class: "num", text: formatNumber(teacher.total_tokens) }),
      el("td", { class: "num", text: formatCost(teacher.cost_micros, teacher.unpriced_calls) }),
      el("td", { class: "num", dataset: { cell: "token-cap" }, text: tokenCap }),
      el("td", { class: "num", dataset: { cell: "money-cap" }, text: capText(teacher.monthly_cost_micros_cap, (m) => formatMoney(m, currency)) }),
      el("td", { text: teacher.cap_reached ? "Cap reached" : "Within caps" }),
      el("td", {}, edit),
    );
  }

  load();
}

/** The caps form, shown under the table for one teacher at a time. */
function capsEditor({ onSaved }) {
  let teacher = null;
  let returnFocus = null;
  const heading = el("h2", { id: "caps-heading" });
  const tokens = field({ name: "monthly_token_cap", label: "Monthly token cap", attrs: { inputmode: "numeric", autocomplete: "off" } });
  const money = field({ name: "monthly_cost_micros_cap", label: "Monthly money cap", attrs: { inputmode: "decimal", autocomplete: "off" } });
  const tokensHint = el("span", { class: "hint" });
  const moneyHint = el("span", { class: "hint", text: "An amount like 12.50 (up to 6 decimals). Empty: no money cap." });
  tokens.control.before(tokensHint);
  money.control.before(moneyHint);
  for (const [hint, control] of [[tokensHint, tokens.control], [moneyHint, money.control]]) {
    hint.id = `${control.id}-hint`;
    control.setAttribute("aria-describedby", `${hint.id} ${control.getAttribute("aria-describedby")}`);
  }
  const alert = formAlert();
  const save = el("button", { type: "submit", class: "primary", text: "Save caps" });
  const cancel = el("button", { type: "button", text: "Cancel" });
  const root = el("form", { class: "card caps-form", novalidate: true, hidden: true, "aria-labelledby": "caps-heading" },
    heading, alert, tokens.wrapper, money.wrapper, el("div", { class: "button-row" }, save, cancel),
  );

  function close() {
    root.hidden = true;
    teacher = null;
    returnFocus?.focus();
  }
  cancel.addEventListener("click", close);

  function read() {
    const fields = {};
    let tokenCap = null;
    const rawTokens = tokens.control.value.trim();
    if (rawTokens) {
      if (!/^\d{1,16}$/.test(rawTokens) || Number(rawTokens) > CAP_MAX) {
        fields.monthly_token_cap = "Enter a whole number of tokens from 0 to 1,000,000,000,000,000, or leave it empty.";
      } else tokenCap = Number(rawTokens);
    }
    let moneyCap = null;
    try {
      moneyCap = parseMoneyToMicros(money.control.value);
    } catch (problem) {
      fields.monthly_cost_micros_cap = problem.message;
    }
    return { fields, body: { monthly_token_cap: tokenCap, monthly_cost_micros_cap: moneyCap } };
  }

  root.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(root);
    setText(alert, "");
    const { fields, body } = read();
    if (Object.keys(fields).length) {
      showFieldErrors(root, fields);
      setText(alert, "Some fields are not valid. See the highlighted fields.");
      return;
    }
    const target = teacher;
    await busy(save, async () => {
      try {
        const saved = await put(`/api/admin/teachers/${encodeURIComponent(target.id)}/caps`, body);
        root.hidden = true;
        teacher = null;
        onSaved(saved);
      } catch (error) {
        showApiError(root, alert, error);
      }
    });
  });

  return {
    root,
    setContext(currency, siteCap) {
      money.wrapper.querySelector("label").textContent = `Monthly money cap (${currency})`;
      setText(tokensHint, siteCap == null
        ? "Whole tokens per calendar month. Empty: no token cap (the site has none)."
        : `Whole tokens per calendar month. Empty: the site's cap, ${formatNumber(siteCap)}.`);
    },
    open(next, opener) {
      teacher = next;
      returnFocus = opener;
      clearErrors(root);
      setText(alert, "");
      setText(heading, `Monthly caps of ${next.name || next.email}`);
      tokens.control.value = next.monthly_token_cap == null ? "" : String(next.monthly_token_cap);
      money.control.value = microsToInput(next.monthly_cost_micros_cap);
      root.hidden = false;
      tokens.control.focus();
    },
  };
}

start();
