"""What the input limits cost: ``python -m bench.limits_bench``. Not part of the tests.

1. JSON decoded with limits (shared/json_limits.py) against plain ``json.loads``, on the overhead
   bench's summarize body and on hostile 256 KiB bodies (best of 5 runs each).
2. The local host's HTTP limits (devhost/http_limits.py) against uvicorn's own httptools
   protocol: one kept-alive connection fed the bench's request in process (no sockets, an ASGI
   app that only answers), CPU per request, runs interleaved, best of ``--runs``.

On a shared machine the figures move with its load; compare the columns of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import timeit
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from bench.overhead import FILLER
from devhost.http_limits import HttpLimits, guarded_protocol
from shared.json_limits import JsonRefused, loads_limited

BODY = json.dumps({"text": f"bench-mark-0123456789ab {FILLER}"}).encode()
HOSTILE = {
    "256 KiB text holding 38k brackets": json.dumps({"text": "word [x] {y} " * 19_000}).encode(),
    "100,000-deep array": b"[" * 100_000 + b"]" * 100_000,
    "256 KiB of [] pairs": b"[" + b"[]," * 85_000 + b"[]]",
    "256 KiB of 16-deep nests": b"[" + (b"[" * 15 + b"]" * 15 + b",") * 8_000 + b"[]]",
    "256 KiB of empty strings": b"[" + b'"",' * 85_000 + b'""]',
    "5,000-digit integer": b'{"n": ' + b"9" * 5_000 + b"}",
}
REQUEST = (
    b"POST /api/v1/summarize HTTP/1.1\r\nHost: 127.0.0.1:7071\r\n"
    b"content-type: application/json\r\nx-business-unit: marketing\r\n"
    b"x-user-id: bench@contoso.com\r\ncontent-length: %d\r\n\r\n" % len(BODY)
) + BODY


def best_of(fn: Callable[[], object], number: int) -> float:
    """Seconds per call, best of 5 runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def decode(loads: Callable[[bytes], Any], body: bytes) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(JsonRefused, ValueError, RecursionError):
            loads(body)

    return run


def json_rows() -> list[str]:
    rows = [f"{'body':40s} {'loads_limited':>14s} {'json.loads':>12s}"]
    ours, plain = (
        best_of(decode(loads_limited, BODY), 20_000),
        best_of(decode(json.loads, BODY), 20_000),
    )
    rows.append(
        f"{f'the bench body ({len(BODY)} bytes)':40s} {ours * 1e6:11.2f} µs {plain * 1e6:9.2f} µs"
    )
    for name, body in HOSTILE.items():
        ours, plain = best_of(decode(loads_limited, body), 3), best_of(decode(json.loads, body), 3)
        rows.append(f"{name:40s} {ours * 1e3:11.2f} ms {plain * 1e3:9.2f} ms")
    return rows


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


class _Sink(asyncio.Transport):
    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 7071) if name in ("sockname", "peername") else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def protocol_cpu(cls: type[asyncio.Protocol], requests: int) -> float:
    """CPU seconds per request on one kept-alive connection."""
    config = uvicorn.Config(_answer, lifespan="off", log_level="warning")
    config.load()
    protocol: Any = cls(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
    protocol.connection_made(_Sink())
    started = time.process_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)  # the app's task runs and answers
        await asyncio.sleep(0)
    spent = time.process_time() - started
    protocol.connection_lost(None)
    return spent / requests


async def protocol_rows(runs: int, requests: int) -> list[str]:
    kinds: dict[str, type[asyncio.Protocol]] = {
        "uvicorn httptools": HttpToolsProtocol,
        "with devhost limits": guarded_protocol(HttpLimits()),
    }
    spent: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(runs):
        for name, cls in kinds.items():
            spent[name].append(await protocol_cpu(cls, requests))
    return [f"{name:40s} {min(v) * 1e6:8.2f} µs CPU per request" for name, v in spent.items()]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.limits_bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    print("\n".join(json_rows()))
    print()
    print("\n".join(asyncio.run(protocol_rows(args.runs, args.requests))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
