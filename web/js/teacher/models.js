// The model catalog (GET /api/models) as the session and profile forms offer it: option
// lists and a one-line description of a model (its provider, windows and prices).

import { formatNumber } from "../format.js";

const PROVIDERS = { anthropic: "Anthropic", mistral: "Mistral", openai: "OpenAI-compatible server", scripted: "Built-in scripted client" };

/** [value, label] pairs for a select; the catalog's default is marked. */
export function modelOptions(catalog) {
  return catalog.items.map((m) => [m.id, m.id === catalog.default ? `${m.name} (default)` : m.name]);
}

function price(value, currency) {
  // Prices per million tokens are small numbers: up to 4 decimals (0.1, 0.25, 3, 15).
  return `${currency} ${Number(value).toLocaleString(undefined, { maximumFractionDigits: 4 })}`;
}

/** "Mistral · 32,000-token context · replies up to 400 tokens · USD 0.1 in, USD 0.3 out per million tokens". */
export function describeModel(catalog, id) {
  const m = catalog.items.find((item) => item.id === id);
  if (!m) return "";
  const cost = m.input_price_per_mtok == null
    ? "no price set"
    : `${price(m.input_price_per_mtok, catalog.currency)} in, ${price(m.output_price_per_mtok, catalog.currency)} out per million tokens`;
  return [
    PROVIDERS[m.provider] || m.provider,
    `${formatNumber(m.context_window)}-token context`,
    `replies up to ${formatNumber(m.max_reply_tokens)} tokens`,
    cost,
  ].join(" · ");
}
