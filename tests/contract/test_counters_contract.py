"""CounterStore contract: atomic add under concurrency, independent keys and partitions."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.synchronize
import uuid
from pathlib import Path

from shared.composition.embedded import open_embedded_stores
from shared.ports import CounterStore

from . import ContractClock


async def test_unknown_counter_is_zero(counters: CounterStore, bu: str) -> None:
    assert await counters.get("tokens", bu) == 0


async def test_add_returns_the_new_value(counters: CounterStore, bu: str) -> None:
    assert await counters.add("tokens", bu, 100) == 100
    assert await counters.add("tokens", bu, 50) == 150
    assert await counters.add("tokens", bu, -30) == 120
    assert await counters.get("tokens", bu) == 120


async def test_keys_and_partitions_are_independent(counters: CounterStore, bu: str) -> None:
    other = f"{bu}-other"
    await counters.add("tokens", bu, 7)
    await counters.add("calls", bu, 1)
    await counters.add("tokens", other, 1000)

    assert await counters.get("tokens", bu) == 7
    assert await counters.get("calls", bu) == 1
    assert await counters.get("tokens", other) == 1000


async def test_concurrent_adds_sum_exactly(counters: CounterStore, bu: str) -> None:
    key = f"inflight-{uuid.uuid4().hex}"

    results = await asyncio.gather(*(counters.add(key, bu, 1) for _ in range(50)))

    # Each add saw its own distinct total: no two read the same value before writing.
    assert sorted(results) == list(range(1, 51))
    assert await counters.get(key, bu) == 50


async def test_a_counter_with_a_ttl_expires_that_long_after_its_last_add(
    counters: CounterStore, bu: str, clock: ContractClock
) -> None:
    key = f"hold-{uuid.uuid4().hex}"
    assert await counters.add(key, bu, 5, ttl_seconds=2) == 5
    await clock.advance(1)
    assert await counters.add(key, bu, 1, ttl_seconds=2) == 6  # and the expiry moves
    await clock.advance(1)
    assert await counters.get(key, bu) == 6  # 2 s after the first add, 1 s after the last
    await clock.advance(1)
    assert await counters.get(key, bu) == 0


async def test_an_expired_counter_starts_again(
    counters: CounterStore, bu: str, clock: ContractClock
) -> None:
    key = f"hold-{uuid.uuid4().hex}"
    await counters.add(key, bu, 5, ttl_seconds=1)
    await clock.advance(1)
    assert await counters.add(key, bu, 3, ttl_seconds=1) == 3


# Embedded only: several processes on one database file (the local host and its worker).
PROCESSES = 4
ADDS_PER_PROCESS = 100


def _add_many(data_dir: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    async def run() -> None:
        stores = open_embedded_stores(Path(data_dir))
        barrier.wait()
        for _ in range(ADDS_PER_PROCESS):
            await stores.counters.add("shared", "bu-x", 1)
        await stores.close()

    asyncio.run(run())


async def test_embedded_adds_from_several_processes_sum_exactly(tmp_path: Path) -> None:
    await open_embedded_stores(tmp_path).close()  # create the schema before the race starts
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_add_many, args=(str(tmp_path), barrier)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        await asyncio.to_thread(proc.join, 60)
        assert proc.exitcode == 0

    stores = open_embedded_stores(tmp_path)
    assert await stores.counters.get("shared", "bu-x") == PROCESSES * ADDS_PER_PROCESS
    await stores.close()
