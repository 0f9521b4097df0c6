"""The bundle of store adapters the composition root hands to handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared.ports import (
    CompletionCache,
    CounterStore,
    JobStore,
    RollupStore,
    SessionStore,
    UsageLedger,
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
    # Releases connections/clients; called once when the process shuts down.
    close: Callable[[], Awaitable[None]] = _nothing
    # Cheap round trip for the readiness probe; raises when the store is unreachable.
    ping: Callable[[], Awaitable[None]] = _nothing
    kind: str = "embedded"
