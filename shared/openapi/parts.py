"""The pieces every OpenAPI operation is built from: schema references, JSON and SSE content,
responses with their headers, error references, caller security and parameters, request bodies.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from shared.settings import Settings

REF = "#/components/schemas/{model}"
# (Functions route, METHOD, operation object): one entry of the document's paths.
Operation = tuple[str, str, dict[str, Any]]
CALL_ERRORS = (400, 401, 403, 413, 415, 429, 500, 502, 503)
# Server-sent events; each event's data is a JSON object: "delta" {text}, then "done" {usage,
# request_id, finish_reason, truncated, ...} or "error" {error}.
SSE = {"text/event-stream": {"schema": {"type": "object"}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def header_refs(*names: str) -> dict[str, Any]:
    return {n: {"$ref": f"#/components/headers/{n}"} for n in ("x-request-id", *names)}


def ok(description: str, content: dict[str, Any] | None, *headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "headers": header_refs(*headers)}
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
