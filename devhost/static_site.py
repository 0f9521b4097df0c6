"""The frontend sample (frontend/) and the API docs page (frontend/docs/) on the local host.

Everything outside /api is a file under frontend/: ``/`` is the sample app, ``/docs/`` is
Swagger UI (vendored from npm, no CDN) reading ``/api/openapi.json``. In Azure the same folder
is a static site (docs/frontend.md); here it is served with the headers a static host would add.
"""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.settings import ROOT

FRONTEND_DIR = ROOT / "frontend"
# Scripts and styles only from this site (Swagger UI sets inline styles); the report page is shown
# in a sandboxed frame from a blob: URL; nothing may frame these pages.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self' blob:; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # Revalidate on every load: an edited file shows up without a hard refresh.
    (b"cache-control", b"no-cache"),
)


def static_site(directory: Path = FRONTEND_DIR) -> ASGIApp:
    files = StaticFiles(directory=directory, html=True)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await files(scope, receive, send_with_headers)

    return app
