// How an answer is shown: the output (text, a label, or JSON), then what it cost to make.
import { h, formatNumber } from "./dom.js";

const OUTPUT_FIELDS = { text: "summary", label: "label", json: "data" };

export function outputField(usecase, body) {
  const named = OUTPUT_FIELDS[usecase.kind];
  if (named && named in body) return named;
  const skip = new Set(["usage", "cached", "request_id", "model", "use_case", "finish_reason", "truncated", "cost", "currency"]);
  return Object.keys(body).find((k) => !skip.has(k));
}

export function outputView(usecase, value) {
  if (usecase.kind === "label") return h("p", { class: "label-answer" }, h("span", { class: "badge big" }, String(value)));
  if (usecase.kind === "json" || (value && typeof value === "object")) {
    return h("pre", { class: "json-answer" }, JSON.stringify(value, null, 2));
  }
  return h("p", { class: "text-answer" }, String(value ?? ""));
}

export function isTruncated(body) {
  return body.truncated === true || body.finish_reason === "length";
}

// Usage, cost and the facts to quote, for an answer or a stream's "done" event.
export function answerFacts(body) {
  const usage = body.usage || {};
  const rows = [
    ["Prompt tokens", formatNumber(usage.prompt_tokens)],
    ["Completion tokens", formatNumber(usage.completion_tokens)],
    ["Cached prompt tokens", formatNumber(usage.cached_tokens)],
    ["Total tokens", formatNumber(usage.total_tokens) + (usage.estimated ? " (estimated)" : "")],
  ];
  if (body.cost !== undefined) {
    const cost = typeof body.cost === "object" && body.cost !== null
      ? `${body.cost.amount} ${body.cost.currency || ""}` : `${body.cost} ${body.currency || ""}`;
    rows.push(["Cost", cost.trim()]);
  }
  const meta = [
    ["Model", body.model],
    ["From cache", body.cached ? "yes (no model call, no cost)" : "no"],
    body.finish_reason !== undefined && ["Finish reason", body.finish_reason],
    body.truncated !== undefined && ["Truncated", body.truncated ? "yes" : "no"],
    body.turn !== undefined && ["Turn", String(body.turn)],
    body.turns_dropped !== undefined && ["Turns dropped", String(body.turns_dropped)],
    ["Request id", h("code", { class: "rid" }, body.request_id || "–")],
  ].filter(Boolean);
  const table = (items, cls) => h("dl", { class: cls }, items.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  return h("div", { class: "answer-facts" },
    isTruncated(body) ? h("p", { class: "warning", role: "status" },
      "The answer was cut off at the output limit (finish_reason: length). Allow more words and run it again.") : null,
    table(rows, "usage"), table(meta, "meta"));
}
