// Where the API is and how to sign in: read once from config.json beside index.html, so the
// same files call the local host in development and API Management in Azure.
//
//   development (committed):  {"apiBase": "/api", "auth": "dev"}
//   Azure (written at deploy): {"apiBase": "https://<apim>.azure-api.net/api",
//                               "auth": "msal",
//                               "headers": {"Ocp-Apim-Subscription-Key": "<the unit's key>"},
//                               "msal": {"clientId": "<SPA app id>",
//                                        "authority": "https://login.microsoftonline.com/<tenant>",
//                                        "scopes": ["api://<gateway app id>/access_as_user"],
//                                        "libraryUrl": "vendor/msal-browser.min.js"}}
// See frontend/README.md.

const DEFAULTS = Object.freeze({ apiBase: "/api", auth: "dev", headers: {}, msal: null });

export async function loadConfig(url = "config.json") {
  let loaded = {};
  try {
    const response = await fetch(url, { cache: "no-cache" });
    if (response.ok) loaded = await response.json();
  } catch {
    // No config.json: the development defaults.
  }
  const config = { ...DEFAULTS, ...loaded };
  config.apiBase = String(config.apiBase).replace(/\/+$/, "");
  if (!["dev", "msal"].includes(config.auth)) {
    throw new Error(`config.json: "auth" must be "dev" or "msal", got ${JSON.stringify(config.auth)}`);
  }
  if (config.auth === "msal" && !(config.msal && config.msal.clientId && config.msal.scopes)) {
    throw new Error('config.json: "auth": "msal" needs "msal": {"clientId", "authority", "scopes"}');
  }
  return Object.freeze(config);
}
