"""The frame around every HTTP function: request id, caller, error map, response headers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.composition import root
from shared.domain.caller import Caller
from shared.http.error_map import error_response
from shared.telemetry import observe_request

if TYPE_CHECKING:
    from shared.composition.root import Gateway
    from shared.handlers.usecase_call import Answer


@dataclass(frozen=True, slots=True)
class Context:
    gateway: Gateway
    caller: Caller
    request_id: str


Handler = Callable[[Request, Context], Awaitable[Response]]


def new_request_id() -> str:
    # Server-generated: the request id keys the usage record, so a caller must not choose it.
    return uuid.uuid4().hex


# The encoder Starlette's JSONResponse.render builds on every response (json.dumps with these
# options), built once: the same bytes, ~1 µs less per answer.
_ENCODE_JSON = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
).encode


class AnswerResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _ENCODE_JSON(content).encode("utf-8")


def answer_response(answer: Answer) -> JSONResponse:
    return AnswerResponse(answer.body, status_code=answer.status, headers=answer.headers)


async def serve(request: Request, handler: Handler) -> Response:
    request_id = new_request_id()

    async def run() -> Response:
        try:
            gateway = await root.get_gateway()
            caller = await gateway.callers.resolve(request.headers)
            response = await handler(request, Context(gateway, caller, request_id))
        except Exception as exc:
            return error_response(exc, request_id)
        response.headers["x-request-id"] = request_id
        return response

    # The request span and the log context; a caller's x-request-id is kept apart from ours
    # (client_request_id), because ours keys the usage record.
    return await observe_request(request, request_id, run)
