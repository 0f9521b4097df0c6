// Every error code the gateway answers with, in words a person can act on. The gateway's own
// message is shown too (it names the limit or the field); this adds a title and what to do.
// tests/unit/test_frontend_errors.py fails when the gateway gains a code missing here.
import { h } from "./dom.js";

const SIGN_IN = "Sign in again, or ask for access to the gateway.";
const RETRY = "Retry in a moment; it is not your request.";

export const ERROR_TEXT = {
  // 400: the request itself
  bad_request: ["The request was refused", "Check the fields below and try again."],
  invalid_json: ["The body is not valid JSON", "Send a JSON object."],
  invalid_body: ["The body has the wrong shape", "Send a JSON object with the use case's fields."],
  json_too_deep: ["The JSON is nested too deeply", "Flatten the input."],
  json_too_large: ["The JSON has too many keys", "Send fewer fields."],
  json_number_too_long: ["A number in the JSON is too long", "Send numbers of at most 64 characters."],
  body_incomplete: ["The request was cut off", "Send it again."],
  validation_failed: ["Some fields are not valid", "Fix the fields listed below."],
  invalid_query: ["A report parameter is not valid", "Check the dates and grouping."],
  invalid_session_id: ["That chat session id is malformed", "Start a new chat."],
  content_filtered: ["Blocked by the content filter", "Rephrase the text; Azure OpenAI's content filter refused it."],
  stream_not_supported: ["This use case cannot stream", "Run it without streaming."],
  async_not_supported: ["This use case cannot run as a job", "Run it directly instead."],
  // 401 / 403: who is calling
  unauthorized: ["Not signed in", SIGN_IN],
  missing_business_unit: ["Not signed in", "Sign in to choose your business unit and user."],
  invalid_business_unit: ["Your business unit is malformed", SIGN_IN],
  missing_user: ["Your user id is missing", SIGN_IN],
  invalid_user: ["Your user id is malformed", SIGN_IN],
  invalid_roles: ["Your roles are malformed", SIGN_IN],
  missing_token: ["Not signed in", "Sign in with your work account."],
  malformed_token: ["Your sign-in token is malformed", SIGN_IN],
  invalid_token: ["Your sign-in token is not valid", SIGN_IN],
  token_expired: ["Your sign-in has expired", "Sign in again."],
  token_not_yet_valid: ["Your sign-in token is not valid yet", "Check your computer's clock, then retry."],
  invalid_audience: ["Your token is for another application", "Check the app's configured scope."],
  invalid_issuer: ["Your token comes from an untrusted tenant", SIGN_IN],
  invalid_signature: ["Your token's signature is invalid", SIGN_IN],
  unsupported_algorithm: ["Your token uses an algorithm the gateway refuses", SIGN_IN],
  unknown_key: ["Your token was signed with an unknown key", "Sign in again; keys may have rotated."],
  missing_claim: ["Your token lacks a required claim", "Ask for the business unit claim to be added."],
  jwks_unavailable: ["Sign-in keys are unavailable", RETRY],
  forbidden: ["Not allowed", "Your business unit or role does not allow this."],
  unknown_business_unit: ["Your business unit is not enabled", "Ask the gateway's owners to enable it."],
  use_case_not_allowed: ["Your business unit may not use this", "Ask for the use case to be enabled for your unit."],
  report_forbidden: ["That report is not yours", "Only the finance role reads other units' reports."],
  // 404 / 405 / 409
  not_found: ["Not found", "The address is wrong or the item has expired."],
  unknown_use_case: ["No such use case", "Pick one from the list."],
  job_not_found: ["No such job", "It may have expired, or belong to someone else."],
  session_not_found: ["No such chat session", "It may have expired: start a new chat."],
  dev_signin_off: ["Developer sign-in is off", "This gateway uses Entra ID sign-in."],
  method_not_allowed: ["Method not allowed", "This address does not take that method."],
  conflict: ["Conflict", "Retry the request."],
  session_busy: ["This chat is still answering", "Wait for the current reply, then send."],
  session_full: ["This chat is full", "Start a new chat to go on."],
  session_id_collision: ["Session id clash", "Start a new chat."],
  // 413 / 415: too big, wrong type
  payload_too_large: ["Too large", "Send less text."],
  body_too_large: ["The request is too large", "Send less text: the limit is in the details."],
  prompt_too_large: ["The text is too long for this use case", "Shorten it: the limit in tokens is in the details."],
  message_too_large: ["The message is too long", "Shorten it."],
  context_too_long: ["The text does not fit the model", "Shorten it."],
  context_window_exceeded: ["The text does not fit the model's context window", "Shorten it or start a new chat."],
  unsupported_media_type: ["Wrong content type", "Send application/json."],
  unsupported_media: ["Wrong content type", "Send application/json."],
  unsupported_charset: ["Wrong character set", "Send the body as UTF-8 (charset=utf-8)."],
  // 429: later, or elsewhere
  too_many_requests: ["Too many requests", "Wait, then retry."],
  capacity_exhausted: ["Every model deployment is busy", "Retry after the wait below, or run it as a job."],
  budget_exceeded: ["Your unit's budget is used up", "It resets at the start of the next period; the details name the budget."],
  // 5xx: the gateway's or the model's side
  internal_error: ["Something went wrong in the gateway", "Quote the request id when you report it."],
  bad_gateway: ["The model service failed", RETRY],
  upstream_error: ["The model service failed", RETRY],
  upstream_rejected: ["The model service rejected the request", "Quote the request id when you report it."],
  invalid_model_output: ["The model's answer was not usable", "Retry; the gateway already retried once."],
  service_unavailable: ["The gateway is not ready", RETRY],
  not_ready: ["The gateway is not ready (its readiness probe failed)", RETRY],
  upstream_unavailable: ["The model service is unavailable", RETRY],
  store_unavailable: ["The gateway cannot record usage right now", "Nothing was sent to the model and nothing was charged. " + RETRY],
  job_attempts_exhausted: ["The job gave up", "Its attempts are spent; the reason is above. Submit it again later."],
  network_error: ["The gateway could not be reached", "Check your connection and the gateway's address."],
};

const FALLBACK_BY_STATUS = {
  400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
  409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 429: "too_many_requests",
  500: "internal_error", 502: "bad_gateway", 503: "service_unavailable",
};

export function describe(error) {
  const known = ERROR_TEXT[error.code] || ERROR_TEXT[FALLBACK_BY_STATUS[error.status]];
  return known ? { title: known[0], hint: known[1] } : { title: "Request failed", hint: RETRY };
}

// A panel for one failed call: what happened, what to do, and the facts to quote.
export function errorPanel(error, { auth, onRetry } = {}) {
  const { title, hint } = describe(error);
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "Status"), h("dd", {}, error.status ? String(error.status) : "no answer"),
    h("dt", {}, "Code"), h("dd", {}, h("code", {}, error.code)),
    error.requestId && [h("dt", {}, "Request id"), h("dd", {}, h("code", { class: "rid" }, error.requestId))],
    error.retryAfter !== null && error.retryAfter !== undefined &&
      [h("dt", {}, "Retry after"), h("dd", { class: "retry-after" }, wait(error.retryAfter))],
  );
  const details = error.details === null || error.details === undefined ? null :
    h("details", {}, h("summary", {}, "Details"), h("pre", {}, JSON.stringify(error.details, null, 2)));
  const actions = [];
  if (error.status === 401 && auth?.mode === "dev") {
    actions.push(h("a", { class: "button", href: auth.signInUrl() }, "Sign in (developer)"));
  } else if (error.status === 401 && auth) {
    actions.push(h("button", { type: "button", onclick: () => auth.signIn() }, "Sign in"));
  }
  const later = error.status === 429 && error.code !== "budget_exceeded";
  if (onRetry && (later || error.status >= 500 || error.status === 0)) {
    actions.push(h("button", { type: "button", class: "secondary", onclick: onRetry }, "Retry"));
  }
  return h("section", { class: `error-box status-${error.status}`, role: "alert", dataset: { code: error.code } },
    h("h3", {}, title),
    h("p", { class: "message" }, error.message),
    h("p", { class: "hint" }, hint),
    facts, details,
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

// Retry-After in words: seconds for a short wait, the time it ends for a long one (a budget
// resets at the start of the next month).
export function wait(seconds) {
  if (seconds < 120) return `${seconds} s`;
  const until = new Date(Date.now() + seconds * 1000);
  const stamp = until.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min (${stamp})`;
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)} h (${stamp})`;
  return `${Math.round(seconds / 86400)} days (${stamp})`;
}
