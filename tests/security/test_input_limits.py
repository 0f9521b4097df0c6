"""Bad input never hurts: size caps before parsing, shape limits, strict models, identity header
sizes, session id format. Each answer is a 4xx in the standard error shape, never a 5xx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.asgi import build_asgi
from devhost.host import indexed_app
from devhost.http_limits import HttpLimits, guarded_protocol
from shared.composition.root import Gateway
from shared.settings import Settings
from simulator.serve import serve_asgi
from tests.fakes import FakeChatModel

HEADERS = {"x-business-unit": "marketing", "x-user-id": "alice@contoso.com"}
MAX_BODY = 4096


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(gateway_data_dir=tmp_path, gateway_max_body_bytes=MAX_BODY)


@pytest.fixture
async def base_url(gateway: Gateway) -> AsyncIterator[str]:
    """The same functions over real HTTP (uvicorn), for what an in-process client cannot send."""
    http = guarded_protocol(HttpLimits())  # as run_local_host serves it
    async with serve_asgi(build_asgi(indexed_app().http), http=http) as url:
        yield url


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    return error


async def post_raw(base_url: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request written by hand (a client library would fix the lies)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    rest = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    return int(status_line.split()[1]), rest


async def test_body_over_the_cap_is_413(client: httpx.AsyncClient, chat: FakeChatModel) -> None:
    body = json.dumps({"text": "x" * (MAX_BODY + 1)})
    response = await client.post("/api/v1/summarize", content=body, headers=HEADERS)
    assert error_of(response, 413)["code"] == "body_too_large"
    assert chat.calls == []


async def test_content_length_understating_the_body_does_not_bypass_the_cap(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(64):
            yield b"x" * 32_768  # 2 MiB in all, while the header claims 10 bytes

    headers = {**HEADERS, "content-type": "application/json", "content-length": "10"}
    response = await client.post("/api/v1/summarize", content=chunks(), headers=headers)
    assert error_of(response, 413)["code"] == "body_too_large"


async def test_content_length_overstating_the_body_is_413_without_waiting(base_url: str) -> None:
    head = (
        "POST /api/v1/summarize HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        "x-business-unit: marketing\nx-user-id: alice\nContent-Length: 10000000\n"
    )
    status, _ = await post_raw(base_url, head, b'{"text": "short"}')
    assert status == 413


async def test_chunked_body_over_the_cap_is_413(base_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b"x" * 1024

    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/api/v1/summarize", content=chunks(), headers=HEADERS)
    assert error_of(response, 413)["code"] == "body_too_large"


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "t", "extra": nested(20)}, "json_too_deep"),
        ({"text": "t", "extra": [0] * 1001}, "json_too_large"),
        ({"text": "t", "temperature": 2}, "validation_failed"),  # unknown field
        ({"text": "t", "max_words": "50; DROP"}, "validation_failed"),
        ({"text": {"$ne": None}}, "validation_failed"),
        ([{"text": "t"}], "invalid_body"),
    ],
    ids=["deep", "wide", "unknown-field", "wrong-type", "operator-object", "array"],
)
async def test_json_shape_and_strict_models(
    client: httpx.AsyncClient, chat: FakeChatModel, body: Any, code: str
) -> None:
    response = await client.post("/api/v1/summarize", json=body, headers=HEADERS)
    assert error_of(response, 400)["code"] == code
    assert chat.calls == []


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"text": ', "application/json", 400, "invalid_json"),
        (b'{"text": "\xff\xfe"}', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b"text=hello", "application/x-www-form-urlencoded", 415, "unsupported_media"),
    ],
    ids=["truncated", "not-utf8", "empty", "form"],
)
async def test_unparseable_bodies(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {**HEADERS, "content-type": content_type}
    response = await client.post("/api/v1/summarize", content=content, headers=headers)
    assert error_of(response, status)["code"] == code


@pytest.mark.parametrize(
    ("header", "value", "status", "code"),
    [
        ("x-user-id", "a" * 129, 401, "invalid_user"),
        ("x-user-id", "alice' OR '1'='1", 401, "invalid_user"),
        ("x-user-id", "alice\u202eeci1a", 401, "invalid_user"),
        ("x-business-unit", "m" * 100, 401, "invalid_business_unit"),
        ("x-business-unit", "Marketing", 403, "unknown_business_unit"),
        ("x-user-roles", "finance," * 400, 401, "invalid_roles"),
    ],
    ids=["long-user", "quote-user", "bidi-user", "long-unit", "case-unit", "long-roles"],
)
async def test_identity_headers_are_bounded(
    client: httpx.AsyncClient, header: str, value: str, status: int, code: str
) -> None:
    # Sent as UTF-8 bytes, as a client would; the server decodes headers as Latin-1.
    headers = [(k.encode(), v.encode()) for k, v in {**HEADERS, header: value}.items()]
    response = await client.get("/api/v1/usecases", headers=headers)
    assert error_of(response, status)["code"] == code


async def test_oversized_header_block_is_refused_by_the_server(base_url: str) -> None:
    head = f"GET /api/v1/usecases HTTP/1.1\nHost: x\nx-user-id: {'a' * 70_000}\n"
    status, _ = await post_raw(base_url, head)
    assert status == 431  # devhost/http_limits.py, before the app sees it


@pytest.mark.parametrize(
    "session_id",
    ["short", "a" * 65, "abcdefghijklmnop%27%20OR%201%3D1", "..%2F..%2Fabcdefghijklmnop"],
    ids=["short", "long", "quote", "traversal"],
)
async def test_session_id_format(client: httpx.AsyncClient, session_id: str) -> None:
    response = await client.get(f"/api/v1/chat/sessions/{session_id}", headers=HEADERS)
    assert response.status_code in (400, 404), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "invalid_session_id"
