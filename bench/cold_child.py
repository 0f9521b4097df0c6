"""One cold start, in the fresh process bench/cold_start.py spawns: ``python -m bench.cold_child``.

Prints one JSON line of ``time.perf_counter()`` readings (CLOCK_MONOTONIC on Linux, so the parent
can subtract its own reading taken just before the spawn) and of the process's CPU time
(``time.process_time()``, which other processes on a busy machine do not inflate) at each step:

* ``imported``: ``import function_app`` done, and the app indexed (``app.get_functions()``), as
  the Python worker does before the host sends the first invocation;
* ``built`` (mode ``build``): the gateway built (``await get_gateway()``) before any request;
* ``answered`` (modes ``health``, ``ready``, ``summarize``): the first request answered, with its
  body read to the end, by calling the registered function as the worker does (the HTTP-streams
  extension hands it a Starlette request).

The environment (bench/cold_start.py) points the app at a running simulator and a fresh data
directory, with telemetry off, so nothing here depends on the developer's settings.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before anything else is imported
import asyncio  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

REQUESTS: dict[str, tuple[str, str, str, bytes]] = {
    # mode: (function name, method, path, body)
    "health": ("health_live", "GET", "/api/health", b""),
    "ready": ("health_ready", "GET", "/api/health/ready", b""),
    "summarize": (
        "usecase_run",
        "POST",
        "/api/v1/summarize",
        json.dumps(
            {"text": "Revenue rose 12% in Q3 while costs stayed flat; the board approved the plan."}
        ).encode(),
    ),
}
HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-business-unit", b"marketing"),
    (b"x-user-id", b"cold-start@contoso.com"),
]


def _handlers(app: Any) -> dict[str, Callable[..., Any]]:
    return {str(fn.get_function_name()): fn.get_user_function() for fn in app.get_functions()}


async def _call(handler: Callable[..., Any], method: str, path: str, body: bytes) -> int:
    from starlette.requests import Request

    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [*HEADERS, (b"content-length", str(len(body)).encode())],
        "server": ("127.0.0.1", 7071),
        "client": ("127.0.0.1", 50000),
        "path_params": {"usecase": path.rsplit("/", 1)[-1]} if method == "POST" else {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # no disconnect while the answer is written
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    response = await handler(req=Request(scope, receive))
    await response(scope, receive, send)
    return status


async def _run(mode: str, handlers: dict[str, Callable[..., Any]]) -> dict[str, Any]:
    from shared.composition.root import get_gateway

    if mode == "build":
        gateway = await get_gateway()
        reading = {"built": time.perf_counter(), "built_cpu": time.process_time()}
    else:
        name, method, path, body = REQUESTS[mode]
        status = await _call(handlers[name], method, path, body)
        reading = {"answered": time.perf_counter(), "answered_cpu": time.process_time()}
        reading["status"] = status
        gateway = await get_gateway()
    await gateway.close()  # after the readings: closing is not part of a cold start
    return reading


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_child")
    parser.add_argument("mode", choices=["import", "build", *REQUESTS])
    mode = parser.parse_args().mode
    import function_app

    handlers = _handlers(function_app.app)
    reading: dict[str, Any] = {
        "started": STARTED,
        "imported": time.perf_counter(),
        "imported_cpu": time.process_time(),
    }
    if mode != "import":
        reading.update(asyncio.run(_run(mode, handlers)))
    reading["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reading["modules"] = len(sys.modules)
    print(json.dumps(reading), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
