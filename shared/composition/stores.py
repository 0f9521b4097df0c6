"""The bundle of store adapters the composition root hands to handlers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from shared.ports import (
    CompletionCache,
    CounterStore,
    JobStore,
    RollupStore,
    SessionStore,
    UsageIntents,
    UsageLedger,
)


async def _nothing() -> None:
    return None


@contextlib.asynccontextmanager
async def one_by_one() -> AsyncIterator[None]:
    """For a store without multi-record transactions: each write inside stands alone."""
    yield


@dataclass(frozen=True)
class Stores:
    cache: CompletionCache
    ledger: UsageLedger
    rollups: RollupStore
    sessions: SessionStore
    jobs: JobStore
    counters: CounterStore
    intents: UsageIntents
    # Writes inside ``async with atomic():`` land together or not at all where the store can
    # (the embedded one: one SQLite transaction); elsewhere one by one, in order.
    atomic: Callable[[], AbstractAsyncContextManager[None]] = one_by_one
    # Releases connections/clients; called once when the process shuts down.
    close: Callable[[], Awaitable[None]] = _nothing
    # Readiness: a cheap write (metering needs writes); raises when the store cannot take it.
    ping: Callable[[], Awaitable[None]] = _nothing
    kind: str = "embedded"
