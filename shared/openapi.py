"""The OpenAPI 3.1 document, generated from the use-case catalog and the pydantic models.

Each use case is its own path (``POST /v1/summarize``) with its input model as the request
schema and its output kind in the answer schema. ``servers`` is ``/api`` (the Functions route
prefix) and paths are relative to it: imported into API Management, the backend URL is the
function app's ``https://<app>.azurewebsites.net/api`` and the operations keep their own paths.
Only what the code accepts is documented: caller headers as required parameters (or a bearer
token in JWT mode), and only statuses a handler can answer; every 4xx/5xx is the error schema.
Operations whose function is not registered are left out (``routes``), so the document never
promises an endpoint that answers 404.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

from shared import openapi_schemas as s
from shared.catalog import Catalog, UseCase
from shared.http.caller import USER_ID
from shared.http.request import SESSION_ID
from shared.settings import Settings

REF = "#/components/schemas/{model}"
ERRORS = {
    400: "Invalid request: malformed JSON, failed validation, unsupported option",
    401: "The caller's identity is missing or malformed",
    403: "The caller may not do this (unknown business unit, use case not allowed)",
    404: "No such resource (or it belongs to someone else)",
    409: "Conflict with the resource's current state",
    413: "Body or prompt too large; the message names the limit",
    415: "The body is not application/json",
    429: "Capacity or budget exhausted; retry after Retry-After",
    500: "Unexpected error; quote the request id",
    502: "The model's answer was rejected or unusable",
    503: "The model service (or the gateway) is unavailable; retry after Retry-After",
}
CALL_ERRORS = (400, 401, 403, 413, 415, 429, 500, 502, 503)
_PARAM = re.compile(r"\{[^}]*\}")


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _headers(*names: str) -> dict[str, Any]:
    return {n: {"$ref": f"#/components/headers/{n}"} for n in ("x-request-id", *names)}


def ok(description: str, content: dict[str, Any] | None, *headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "headers": _headers(*headers)}
    if content is not None:
        response["content"] = content
    return response


def operation(
    op_id: str, summary: str, responses: dict[int, Any], errors: Collection[int], **extra: Any
) -> dict[str, Any]:
    answers = {str(k): v for k, v in responses.items()}
    answers.update({str(code): {"$ref": f"#/components/responses/Error{code}"} for code in errors})
    return {"operationId": op_id, "summary": summary, **extra, "responses": answers}


def caller_params(settings: Settings) -> dict[str, Any]:
    if settings.gateway_caller_auth == "jwt":
        return {"security": [{"bearer": [], "functionKey": []}, {"bearer": []}]}
    names = ["BusinessUnit", "UserId", "UserRoles", "ClientRequestId"]
    return {
        "security": [{"functionKey": []}, {"functionKeyQuery": []}, {}],
        "parameters": [{"$ref": f"#/components/parameters/{n}"} for n in names],
    }


def with_params(caller: dict[str, Any], *params: dict[str, Any]) -> dict[str, Any]:
    return {**caller, "parameters": [*caller.get("parameters", []), *params]}


def request_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": json_content(schema)}}


def output_schema(usecase: UseCase) -> dict[str, Any]:
    if usecase.output.kind == "label":
        return {"type": "string", "enum": list(usecase.output.labels or [])}
    if usecase.output.kind == "json" and usecase.output.json_schema:
        return dict(usecase.output.json_schema)
    return {"type": "string"}


def _name(usecase: UseCase) -> str:
    return "".join(part.title() for part in usecase.id.split("-"))


def usecase_schemas(usecase: UseCase) -> dict[str, dict[str, Any]]:
    name = _name(usecase)
    request = usecase.input_model.model_json_schema(ref_template=REF)
    # "stream" is taken out of the body before validation (shared/handlers/streaming.py);
    # only text use cases stream, the others refuse true with a 400.
    text = usecase.output.kind == "text"
    stream = {"type": "boolean", "default": False, **({} if text else {"enum": [False]})}
    streamable = {**request.get("properties", {}), "stream": stream}
    field = usecase.output.field
    answer = {
        "type": "object",
        "properties": {
            field: output_schema(usecase),
            "usage": ref("TokenUsage"),
            "cached": {"type": "boolean"},
            "request_id": {"type": "string"},
            "model": {"type": "string"},
            "use_case": ref("UseCaseRef"),
        },
        "required": [field, "usage", "cached", "request_id", "model", "use_case"],
    }
    return {
        f"{name}Request": {**request, "title": f"{name}Request", "properties": streamable},
        f"{name}Answer": {**answer, "title": f"{name}Answer"},
    }


def usecase_operation(usecase: UseCase, settings: Settings) -> dict[str, Any]:
    name = _name(usecase)
    content = json_content(ref(f"{name}Answer"))
    if usecase.output.kind == "text":
        content.update(SSE)
    responses: dict[int, Any] = {
        200: ok("The answer (or an SSE stream)", content, "x-budget-warning")
    }
    params: list[dict[str, Any]] = []
    if usecase.async_allowed:
        accepted = json_content(ref("JobAccepted"))
        responses[202] = ok("Queued; poll Location", accepted, "Location", "Retry-After")
        # OpenAPI links: how a client (or a stateful fuzzer) gets from this answer to the job.
        job = {"operationId": "get_job", "parameters": {"job_id": "$response.body#/job_id"}}
        responses[202]["links"] = {"GetJob": job}
        params.append({"$ref": "#/components/parameters/Prefer"})
    return operation(
        f"run_{usecase.id.replace('-', '_')}",
        usecase.description,
        responses,
        CALL_ERRORS,
        tags=["use cases"],
        **with_params(caller_params(settings), *params),
        **request_body(ref(f"{name}Request")),
    )


# Server-sent events; each event's data is a JSON object: "delta" {text}, then "done" {usage,
# request_id, ...} or "error" {error}.
SSE = {"text/event-stream": {"schema": {"type": "object"}}}


def components(catalog: Catalog, settings: Settings) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in s.RESPONSE_MODELS:
        _add_model(schemas, model)
    for usecase in catalog.all():
        if usecase.output.kind != "chat":
            schemas.update(usecase_schemas(usecase))
    from shared.openapi_paths import chat_schemas

    schemas.update(chat_schemas(catalog))
    error = {"schema": ref("ErrorResponse")}
    retry = {429: ("Retry-After",), 503: ("Retry-After",)}
    responses = {
        f"Error{code}": {
            "description": text,
            "headers": _headers(*retry.get(code, ())),
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
            "x-budget-warning": _header("A soft budget was crossed", required=False),
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
            "respond-async queues the call and answers 202; other preferences are ignored",
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
    from shared.openapi_paths import static_operations

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
