"""An ASGI app serving the registered HTTP functions under /api, as the Functions host does."""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from devhost.functions_index import HttpFunction
from functions.http_frame import new_request_id
from shared.domain.errors import GatewayError, MethodNotAllowed, NotFound
from shared.http.error_map import error_response

ROUTE_PREFIX = "/api"
# Distinct (method, path) pairs whose route is remembered, and the longest path remembered:
# paths are the caller's, so the memo is bounded (and emptied when full).
ROUTE_MEMO_ENTRIES = 1024
ROUTE_MEMO_PATH_CHARS = 256
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


class FunctionEndpoint:
    """One HTTP function as a plain ASGI app: the request in, its response out.

    Handed to ``Route`` as an ASGI app rather than as ``func(request)``, which Starlette would
    wrap in a per-route copy of the exception handling its ExceptionMiddleware already does.
    """

    def __init__(self, fn: HttpFunction) -> None:
        self._handler = fn.handler
        self._arg_name = fn.arg_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        # A remembered route is served without Starlette's exception middleware (LocalApp), so
        # what it would answer is answered here: the app's HTTPException handler, else a 500
        # and the exception re-raised for the server's log (ServerErrorMiddleware).
        try:
            response: Response = await self._handler(**{self._arg_name: request})
        except HTTPException as exc:
            response = _http_error(request, exc)
        except Exception:
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        await response(scope, receive, send)


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


class LocalApp:
    """Starlette's app, with a fast lane for a route that fully matched this method and path.

    Starlette tries every route in turn (~6.5 µs per request with our 11, the use-case route
    last) and runs each request through three layers of exception handling that only ever act
    on its own 404/405 answers; ~10% of a cached answer's cost. The routes never change, so a
    full match found once is remembered and its endpoint called directly. Anything else (a new
    path, a 404, a 405) goes through Starlette, as before.
    """

    def __init__(self, routes: list[Route], site: ASGIApp | None = None) -> None:
        self.starlette = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
        self._site = site
        self._routes = routes
        self._remembered: dict[tuple[str, str, str], tuple[Route, dict[str, Any]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self._site is not None
            and scope["type"] == "http"
            and not scope["path"].startswith(ROUTE_PREFIX + "/")
        ):
            await self._site(scope, receive, send)  # the static site: everything outside /api
            return
        found = self._route(scope) if scope["type"] == "http" else None
        if found is None:
            await self.starlette(scope, receive, send)
            return
        route, params = found
        # What Starlette and its router would have put in the scope.
        scope["app"] = self.starlette
        scope.setdefault("router", self.starlette.router)
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = dict(params)
        await route.app(scope, receive, send)

    def _route(self, scope: Scope) -> tuple[Route, dict[str, Any]] | None:
        path = scope["path"]
        if "path_params" in scope or len(path) > ROUTE_MEMO_PATH_CHARS:
            return None
        key = (scope["method"], path, scope.get("root_path", ""))
        found = self._remembered.get(key)
        if found is None:
            # As Starlette's router: the first full match wins, whatever partial ones came first.
            for route in self._routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    found = (route, child_scope["path_params"])
                    break
            else:
                return None
            if len(self._remembered) >= ROUTE_MEMO_ENTRIES:
                self._remembered.clear()
            self._remembered[key] = found
        return found


def build_asgi(functions: tuple[HttpFunction, ...], site: ASGIApp | None = None) -> LocalApp:
    routes = [
        Route(
            starlette_path(fn.route), FunctionEndpoint(fn), methods=list(fn.methods), name=fn.name
        )
        for fn in sorted(functions, key=_specificity)
    ]
    return LocalApp(routes, site)
