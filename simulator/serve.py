"""Serve an ASGI app on loopback inside the current event loop, for end-to-end tests and benches.

async with serve_simulator(config) as base_url:
    client = openai.AsyncAzureOpenAI(azure_endpoint=base_url, api_key="x", ...)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import uvicorn

from simulator.app import create_app
from simulator.config import SimulatorConfig

STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 5


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The host process (pytest, a bench) owns Ctrl-C; a background server must not take it.
        yield


class PortInUse(OSError):
    """Another process holds the port: named, so a host can say which one and what to do."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is already in use")
        self.host, self.port = host, port


def _bind(host: str, port: int) -> socket.socket:
    # Binding here, not in uvicorn, makes port 0 race-free: the port is ours before we report it.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto is TCP; without
    # it every kept-alive response waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Linux hands TCP_NODELAY down to accepted sockets: without it, a small response on a
    # kept-alive connection can wait ~40 ms for the peer's delayed ACK (Nagle's algorithm).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise
    sock.set_inheritable(True)
    return sock


@contextlib.asynccontextmanager
async def serve_asgi(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, http: type[asyncio.Protocol] | str = "auto"
) -> AsyncIterator[str]:
    """Serves ``app`` with uvicorn in a background task; yields ``http://host:port``.
    ``http``: uvicorn's HTTP protocol (a name, or a class it instantiates per connection)."""
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        http=http,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Loopback, nothing in front: X-Forwarded-* would only be the caller's say-so, and the
        # middleware that reads them costs every request.
        proxy_headers=False,
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_SECONDS,
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {host}:{port} did not start")
            await asyncio.sleep(0.01)
        bound_port = sock.getsockname()[1]
        shown_host = f"[{host}]" if ":" in host else host
        yield f"http://{shown_host}:{bound_port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_TIMEOUT_SECONDS + 1)
        except TimeoutError:
            server.force_exit = True
            await task
        except SystemExit:
            # uvicorn calls sys.exit() when it cannot start; that was reported above.
            if server.started:
                raise
        sock.close()


@contextlib.asynccontextmanager
async def serve_simulator(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[str]:
    """The simulator on a real loopback port (0: a free one); yields its base URL."""
    async with serve_asgi(create_app(config, clock), host, port) as base_url:
        yield base_url
