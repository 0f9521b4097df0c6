"""Azure OpenAI's response bodies, byte for byte where clients look at them.

Shapes follow the Azure OpenAI REST reference (chat completions, 2024-10-21):
https://learn.microsoft.com/azure/ai-services/openai/reference#chat-completions
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.responses import Response

from simulator.content import Reply

JSON = "application/json"

_QUOTA_INCREASE = (
    "Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase "
    "the default rate limit."
)


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = dumps({"error": {"code": code, "message": message}})
    return Response(body, status_code=status, headers=headers, media_type=JSON)


def unauthorized() -> Response:
    return error(
        401,
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
        "provide a valid key for an active subscription and use a correct regional API "
        "endpoint for your resource.",
    )


def not_found() -> Response:
    return error(404, "404", "Resource not found")


def deployment_not_found() -> Response:
    return error(
        404,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment "
        "within the last 5 minutes, please wait a moment and try again.",
    )


def bad_request(message: str) -> Response:
    # OpenAI's invalid_request_error shape, which Azure passes through for body errors.
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None}}
    return Response(dumps(body), status_code=400, media_type=JSON)


def server_error(status: int) -> Response:
    if status == 503:
        return error(
            503,
            "ServiceUnavailable",
            "The service is temporarily unable to process your request. Please try again later.",
        )
    return error(
        500,
        "InternalServerError",
        "The server had an error while processing your request. Sorry about that!",
    )


def timed_out() -> Response:
    return error(408, "Timeout", "The operation was timeout.")


def throttled(
    api_version: str,
    limit: str,
    retry_after_s: float,
    tokens_left: int,
    requests_left: int,
    operation: str = "ChatCompletions_Create",
) -> Response:
    """429 as Azure sends it; ``retry_after_s`` is REAL seconds (a client waits that long)."""
    ms = max(1, math.ceil(retry_after_s * 1000))
    seconds = max(1, math.ceil(ms / 1000))
    what = "call rate limit" if limit == "requests" else "token rate limit"
    message = (
        f"Requests to the {operation} Operation under Azure OpenAI API version "
        f"{api_version} have exceeded {what} of your current OpenAI S0 pricing tier. "
        f"Please retry after {seconds} seconds. {_QUOTA_INCREASE}"
    )
    headers = {
        "retry-after-ms": str(ms),
        "retry-after": str(seconds),
        "x-ratelimit-remaining-tokens": str(tokens_left),
        "x-ratelimit-remaining-requests": str(requests_left),
    }
    return error(429, "429", message, headers)


def operation_not_supported(operation: str, model: str) -> Response:
    """A chat call to an embeddings deployment (or the reverse), as Azure refuses it."""
    return error(
        400,
        "OperationNotSupported",
        f"The {operation} operation does not work with the specified model, {model}. Please "
        "choose different model and try again. You can learn more about which models can be "
        "used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.",
    )


def context_length_exceeded(limit: int, requested: int) -> Response:
    body = {
        "error": {
            "message": f"This model's maximum context length is {limit} tokens, however you "
            f"requested {requested} tokens ({requested} in your prompt; 0 for the completion). "
            "Please reduce your prompt; or completion length.",
            "type": "invalid_request_error",
            "param": None,
            "code": "context_length_exceeded",
        }
    }
    return Response(dumps(body), status_code=400, media_type=JSON)


def usage(prompt_tokens: int, reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": prompt_tokens + reply.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def completion(
    completion_id: str, created: int, model: str, reply: Reply, usage_body: dict[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_simulator",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }
        ],
    }
    if usage_body is not None:
        body["usage"] = usage_body
    return body


def chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
) -> bytes:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_simulator",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }
    return b"data: " + dumps(body) + b"\n\n"


def usage_chunk(completion_id: str, created: int, model: str, usage_body: dict[str, Any]) -> bytes:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_simulator",
        "choices": [],
        "usage": usage_body,
    }
    return b"data: " + dumps(body) + b"\n\n"


DONE = b"data: [DONE]\n\n"
