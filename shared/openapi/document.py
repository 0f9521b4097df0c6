"""The OpenAPI 3.1 document, generated from the use-case catalog and the pydantic models.

Each use case is its own path (``POST /v1/summarize``) with its input model as the request
schema and its output kind in the answer schema. ``servers`` is ``/api`` (the Functions route
prefix) and paths are relative to it: imported into API Management, the backend URL is the
function app's ``https://<app>.azurewebsites.net/api`` and the operations keep their own paths.
Only what the code accepts is documented: caller headers as required parameters (or a bearer
token in JWT mode), and only statuses a handler can answer; every 4xx/5xx is the error schema.
Operations whose function is not registered are left out (``routes``), so the document never
promises an endpoint that answers 404.

This module assembles the document and its shared components; the operations are built in
usecases.py, chat.py and paths.py from the pieces in parts.py, and the answers' schemas come
from the classes the handlers answer with (shared/handlers/results.py, shared/http/answers.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

from shared.auth.header_caller import USER_ID
from shared.catalog import Catalog
from shared.handlers import results as r
from shared.http import answers as a
from shared.http.request import SESSION_ID
from shared.openapi.chat import chat_schemas
from shared.openapi.parts import REF, header_refs, ref
from shared.openapi.paths import static_operations
from shared.openapi.usecases import usecase_operation, usecase_schemas
from shared.settings import Settings

ERRORS = {
    400: "Invalid request: malformed JSON, failed validation, unsupported option",
    401: "The caller's identity is missing or malformed",
    403: "The caller may not do this (unknown business unit, use case not allowed)",
    404: "No such resource (or it belongs to someone else)",
    409: "Conflict with the resource's current state",
    413: "Body or prompt too large; the message names the limit",
    415: "The body is not application/json, or declares a charset other than UTF-8",
    429: "Capacity or budget exhausted; retry after Retry-After",
    500: "Unexpected error; quote the request id",
    502: "The model's answer was rejected or unusable",
    503: "The model service (or the gateway) is unavailable; retry after Retry-After",
}
_PARAM = re.compile(r"\{[^}]*\}")


# The classes the handlers and the HTTP layer answer with: their schemas are the document's.
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    a.ErrorResponse,
    r.TokenUsage,
    r.UseCaseRef,
    r.JobAccepted,
    r.JobView,
    r.UseCaseList,
    r.SessionCreated,
    r.SessionView,
    r.ChatReply,
    r.ChargebackReport,
    a.Liveness,
    a.ReadinessReport,
    a.NotReady,
    a.DevSession,
)


def components(catalog: Catalog, settings: Settings) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in RESPONSE_MODELS:
        _add_model(schemas, model)
    for usecase in catalog.all():
        if usecase.output.kind != "chat":
            schemas.update(usecase_schemas(usecase))
    schemas.update(chat_schemas(catalog))
    error = {"schema": ref("ErrorResponse")}
    retry = {429: ("Retry-After",), 503: ("Retry-After",)}
    responses = {
        f"Error{code}": {
            "description": text,
            "headers": header_refs(*retry.get(code, ())),
            "content": {"application/json": error},
        }
        for code, text in ERRORS.items()
    }
    return {
        "schemas": schemas,
        "responses": responses,
        "parameters": _parameters(settings),
        "headers": {
            "x-request-id": _header("The gateway's id for this request (keys its usage record)"),
            "Retry-After": _header("Seconds to wait before retrying", required=False),
            "Location": _header("Where to poll or find the created resource"),
            "Preference-Applied": _header(
                "respond-async when the Prefer header was honoured (RFC 7240)", required=False
            ),
            "x-budget-warning": _header("A soft budget was crossed", required=False),
            "x-report-as-of": _header(
                "When the rollups the report read were computed (ISO 8601, UTC), or never"
            ),
            "x-gateway-cache": _header(
                "Where a caching use case's answer came from: exact, semantic, miss or bypass",
                required=False,
            ),
            "x-gateway-cache-similarity": _header(
                "A semantic-cache hit: the cosine similarity of the cached prompt (0-1)",
                required=False,
            ),
        },
        "securitySchemes": {
            "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        },
    }


def _header(description: str, *, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=REF, mode="serialization")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema


def _parameters(settings: Settings) -> dict[str, Any]:
    def header(name: str, schema: dict[str, Any], required: bool, text: str) -> dict[str, Any]:
        spec = {"name": name, "in": "header", "required": required, "schema": schema}
        return {**spec, "description": text}

    units = sorted(settings.business_unit_ids)
    return {
        "BusinessUnit": header(
            "x-business-unit",
            {"type": "string", "enum": units},
            True,
            "The caller's business unit (set by APIM)",
        ),
        "UserId": header(
            "x-user-id",
            {"type": "string", "pattern": USER_ID.pattern},
            True,
            "The calling user (set by APIM)",
        ),
        "UserRoles": header(
            "x-user-roles", {"type": "string"}, False, "Comma-separated roles (set by APIM)"
        ),
        "ClientRequestId": header(
            "x-request-id",
            {"type": "string"},
            False,
            "The caller's own correlation id; recorded, never reused",
        ),
        "Prefer": header(
            "Prefer",
            {"type": "string"},
            False,
            "respond-async (with or without parameters, e.g. respond-async; wait=1) queues the "
            "call and answers 202 with Preference-Applied; other preferences are ignored",
        ),
        "CacheControl": header(
            "Cache-Control",
            {"type": "string"},
            False,
            "no-cache: answer fresh (the answer is still cached); no-store: answer fresh and "
            "cache nothing",
        ),
        "SessionId": {
            "name": "session_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": SESSION_ID.pattern},
        },
    }


def build_document(
    catalog: Catalog,
    settings: Settings,
    routes: Collection[tuple[str, str]] | None = None,
    *,
    server_url: str = "/api",
) -> dict[str, Any]:
    """The document; ``routes`` = registered (Functions route, METHOD) pairs to keep."""
    operations = [
        (f"v1/{u.id}", "v1/{usecase}", "POST", usecase_operation(u, settings))
        for u in catalog.all()
        if u.output.kind != "chat"
    ]
    operations += [(r, r, m, op) for r, m, op in static_operations(catalog, settings)]
    registered = None if routes is None else {(_PARAM.sub("{}", r), m.upper()) for r, m in routes}
    paths: dict[str, dict[str, Any]] = {}
    for path, route, method, spec in operations:
        if registered is not None and (_PARAM.sub("{}", route), method) not in registered:
            continue
        paths.setdefault(f"/{path}", {})[method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "genai-gateway",
            "version": "1",
            "description": "Governed, metered Azure OpenAI use cases for business units.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": components(catalog, settings),
    }
