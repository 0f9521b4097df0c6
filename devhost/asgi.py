"""An ASGI app serving the registered HTTP functions under /api, as the Functions host does."""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devhost.functions_index import HttpFunction
from shared.errors import GatewayError, MethodNotAllowed, NotFound
from shared.http.endpoint import new_request_id
from shared.http.errors import error_response

ROUTE_PREFIX = "/api"
_CONSTRAINT = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\??\}")


def starlette_path(route: str) -> str:
    """Functions route template → Starlette path ({name:int} → {name}, {*rest} → {rest:path})."""

    def convert(match: re.Match[str]) -> str:
        catch_all, name = match.group(1), match.group(2)
        return f"{{{name}:path}}" if catch_all else f"{{{name}}}"

    return f"{ROUTE_PREFIX}/{_CONSTRAINT.sub(convert, route.strip('/'))}"


def _specificity(fn: HttpFunction) -> tuple[int, int]:
    # Literal segments win over parameters, as in ASP.NET Core routing.
    segments = fn.route.strip("/").split("/")
    params = sum(1 for s in segments if s.startswith("{"))
    return (params, -len(segments))


def _endpoint(fn: HttpFunction) -> Any:
    async def call(request: Request) -> Response:
        response: Response = await fn.handler(**{fn.arg_name: request})
        return response

    return call


def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    error: GatewayError = (
        MethodNotAllowed("method not allowed for this route")
        if status == 405
        else NotFound("no function serves this route")
    )
    response = error_response(error, new_request_id())
    # RFC 9110 §15.5.6: a 405 names the methods the route does allow.
    allow = (getattr(exc, "headers", None) or {}).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def build_asgi(functions: tuple[HttpFunction, ...]) -> Starlette:
    routes = [
        Route(starlette_path(fn.route), _endpoint(fn), methods=list(fn.methods), name=fn.name)
        for fn in sorted(functions, key=_specificity)
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
