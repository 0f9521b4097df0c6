"""HTTP triggers for the developer sign-in (local development only; shared/auth/dev_signin.py).

GET /api/dev/signin (the form) and POST /api/dev/signin (sets the signed identity cookie, then
303 to ``next``); GET /api/dev/session (who this browser is) and DELETE /api/dev/session (sign
out). With ``GATEWAY_DEV_SIGNIN=false`` or in jwt mode they answer 404; in Azure the app refuses
to start with it on.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import azure.functions as func
from azurefunctions.extensions.http.fastapi import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Request,
    Response,
)

from functions.http_frame import new_request_id
from shared.auth.dev_signin import DevSignIn, DevSignInCallerResolver, clear_cookie_header
from shared.auth.header_caller import parse_roles
from shared.composition.root import get_gateway
from shared.domain.errors import GatewayError, NotFound, Unauthorized, UnsupportedMediaType
from shared.http.dev_signin_page import CSP, render_signin_page, safe_next
from shared.http.error_map import error_response
from shared.http.request import header, read_body
from shared.structured_settings import BusinessUnitConfig

bp = func.Blueprint()

MAX_FORM_BYTES = 4096
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
FORM = "application/x-www-form-urlencoded"


async def _signin() -> DevSignIn:
    return (await _signin_and_units())[0]


async def _signin_and_units() -> tuple[DevSignIn, list[BusinessUnitConfig]]:
    gateway = await get_gateway()
    if isinstance(gateway.callers, DevSignInCallerResolver):
        return gateway.callers.signin, gateway.settings.gateway_business_units
    raise NotFound(
        "developer sign-in is off (GATEWAY_DEV_SIGNIN=true, headers mode only)",
        code="dev_signin_off",
    )


async def signin_redirect(request: Request) -> Response | None:
    """A 303 to the sign-in form for a browser page visited with no identity, when the
    developer sign-in is on; None otherwise (the page answers as usual)."""
    if "x-business-unit" in request.headers or "x-user-id" in request.headers:
        return None
    try:
        signin = await _signin()
    except GatewayError:
        return None
    if signin.from_headers(request.headers) is not None:
        return None
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/api/dev/signin?{urlencode({'next': here})}", status_code=303)


@bp.route(route="dev/signin", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def dev_signin_form(req: Request) -> Response:
    try:
        signin, units = await _signin_and_units()
    except GatewayError as exc:
        return error_response(exc, new_request_id())
    query = req.query_params
    body = render_signin_page(
        units,
        safe_next(query.get("next", "/")),
        signin.from_headers(req.headers),
        query.get("error", "")[:200],
    )
    return HTMLResponse(body, headers=PAGE_HEADERS)


@bp.route(route="dev/signin", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def dev_signin_submit(req: Request) -> Response:
    try:
        signin = await _signin()
        if header(req.headers, "content-type").split(";")[0].strip().lower() != FORM:
            raise UnsupportedMediaType(f"send the form as {FORM}", code="unsupported_media")
        form = parse_qs((await read_body(req, MAX_FORM_BYTES)).decode("utf-8", "replace"))
    except GatewayError as exc:
        return error_response(exc, new_request_id())

    def field(name: str) -> str:
        return (form.get(name) or [""])[0].strip()

    next_path = safe_next(field("next") or "/")
    try:
        caller = signin.check(field("business_unit"), field("user_id"), parse_roles(field("roles")))
    except GatewayError as exc:
        query = urlencode({"next": next_path, "error": exc.message})
        return RedirectResponse(f"/api/dev/signin?{query}", status_code=303)
    response = RedirectResponse(next_path, status_code=303)
    response.headers.append("set-cookie", signin.set_cookie_header(caller))
    return response


@bp.route(route="dev/session", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def dev_session(req: Request) -> Response:
    request_id = new_request_id()
    try:
        caller = (await _signin()).from_headers(req.headers)
        if caller is None:
            raise Unauthorized("this browser is not signed in", code="missing_business_unit")
    except GatewayError as exc:
        return error_response(exc, request_id)
    body = {
        "business_unit": caller.business_unit,
        "user_id": caller.user_id,
        "roles": sorted(caller.roles),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "x-request-id": request_id})


@bp.route(route="dev/session", methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
async def dev_signout(req: Request) -> Response:
    try:
        await _signin()
    except GatewayError as exc:
        return error_response(exc, new_request_id())
    response = Response(status_code=204)
    response.headers.append("set-cookie", clear_cookie_header())
    return response
