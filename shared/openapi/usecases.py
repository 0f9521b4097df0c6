"""The use cases' OpenAPI operations (``POST /v1/{usecase}``) and their request/answer schemas.

Each use case is its own path with its input model as the request schema and its output kind in
the answer schema; text use cases may answer with an SSE stream, async ones with a queued job.
"""

from __future__ import annotations

from typing import Any

from shared.catalog import UseCase
from shared.openapi.parts import (
    CALL_ERRORS,
    REF,
    SSE,
    caller_params,
    json_content,
    ok,
    operation,
    ref,
    request_body,
    with_params,
)
from shared.settings import Settings


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
            "finish_reason": {
                "type": "string",
                "description": "Why the model stopped: stop, or length (cut at max_tokens); "
                "a cache hit reports the cached answer's",
            },
            "truncated": {
                "type": "boolean",
                "description": "finish_reason is length: the answer was cut short. Only text "
                "answers can be; a cut label or JSON answer is a 502 invalid_model_output",
            },
            "usage": ref("TokenUsage"),
            "cached": {"type": "boolean"},
            "cache": {
                "type": "object",
                "description": "Present when the answer came from the semantic cache",
                "properties": {
                    "kind": {"type": "string", "enum": ["semantic"]},
                    "similarity": {"type": "number", "minimum": -1, "maximum": 1},
                },
                "required": ["kind", "similarity"],
            },
            "request_id": {"type": "string"},
            "model": {"type": "string"},
            "use_case": ref("UseCaseRef"),
            "cost": {
                "type": "string",
                "description": "What this answer's model calls cost, exact decimal (0 for a "
                "cache hit); the chargeback report sums the same figures",
            },
            "currency": {"type": "string"},
        },
        "required": [
            field,
            "finish_reason",
            "truncated",
            "usage",
            "cached",
            "request_id",
            "model",
            "use_case",
        ],
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
    cache_headers = ("x-gateway-cache", "x-gateway-cache-similarity")
    headers = ("x-budget-warning", *(cache_headers if usecase.cache.mode != "off" else ()))
    responses: dict[int, Any] = {200: ok("The answer (or an SSE stream)", content, *headers)}
    params: list[dict[str, Any]] = []
    if usecase.cache.mode != "off":
        params.append({"$ref": "#/components/parameters/CacheControl"})
    if usecase.async_allowed:
        accepted = json_content(ref("JobAccepted"))
        responses[202] = ok(
            "Queued; poll Location", accepted, "Location", "Retry-After", "Preference-Applied"
        )
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
