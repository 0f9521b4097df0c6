"""Reading what a caller sent: body size cap, JSON shape limits, route parameters.

Works the same under the Functions host (azurefunctions-extensions-http-fastapi hands us a
Starlette/FastAPI ``Request`` with ``path_params`` filled in from the route) and the local host.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from shared.domain.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType

MAX_JSON_DEPTH = 16
MAX_JSON_KEYS = 1_000
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_LOG_VALUE_CHARS = 200
# Control, format (bidi overrides) and line/paragraph separators: what can forge or hide log lines.
_UNSAFE_IN_LOGS = frozenset({"Cc", "Cf", "Zl", "Zp"})


def header(headers: Mapping[str, str], name: str, default: str = "") -> str:
    """``headers.get(name, default)``. On Starlette's Headers, Mapping.get finds an absent
    header by raising and catching KeyError, ~6x the cost of this membership test; most
    requests carry no Prefer, Accept or roles header."""
    if name not in headers:
        return default
    return headers[name]


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it passes max_bytes (before any parsing)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body exceeds {max_bytes} bytes", code="body_too_large", details={"max": max_bytes}
    )


async def read_json(request: Request, max_bytes: int) -> Any:
    content_type = request.headers.get("content-type", "application/json")
    if "json" not in content_type.lower():
        raise UnsupportedMediaType("send the body as application/json", code="unsupported_media")
    body = await read_body(request, max_bytes)
    if not body.strip():
        raise BadRequest("request body is empty; send a JSON object", code="invalid_json")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(
            "request body is not valid JSON",
            code="invalid_json",
            details=[{"loc": [], "msg": f"line {getattr(exc, 'lineno', 1)}: not JSON"}],
        ) from None
    check_json_shape(data)
    return data


def check_json_shape(data: Any) -> None:
    """Refuse pathological JSON (deep nesting, huge objects) before validation walks it."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    keys = 0
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH}", code="json_too_deep")
        if isinstance(node, dict):
            keys += len(node)
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            keys += len(node)
            stack.extend((v, depth + 1) for v in node)
        if keys > MAX_JSON_KEYS:
            raise BadRequest(f"JSON has more than {MAX_JSON_KEYS} members", code="json_too_large")


def route_param(request: Request, name: str) -> str:
    """A route parameter under either host (both fill ``path_params`` from the route)."""
    value = request.path_params.get(name)
    if not isinstance(value, str) or not value:
        raise NotFound("no such resource", code="not_found")
    return value


def session_id_param(request: Request, name: str = "session_id") -> str:
    value = route_param(request, name)
    if not SESSION_ID.fullmatch(value):
        raise BadRequest(
            "session id is malformed",
            code="invalid_session_id",
            details=[{"loc": ["path", name], "msg": "expected 16-64 characters [A-Za-z0-9_-]"}],
        )
    return value


def safe_log_value(value: object, limit: int = MAX_LOG_VALUE_CHARS) -> str:
    """A caller-supplied value made safe for one log line: newlines, control and bidi characters
    escaped (a value cannot start a forged line), backslashes doubled, long values cut."""
    text = str(value)
    cut = len(text) - limit
    escaped = "".join(
        "\\\\"
        if ch == "\\"
        else f"\\u{ord(ch):04x}"
        if unicodedata.category(ch) in _UNSAFE_IN_LOGS
        else ch
        for ch in text[:limit]
    )
    return f"{escaped}...(+{cut} chars)" if cut > 0 else escaped
