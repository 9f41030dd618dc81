// Login form: POST /api/auth/login; 401 and 429 answers are shown in the form.

import { post } from "../api.js";
import { el, setText } from "../dom.js";
import { busy, field, formAlert } from "./forms.js";

export function renderLogin(view, ctx) {
  const email = field({ name: "email", label: "Email", type: "email", required: true, attrs: { autocomplete: "username" } });
  const password = field({
    name: "password",
    label: "Password",
    type: "password",
    required: true,
    attrs: { autocomplete: "current-password" },
  });
  const alert = formAlert();
  const submit = el("button", { type: "submit", class: "primary", text: "Log in" });
  const form = el("form", { class: "card login", novalidate: true, "aria-labelledby": "login-title" },
    el("h1", { id: "login-title", text: "Teacher login" }),
    alert,
    email.wrapper,
    password.wrapper,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setText(alert, "");
    if (!email.control.value.trim() || !password.control.value) {
      setText(alert, "Enter your email and password.");
      (email.control.value.trim() ? password.control : email.control).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const user = await post("/api/auth/login", {
          email: email.control.value.trim(),
          password: password.control.value,
        });
        ctx.onLogin(user, ctx.query.get("next"));
      } catch (error) {
        let message = error.message;
        if (error.status === 401) message = "Wrong email or password.";
        if (error.status === 429) {
          const wait = error.retryAfter ? ` Try again in ${Math.ceil(error.retryAfter / 60)} minute(s).` : "";
          message = `Too many failed logins.${wait}`;
        }
        setText(alert, message);
        password.control.value = "";
        password.control.focus();
      }
    });
  });
  view.append(form);
  email.control.focus();
}
