"""The local host's HTTP server refuses what the Functions front end would (devhost/http_limits.py):
too many or too large header fields (431), a long request line (414), a head or a body that
trickles in (408, connection closed). Real sockets on loopback, with short timeouts."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devhost.host import run_local_host
from devhost.http_limits import HttpLimits, guarded_protocol
from shared.settings import Settings
from simulator.serve import serve_asgi

LIMITS = HttpLimits(
    max_header_count=20,
    max_header_bytes=4096,
    max_request_line_bytes=1024,
    headers_timeout_seconds=0.5,
    min_body_bytes_per_second=240.0,
    body_grace_seconds=0.3,
)
HEAD = "POST /echo HTTP/1.1\r\nHost: x\r\n"


class Echo:
    """Answers with the body's length, after ``delay``; records a client that went away."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.disconnects = 0

    async def handle(self, request: Request) -> JSONResponse:
        await asyncio.sleep(self.delay)
        try:
            body = await request.body()
        except ClientDisconnect:
            self.disconnects += 1
            raise
        return JSONResponse({"bytes": len(body)})


@pytest.fixture
def echo() -> Echo:
    return Echo()


@pytest.fixture
async def address(echo: Echo) -> AsyncIterator[tuple[str, int]]:
    app = Starlette(routes=[Route("/echo", echo.handle, methods=["GET", "POST"])])
    async with serve_asgi(app, http=guarded_protocol(LIMITS)) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


async def exchange(
    address: tuple[str, int], *parts: bytes, pause: float = 0.0
) -> tuple[int, dict[str, Any], bool]:
    """Writes ``parts`` ``pause`` s apart, stopping early if the server answers meanwhile, then
    reads one answer: (status, JSON body, whether the server then closed the connection)."""
    reader, writer = await asyncio.open_connection(*address)
    status_line = b""
    try:
        for part in parts:
            try:
                writer.write(part)
                await writer.drain()
            except ConnectionError:
                break
            if pause:
                try:  # the answer, if the server gave one before the client finished
                    status_line = await asyncio.wait_for(reader.readline(), pause)
                    break
                except TimeoutError:
                    continue
        status_line = status_line or await asyncio.wait_for(reader.readline(), 5)
        headers: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers["content-length"]))
        closed = headers.get("connection") == "close"
        if closed:
            assert await asyncio.wait_for(reader.read(1), 5) == b"", "data after the answer"
    finally:
        writer.close()
    return int(status_line.split()[1]), json.loads(body), closed


def error_code(answer: tuple[int, dict[str, Any], bool], status: int) -> str:
    got, body, closed = answer
    assert got == status, body
    assert set(body["error"]) == {"code", "message", "request_id", "details"}
    assert closed, "the server should close the connection after refusing"
    code: str = body["error"]["code"]
    return code


def request(headers: int = 0, size: int = 1, body: bytes = b"") -> bytes:
    fields = "".join(f"x-h{i}: {'v' * size}\r\n" for i in range(headers))
    return f"{HEAD}{fields}content-length: {len(body)}\r\n\r\n".encode() + body


async def test_header_fields_within_the_limits_pass(address: tuple[str, int]) -> None:
    status, body, _ = await exchange(address, request(headers=LIMITS.max_header_count - 2))
    assert (status, body) == (200, {"bytes": 0})


async def test_too_many_header_fields_are_431(address: tuple[str, int]) -> None:
    answer = await exchange(address, request(headers=LIMITS.max_header_count + 1))
    assert error_code(answer, 431) == "headers_too_large"


async def test_too_many_header_bytes_are_431(address: tuple[str, int]) -> None:
    answer = await exchange(address, request(headers=2, size=LIMITS.max_header_bytes // 2))
    assert error_code(answer, 431) == "headers_too_large"


async def test_a_header_field_that_never_ends_is_431_without_waiting(
    address: tuple[str, int],
) -> None:
    endless = f"{HEAD}x-endless: ".encode() + b"v" * (4 * LIMITS.max_header_bytes)
    started = time.monotonic()
    answer = await exchange(address, endless)
    assert error_code(answer, 431) == "headers_too_large"
    assert time.monotonic() - started < LIMITS.headers_timeout_seconds


async def test_a_long_request_line_is_414(address: tuple[str, int]) -> None:
    line = f"GET /echo?q={'a' * LIMITS.max_request_line_bytes} HTTP/1.1\r\nHost: x\r\n\r\n"
    assert error_code(await exchange(address, line.encode()), 414) == "uri_too_long"


async def test_a_head_that_trickles_in_is_408(address: tuple[str, int]) -> None:
    started = time.monotonic()
    answer = await exchange(address, *[bytes([b]) for b in request()], pause=0.05)
    assert error_code(answer, 408) == "request_timeout"
    assert time.monotonic() - started < LIMITS.headers_timeout_seconds + 1


async def test_a_silent_connection_is_408(address: tuple[str, int]) -> None:
    assert error_code(await exchange(address), 408) == "request_timeout"


async def test_a_body_sent_a_byte_per_100ms_is_408_and_closed(
    address: tuple[str, int], echo: Echo
) -> None:
    body = b"x" * 100
    head = request(body=body)[: -len(body)]
    started = time.monotonic()
    answer = await exchange(address, head, *[bytes([b]) for b in body], pause=0.1)
    assert error_code(answer, 408) == "request_timeout"
    assert time.monotonic() - started < LIMITS.body_grace_seconds + 1.5
    assert echo.disconnects == 1  # the app was told the client is gone


async def test_a_slow_body_above_the_minimum_rate_passes(address: tuple[str, int]) -> None:
    body = b"x" * 1200  # 50 bytes every 40 ms: ~1,250 B/s for ~1 s, past the grace period
    head = request(body=body)[: -len(body)]
    chunks = [body[i : i + 50] for i in range(0, len(body), 50)]
    status, answer, _ = await exchange(address, head, *chunks, pause=0.04)
    assert (status, answer) == (200, {"bytes": len(body)})


async def test_time_the_server_stops_reading_is_not_the_clients(echo: Echo) -> None:
    # At 1 MB/s, the 64 KiB uvicorn buffers before it stops reading last 65 ms: the app's 1 s
    # nap would time the client out if the paused time counted against it.
    fast = HttpLimits(min_body_bytes_per_second=1_000_000, body_grace_seconds=0.2)
    echo.delay = 1.0
    app = Starlette(routes=[Route("/echo", echo.handle, methods=["POST"])])
    async with serve_asgi(app, http=guarded_protocol(fast)) as url:
        host, port = url.removeprefix("http://").split(":")
        body = b"x" * 512 * 1024
        status, answer, _ = await exchange((host, int(port)), request(body=body))
    assert (status, answer) == (200, {"bytes": len(body)})


async def test_requests_on_one_kept_alive_connection_start_afresh(
    address: tuple[str, int],
) -> None:
    one = request(headers=LIMITS.max_header_count - 2, body=b"abc")
    reader, writer = await asyncio.open_connection(*address)
    for _ in range(3):
        writer.write(one)
        await writer.drain()
        assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(LIMITS.headers_timeout_seconds / 2)  # no timer left from before
        while (await reader.readline()) != b"\r\n":
            pass
        await reader.readexactly(len(b'{"bytes":3}'))
    writer.close()


async def test_the_local_host_serves_the_app_with_the_limits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway itself: a trickled body is 408, and the app logs no error for it."""
    settings = Settings(gateway_data_dir=tmp_path)
    async with run_local_host(
        settings, simulator_port=None, run_triggers=False, limits=LIMITS
    ) as local:
        host, port = local.base_url.removeprefix("http://").split(":")
        body = b'{"text": "' + b"x" * 80 + b'"}'
        head = (
            "POST /api/v1/summarize HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            "x-business-unit: marketing\r\nx-user-id: alice@contoso.com\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        with caplog.at_level(logging.INFO):
            answer = await exchange((host, int(port)), head, *[bytes([b]) for b in body], pause=0.1)
            await asyncio.sleep(0.1)  # the app's side of the disconnect
        assert error_code(answer, 408) == "request_timeout"
        too_many = await exchange((host, int(port)), request(headers=LIMITS.max_header_count + 1))
        assert error_code(too_many, 431) == "headers_too_large"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("body_incomplete" in r.getMessage() for r in caplog.records)
