"""Server-sent events on the wire: a handler's stream events framed as ``event:``/``data:``.

https://html.spec.whatwg.org/multipage/server-sent-events.html. Frames: ``event: delta``
``{"text"}`` per upstream delta, ``event: done`` with the usage and request id, or
``event: error`` with the standard error body when upstream fails after the first byte (the
status line has gone by then).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from shared.domain.errors import BadRequest
from shared.handlers.streaming import Delta, Done, ReplyEvent
from shared.http.error_map import error_body, to_gateway_error

SSE_MEDIA_TYPE = "text/event-stream"
# No caching anywhere; X-Accel-Buffering stops nginx-style proxies from holding frames back.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_frame(event: str, data: Mapping[str, Any]) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def frame(event: ReplyEvent, request_id: str) -> bytes:
    if isinstance(event, Delta):
        return sse_frame("delta", {"text": event.text})
    if isinstance(event, Done):
        return sse_frame("done", event.fields)
    error = to_gateway_error(event.error, request_id)
    return sse_frame("error", error_body(error, request_id))


async def sse_frames(
    events: AsyncGenerator[ReplyEvent, None], request_id: str
) -> AsyncGenerator[bytes, None]:
    """The events as frames; closing this closes the events (their metering runs then)."""
    try:
        async for event in events:
            yield frame(event, request_id)
    finally:
        await events.aclose()


def wants_stream(body: Any, accept: str) -> bool:
    """``"stream"`` in the body decides (popped before validation); else the Accept header."""
    if isinstance(body, dict) and "stream" in body:
        value = body.pop("stream")
        if not isinstance(value, bool):
            raise BadRequest(
                "request body failed validation",
                code="validation_failed",
                details=[{"loc": ["stream"], "msg": "must be true or false", "type": "bool_type"}],
            )
        return value
    return any(part.split(";")[0].strip().lower() == SSE_MEDIA_TYPE for part in accept.split(","))
