// Calls to the gateway: one place that adds the base URL and the sign-in, and turns every
// non-2xx answer into an ApiError carrying the gateway's error object
// {"error": {"code", "message", "request_id", "details"}} plus the status and Retry-After.

export class ApiError extends Error {
  constructor(status, body, headers) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network_error" : "http_" + status);
    this.requestId = error.request_id || headers?.get("x-request-id") || "";
    this.details = error.details ?? null;
    const retry = headers?.get("retry-after");
    this.retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  }
}

export function createApi(config, auth) {
  async function call(path, { method = "GET", body, headers = {}, signal } = {}) {
    const url = path.startsWith("http") ? path : `${config.apiBase}${path}`;
    const all = { ...config.headers, ...(await auth.headers()), ...headers };
    if (body !== undefined) all["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: all,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: auth.credentials,
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, { error: { message: `The gateway could not be reached (${error.message}).` } });
    }
    if (!response.ok) throw await toError(response);
    return response;
  }

  async function json(path, options) {
    const response = await call(path, options);
    return { status: response.status, headers: response.headers, body: response.status === 204 ? null : await response.json() };
  }

  return { call, json, config };
}

export async function toError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { error: { message: `HTTP ${response.status} ${response.statusText}`.trim() } };
  }
  return new ApiError(response.status, body, response.headers);
}

// A path the gateway sent (Location, "location") as a path under apiBase.
export function apiPath(config, location) {
  const url = new URL(location, new URL(config.apiBase + "/", window.location.href));
  const base = new URL(config.apiBase + "/", window.location.href).pathname;
  return url.pathname.startsWith(base) ? url.pathname.slice(base.length - 1) + url.search : url.href;
}
