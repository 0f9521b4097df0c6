"""What the write-ahead usage record costs a cache miss: ``python -m bench.intent_cost``.

In process, no HTTP: the summarize use case through its handler on the embedded store, against a
model that answers at once, with unique texts (every call a cache miss). The same gateway is run
with the real intent store (an insert before the call, a delete when it settles) and with one
that does nothing, alternating rounds so both meet the same load. CPU time of the process per
call (``time.process_time``), low percentiles first: on a shared machine the median swings
with other work, the low end much less. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

from shared.composition.embedded import open_embedded_queue, open_embedded_stores
from shared.composition.root import Gateway, assemble
from shared.domain.caller import Caller
from shared.domain.chat import ChatRequest, ChatResult, StreamEvent, TokenUsage
from shared.domain.intent import UsageIntent
from shared.handlers.usecases import run_usecase
from shared.settings import Settings

CALLER = Caller("marketing", "bench@contoso.com")


class InstantModel:
    """Answers every call at once with a short summary (usage as Azure would count it)."""

    async def complete(self, request: ChatRequest) -> ChatResult:
        usage = TokenUsage(request.prompt_tokens, 12)
        return ChatResult("Revenue rose; costs stayed flat.", usage, "gpt-4o-mini", "d", "eastus")

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError("the bench does not stream")
        yield  # an async generator, as the port wants


class NoIntents:
    """An intent store that stores nothing: the gateway as it was before intents."""

    async def open(self, intent: UsageIntent) -> None:
        return None

    async def get(self, business_unit: str, request_id: str) -> UsageIntent | None:
        return None

    async def close(self, business_unit: str, request_id: str) -> bool:
        return True

    async def due(self, business_unit: str, before: datetime, limit: int) -> Sequence[UsageIntent]:
        return []


def gateway(data_dir: Path, intents: bool) -> Gateway:
    stores = open_embedded_stores(data_dir)
    if not intents:
        stores = dataclasses.replace(stores, intents=NoIntents())
    queue = open_embedded_queue(data_dir)
    gw = assemble(Settings(gateway_data_dir=data_dir), stores, queue, InstantModel())
    gw.closers.extend([stores.close, queue.close])
    return gw


async def round_of(gw: Gateway, calls: int, first: int) -> float:
    """Microseconds of CPU per call over ``calls`` cache misses."""
    began = time.process_time()
    for n in range(first, first + calls):
        body = {"text": f"note {n}: revenue rose 12% in Q3 while costs stayed flat"}
        await run_usecase(gw.usecases, CALLER, "summarize", body, f"r{n:09d}", prefer_async=False)
    return (time.process_time() - began) / calls * 1e6


async def main(rounds: int, calls: int) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        variants = {"with intents": gateway(Path(a), True), "without": gateway(Path(b), False)}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for gw in variants.values():
            await round_of(gw, 300, 0)  # warm: tokenizer, caches, SQLite pages
        for r in range(rounds):
            for name, gw in variants.items():
                samples[name].append(await round_of(gw, calls, 1_000_000 * (r + 1)))
        print(f"CPU per cache miss, handler in process, {rounds} rounds of {calls} calls (µs)")
        print(f"{'':>14} {'min':>6} {'p10':>6} {'p25':>6} {'median':>7}")
        for name, values in samples.items():
            v = sorted(values)
            row = (v[0], v[len(v) // 10], v[len(v) // 4], statistics.median(v))
            print(f"{name:>14} " + " ".join(f"{x:6.0f}" for x in row))
        for gw in variants.values():
            await gw.close()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intent_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.calls))


if __name__ == "__main__":
    cli()
