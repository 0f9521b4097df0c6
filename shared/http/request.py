"""Reading what a caller sent: body size cap, JSON shape limits, route parameters.

Works the same under the Functions host (azurefunctions-extensions-http-fastapi hands us a
Starlette/FastAPI ``Request`` with ``path_params`` filled in from the route) and the local host.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request

from shared.domain.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from shared.json_limits import JsonRefused, loads_limited

MAX_JSON_KEYS = 1_000
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_LOG_VALUE_CHARS = 200
# Control, format (bidi overrides) and line/paragraph separators: what can forge or hide log lines.
_UNSAFE_IN_LOGS = frozenset({"Cc", "Cf", "Zl", "Zp"})

log = logging.getLogger("gateway.http")


def header(headers: Mapping[str, str], name: str, default: str = "") -> str:
    """``headers.get(name, default)``. On Starlette's Headers, Mapping.get finds an absent
    header by raising and catching KeyError, ~6x the cost of this membership test; most
    requests carry no Prefer, Accept or roles header."""
    if name not in headers:
        return default
    return headers[name]


def preferences(headers: Headers) -> frozenset[str]:
    """The preference names in every Prefer header (RFC 7240 §2), lower-cased, without their
    values and parameters: ``respond-async; wait=1`` and ``respond-async, wait=1`` both hold
    respond-async. Quoted values are cut out first (they may hold commas and semicolons)."""
    if "prefer" not in headers:
        return frozenset()
    names = set()
    for value in headers.getlist("prefer"):
        for preference in _QUOTED.sub('""', value).split(","):
            name = preference.partition(";")[0].partition("=")[0].strip().lower()
            if name:
                names.add(name)
    return frozenset(names)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it passes max_bytes (before any parsing)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            chunks.append(chunk)
    except ClientDisconnect:
        # Gone mid-body (or cut off by the host for sending too slowly): nobody reads the
        # answer, but it is still a caller's doing, not an internal error with a trace.
        raise BadRequest(
            "the connection closed before the request body was complete", code="body_incomplete"
        ) from None
    return b"".join(chunks)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body exceeds {max_bytes} bytes", code="body_too_large", details={"max": max_bytes}
    )


async def read_json(request: Request, max_bytes: int) -> Any:
    """The body as JSON within the limits (json_limits.py), else a 4xx; each refusal is logged
    as one line (a caller's mistake, not the gateway's: no trace)."""
    try:
        check_json_media_type(header(request.headers, "content-type", "application/json"))
        body = await read_body(request, max_bytes)
        if not body.strip():
            raise BadRequest("request body is empty; send a JSON object", code="invalid_json")
        try:
            data = loads_limited(body)
        except JsonRefused as exc:
            raise _refused(exc) from None
        check_json_shape(data)
    except GatewayError as exc:
        log.info("request body refused: %s %s (%s)", exc.status, exc.code, exc.message)
        raise
    return data


def check_json_media_type(content_type: str) -> None:
    """JSON, in UTF-8: the only charset RFC 8259 §8.1 allows, so another one is refused (415)
    rather than read as UTF-8 regardless, which would garble its text."""
    media_type, _, parameters = content_type.partition(";")
    if "json" not in media_type.lower():
        raise UnsupportedMediaType("send the body as application/json", code="unsupported_media")
    if not parameters:
        return
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset":
            continue
        if value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(
                "send the body as UTF-8 (application/json; charset=utf-8)",
                code="unsupported_charset",
                details=[{"loc": ["header", "content-type"], "msg": "charset must be utf-8"}],
            )


def _refused(exc: JsonRefused) -> BadRequest:
    if exc.code == "invalid_json":
        return BadRequest(
            "request body is not valid JSON",
            code="invalid_json",
            details=[{"loc": [], "msg": exc.message}],
        )
    return BadRequest(exc.message, code=exc.code)


def check_json_shape(data: Any) -> None:
    """Refuse JSON with too many members in all before validation walks it (its nesting was
    bounded before decoding)."""
    stack: list[Any] = [data]
    keys = 0
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            keys += len(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            keys += len(node)
            stack.extend(node)
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
