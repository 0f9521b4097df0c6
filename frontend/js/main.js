// The sample's entry point: read config.json, sign in, then show the view the URL's hash names
// (#/usecases[/id], #/chat, #/reports).
import { h, clear } from "./dom.js";
import { loadConfig } from "./config.js";
import { createAuth } from "./auth.js";
import { createApi } from "./api.js";
import { renderUseCases } from "./views/usecases.js";
import { renderChat } from "./views/chat.js";
import { renderReports } from "./views/reports.js";

async function start() {
  const main = document.getElementById("main");
  let ctx;
  try {
    const config = await loadConfig();
    const auth = await createAuth(config);
    ctx = { auth, api: createApi(config, auth), identity: await auth.whoami() };
  } catch (error) {
    clear(main, h("section", { class: "error-box", role: "alert" }, h("h3", {}, "The app could not start"), h("p", {}, error.message)));
    return;
  }
  showIdentity(ctx);
  if (ctx.auth.mode === "dev") {
    document.body.append(h("footer", { class: "dev-note" },
      "Local development: answers come from the Azure OpenAI simulator (filler text); identities from the developer sign-in."));
  }
  const route = () => {
    const [view = "usecases", arg] = location.hash.replace(/^#\/?/, "").split("/");
    for (const a of document.querySelectorAll("[data-view]")) {
      a.toggleAttribute("aria-current", a.dataset.view === view);
      if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    }
    if (view === "chat") renderChat(main, ctx);
    else if (view === "reports") renderReports(main, ctx);
    else renderUseCases(main, ctx, arg && decodeURIComponent(arg));
  };
  window.addEventListener("hashchange", () => {
    route();
    main.focus({ preventScroll: true });
  });
  route();
}

function showIdentity(ctx) {
  const box = document.getElementById("identity");
  const { identity, auth } = ctx;
  if (!identity) {
    clear(box, auth.mode === "dev"
      ? h("a", { class: "button small", href: auth.signInUrl() }, "Sign in")
      : h("button", { type: "button", class: "small", onclick: () => auth.signIn() }, "Sign in"));
    return;
  }
  const roles = identity.roles.length ? ` · ${identity.roles.join(", ")}` : "";
  clear(box,
    h("span", { class: "who", title: "Signed in" }, h("b", {}, identity.user), ` · ${identity.businessUnit}${roles}`),
    auth.mode === "dev" ? h("a", { class: "button small secondary", href: auth.signInUrl() }, "Switch") : null,
    h("button", { type: "button", class: "small secondary", onclick: () => auth.signOut() }, "Sign out"));
}

start();
