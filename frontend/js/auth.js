// Who the browser is. Two modes, chosen by config.json "auth":
//  - "dev": the local host's developer sign-in (a signed, HttpOnly cookie set by
//    /api/dev/signin); requests carry the cookie, nothing else. Refused in Azure.
//  - "msal": Entra ID through MSAL.js (@azure/msal-browser, not vendored: see README.md); every
//    request carries "Authorization: Bearer <access token>" for API Management.

export async function createAuth(config) {
  return config.auth === "msal" ? createMsalAuth(config) : createDevAuth(config);
}

function createDevAuth(config) {
  const base = config.apiBase;
  return {
    mode: "dev",
    credentials: "same-origin",
    async headers() {
      return {};
    },
    async whoami() {
      const response = await fetch(`${base}/dev/session`, { credentials: "same-origin" });
      if (!response.ok) return null;
      const who = await response.json();
      return { user: who.user_id, businessUnit: who.business_unit, roles: who.roles };
    },
    signInUrl(next = location.pathname + location.hash) {
      return `${base}/dev/signin?next=${encodeURIComponent(next)}`;
    },
    signIn() {
      location.assign(this.signInUrl());
    },
    async signOut() {
      await fetch(`${base}/dev/session`, { method: "DELETE", credentials: "same-origin" });
      location.reload();
    },
  };
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

async function createMsalAuth(config) {
  const options = config.msal;
  if (!globalThis.msal) {
    const src = options.libraryUrl || "vendor/msal-browser.min.js";
    try {
      await loadScript(src);
    } catch {
      throw new Error(`MSAL.js was not found at ${src}: see frontend/README.md, "Sign-in in Azure".`);
    }
  }
  const { PublicClientApplication, InteractionRequiredAuthError } = globalThis.msal;
  const app = new PublicClientApplication({
    auth: {
      clientId: options.clientId,
      authority: options.authority,
      redirectUri: options.redirectUri || new URL(".", location.href).href,
    },
    cache: { cacheLocation: "sessionStorage" },
  });
  await app.initialize();
  const redirected = await app.handleRedirectPromise();
  let account = redirected?.account || app.getAllAccounts()[0] || null;
  const request = () => ({ scopes: options.scopes, account });
  return {
    mode: "msal",
    credentials: "omit",
    async headers() {
      if (!account) {
        await app.loginRedirect({ scopes: options.scopes });
        return new Promise(() => {}); // the page is navigating away
      }
      try {
        const result = await app.acquireTokenSilent(request());
        account = result.account;
        return { Authorization: `Bearer ${result.accessToken}` };
      } catch (error) {
        if (error instanceof InteractionRequiredAuthError) {
          await app.acquireTokenRedirect(request());
          return new Promise(() => {});
        }
        throw error;
      }
    },
    async whoami() {
      if (!account) return null;
      const claims = account.idTokenClaims || {};
      return {
        user: account.username || account.name,
        businessUnit: claims.business_unit || "",
        roles: Array.isArray(claims.roles) ? claims.roles : [],
      };
    },
    signInUrl() {
      return null;
    },
    signIn() {
      app.loginRedirect({ scopes: options.scopes });
    },
    async signOut() {
      await app.logoutRedirect({ account });
    },
  };
}
