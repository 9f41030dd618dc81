// Money as the API sends it: integer micros (millionths of a currency unit) per currency.
// Amounts are parsed and printed from strings, never through floating-point sums, so
// "12.50" is exactly 12500000 micros.

/** The largest cap the API takes (10^15 micros: a billion units; below 2^53). */
export const CAP_MAX = 1e15;
const MICROS = 1_000_000;

/**
 * 12500000, "USD" -> "$12.50"; amounts under 1 keep 4 decimals ("$0.0123"). Without a
 * currency (none known yet) the bare amount: "12.50".
 */
export function formatMoney(micros, currency) {
  const amount = micros / MICROS;
  const digits = amount !== 0 && Math.abs(amount) < 1 ? 4 : 2;
  if (!currency) return amount.toFixed(digits);
  try {
    return new Intl.NumberFormat("en", {
      style: "currency",
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: digits,
    }).format(amount);
  } catch {
    return `${amount.toFixed(digits)} ${currency}`;
  }
}

/**
 * A usage row's cost: each currency's priced total, plus how many calls had no price.
 * An unpriced call is unknown, never free: with no priced call at all this says so.
 */
export function formatCost(costMicros, unpricedCalls) {
  const parts = Object.entries(costMicros || {}).map(([currency, micros]) => formatMoney(micros, currency));
  if (!unpricedCalls) return parts.length ? parts.join(" + ") : "0.00";
  const unknown = `${unpricedCalls} unpriced call${unpricedCalls === 1 ? "" : "s"}`;
  return parts.length ? `${parts.join(" + ")} + ${unknown}` : `unknown (${unknown})`;
}

/**
 * "12.5" -> 12500000; "" -> null (no cap). Throws Error with a message for the form when
 * the text is not an amount with up to 6 decimals, or is over the largest cap.
 */
export function parseMoneyToMicros(text) {
  const value = text.trim();
  if (!value) return null;
  const match = /^(\d{1,9})(?:\.(\d{0,6}))?$/.exec(value);
  if (!match) throw new Error("Enter an amount like 12.50 (up to 6 decimals), or leave it empty for no cap.");
  const micros = Number(match[1]) * MICROS + Number((match[2] || "").padEnd(6, "0"));
  if (micros > CAP_MAX) throw new Error("Enter at most 1,000,000,000.");
  return micros;
}

/** 12500000 -> "12.5" (the form's text for a cap in micros); null -> "". */
export function microsToInput(micros) {
  if (micros == null) return "";
  const units = Math.floor(micros / MICROS);
  const fraction = String(micros % MICROS).padStart(6, "0").replace(/0+$/, "");
  return fraction ? `${units}.${fraction}` : String(units);
}
