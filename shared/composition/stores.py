"""The bundle of store adapters the composition root hands to handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared.ports import (
    Atomic,
    CompletionCache,
    CounterStore,
    JobStore,
    RollupStore,
    SemanticCache,
    SessionStore,
    UsageIntents,
    UsageLedger,
    one_by_one,
)


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Stores:
    cache: CompletionCache
    ledger: UsageLedger
    rollups: RollupStore
    sessions: SessionStore
    jobs: JobStore
    counters: CounterStore
    intents: UsageIntents
    atomic: Atomic = one_by_one
    # Answers found by embedding similarity (use cases with cache.mode "semantic").
    semantic: SemanticCache | None = None
    # Releases connections/clients; called once when the process shuts down.
    close: Callable[[], Awaitable[None]] = _nothing
    # Readiness: a cheap write (metering needs writes); raises when the store cannot take it.
    ping: Callable[[], Awaitable[None]] = _nothing
    kind: str = "embedded"
