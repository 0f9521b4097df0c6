"""The frame around every HTTP function: request id, caller, error map, response headers."""

from __future__ import annotations

import json
import os
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


_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


@dataclass(frozen=True, slots=True)
class Context:
    gateway: Gateway
    caller: Caller
    request_id: str


Handler = Callable[[Request, Context], Awaitable[Response]]


def new_request_id() -> str:
    # Server-generated: the request id keys the usage record, so a caller must not choose it.
    # uuid.uuid4().hex without building a UUID object (~1.3 µs less): 122 random bits with the
    # version (4) and variant (RFC 4122) bits set exactly as uuid.UUID(version=4) sets them.
    value = int.from_bytes(os.urandom(16), "big")
    return f"{value & _UUID4_CLEAR | _UUID4_SET:032x}"


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


def _set_request_id(response: Response, request_id: str) -> None:
    """``response.headers["x-request-id"] = request_id``, which builds a MutableHeaders view to
    replace a header the response almost never has (~5x the cost of this scan)."""
    for name, _ in response.raw_headers:
        if name == b"x-request-id":
            response.headers["x-request-id"] = request_id
            return
    response.raw_headers.append((b"x-request-id", request_id.encode("latin-1")))


async def serve(request: Request, handler: Handler) -> Response:
    request_id = new_request_id()

    async def run() -> Response:
        try:
            gateway = await root.get_gateway()
            caller = await gateway.callers.resolve(request.headers)
            response = await handler(request, Context(gateway, caller, request_id))
        except Exception as exc:
            return error_response(exc, request_id)
        _set_request_id(response, request_id)
        return response

    # The request span and the log context; a caller's x-request-id is kept apart from ours
    # (client_request_id), because ours keys the usage record.
    return await observe_request(request, request_id, run)
