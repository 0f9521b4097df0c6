"""GET /api/openapi.json: the OpenAPI 3.1 document of the functions this app registers."""

from __future__ import annotations

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, Response

from functions.http_frame import new_request_id
from shared.http.error_map import error_response
from shared.openapi.document import build_document

bp = func.Blueprint()


def registered_routes() -> frozenset[tuple[str, str]]:
    """(route, METHOD) of every HTTP function in function_app.py, read from its registrations.

    Read from the builders, not ``app.get_functions()``: the host calls that once and a second
    call raises (see devhost/functions_index.py).
    """
    import function_app

    routes: set[tuple[str, str]] = set()
    for builder in function_app.app._function_builders:
        trigger = builder._function.get_trigger()
        spec = trigger.get_dict_repr() if trigger is not None else {}
        if spec.get("type") == "httpTrigger":
            for method in spec.get("methods") or ["GET"]:
                routes.add((str(spec.get("route")), str(getattr(method, "value", method)).upper()))
    return frozenset(routes)


# Built once per gateway: the catalog and settings do not change while it lives.
_cached: tuple[int, dict[str, Any]] | None = None


def document_for(catalog: Any, settings: Any, key: int) -> dict[str, Any]:
    global _cached
    if _cached is None or _cached[0] != key:
        _cached = (key, build_document(catalog, settings, registered_routes()))
    return _cached[1]


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def openapi_document(req: Request) -> Response:
    from shared.composition.root import get_gateway

    request_id = new_request_id()
    try:
        gateway = await get_gateway()
        document = document_for(gateway.catalog, gateway.settings, id(gateway))
    except Exception as exc:
        return error_response(exc, request_id)
    return JSONResponse(document, headers={"x-request-id": request_id})
