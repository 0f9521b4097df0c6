// Swagger UI (vendored from npm: vendor/swagger-ui/) for the gateway's OpenAPI document, at the
// API base that config.json names. "Try it out" calls the API with this browser's sign-in
// (the developer sign-in cookie locally).
import { loadConfig } from "../js/config.js";

const config = await loadConfig("../config.json");
globalThis.SwaggerUIBundle({
  url: `${config.apiBase}/openapi.json`,
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
  tryItOutEnabled: false,
  withCredentials: config.auth === "dev",
  presets: [globalThis.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
