"""The gateway's ports: one small Protocol per outside service.

Each has an embedded adapter (SQLite store, SQLite-backed queue, the simulator via the openai SDK)
and a production one (Cosmos DB, Service Bus, Azure OpenAI). The shapes follow the production SDKs:
every read names its partition (business unit, month), concurrency is an opaque etag, expiry is a
TTL in seconds, and the queue speaks Service Bus (peek-lock, complete, abandon, dead-letter).
One contract suite (tests/contract/) runs against every adapter.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from shared.domain.chat import ChatRequest, ChatResult, StreamEvent
from shared.domain.embeddings import (
    EmbeddingRequest,
    EmbeddingResult,
    SemanticEntry,
    SemanticMatch,
)
from shared.domain.intent import UsageIntent
from shared.domain.records import (
    CachedCompletion,
    ChatSession,
    Job,
    QueueMessage,
    ReceivedMessage,
)
from shared.domain.usage import DailyRollup, UsageRecord

# Writes inside ``async with atomic():`` land together or not at all where the store can (the
# embedded one: one SQLite transaction); elsewhere one by one, in order.
Atomic = Callable[[], AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def one_by_one() -> AsyncIterator[None]:
    """``Atomic`` for a store without multi-record transactions: each write stands alone."""
    yield


class ConcurrencyConflict(Exception):
    """A conditional write lost: someone else changed the record since it was read."""


class AlreadyExists(Exception):
    """A create found a record with the same id."""


class StoreUnavailable(Exception):
    """The store could not take the operation (disk full or read-only, unreachable, throttled).

    ``retry_after`` (seconds) is set when the store said when to try again (a Cosmos DB 429);
    None when nothing suggests the next try would fare better soon.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CompletionCache(Protocol):
    async def get(self, key: str) -> CachedCompletion | None: ...

    async def put(self, entry: CachedCompletion, ttl_seconds: int) -> None: ...


class SemanticCache(Protocol):
    """Cached answers found by the similarity of their input's embedding, one partition (see
    SemanticEntry.partition) at a time; never across partitions."""

    async def nearest(
        self, partition: str, vector: Sequence[float], limit: int
    ) -> list[SemanticMatch]:
        """Up to ``limit`` unexpired entries of the partition, most similar first."""
        ...

    async def put(self, entry: SemanticEntry, ttl_seconds: int) -> None: ...


class UsageLedger(Protocol):
    async def record(self, record: UsageRecord) -> bool:
        """Upsert by (business unit, month, request id). True when the record is new."""
        ...

    async def record_new(self, record: UsageRecord) -> bool:
        """Create only: False, and nothing written, when the request id has a record."""
        ...

    async def get(self, business_unit: str, month: str, request_id: str) -> UsageRecord | None: ...

    async def list_partition(
        self, business_unit: str, month: str, since: datetime | None = None
    ) -> Sequence[UsageRecord]:
        """Every record of one business unit and month (one partition), oldest first; with
        ``since``, only those created at or after it."""
        ...

    def pages(
        self, business_unit: str, month: str, since: datetime | None = None
    ) -> AsyncIterator[Sequence[UsageRecord]]:
        """The same records a page at a time, in no set order (rollups: bounded memory, and
        the event loop serves requests between pages)."""
        ...


class UsageIntents(Protocol):
    """Write-ahead records of model calls in flight (shared/domain/intent.py), partitioned by
    business unit. Settling a call closes its intent; the sweeper closes the ones left behind."""

    async def open(self, intent: UsageIntent) -> None:
        """Store it before the call leaves; the same request id again replaces it."""
        ...

    async def get(self, business_unit: str, request_id: str) -> UsageIntent | None: ...

    async def close(self, business_unit: str, request_id: str) -> bool:
        """Remove it. True for exactly one of several closers: the one that settles it."""
        ...

    async def due(self, business_unit: str, before: datetime, limit: int) -> Sequence[UsageIntent]:
        """Up to ``limit`` open intents of the unit whose deadline is before ``before``,
        earliest deadline first."""
        ...


class RollupStore(Protocol):
    """Daily usage rollups (partition: business unit); reports read these, not raw records."""

    async def upsert(self, rollup: DailyRollup) -> None: ...

    async def query(
        self, business_units: Sequence[str] | None, first_day: str, last_day: str
    ) -> Sequence[DailyRollup]:
        """Rollups with first_day <= day <= last_day; None means every business unit."""
        ...

    async def mark_computed(self, business_unit: str, month: str, at: datetime) -> None:
        """Record that the unit's rollups of ``month`` (YYYY-MM) reflect the ledger as it stood
        at ``at`` (the recompute's start). Kept apart from the rollups themselves."""
        ...

    async def computed(
        self, business_units: Sequence[str], months: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        """When each (unit, month)'s rollups were last computed; absent: never."""
        ...


class SessionStore(Protocol):
    async def create(self, session: ChatSession) -> ChatSession:
        """Store a new session; returns it with its etag. Raises AlreadyExists."""
        ...

    async def get(self, business_unit: str, session_id: str) -> ChatSession | None:
        """None when missing or expired."""
        ...

    async def replace(self, session: ChatSession) -> ChatSession:
        """Write if session.etag still matches; returns the new etag. Raises ConcurrencyConflict."""
        ...

    async def delete(self, business_unit: str, session_id: str) -> bool: ...


class JobStore(Protocol):
    async def create(self, job: Job) -> Job:
        """Raises AlreadyExists."""
        ...

    async def get(self, business_unit: str, job_id: str) -> Job | None:
        """None when missing or expired."""
        ...

    async def replace(self, job: Job) -> Job:
        """Write if job.etag still matches. Raises ConcurrencyConflict."""
        ...


class CounterStore(Protocol):
    """Atomic counters shared by every instance (Cosmos patch ``incr`` in production)."""

    async def add(
        self, key: str, partition: str, delta: int, ttl_seconds: int | None = None
    ) -> int:
        """Add delta (may be negative) and return the new value, atomically. With
        ``ttl_seconds`` the counter is dropped that long after its last add (it then reads 0
        and starts again); without, it is kept for good."""
        ...

    async def get(self, key: str, partition: str) -> int: ...


class OverflowQueue(Protocol):
    """The send side of the overflow queue (Service Bus sender in production)."""

    async def send(self, message: QueueMessage, *, scheduled_at: datetime | None = None) -> None:
        """Enqueue; a message_id seen before within the duplicate window is dropped."""
        ...

    async def depth(self) -> int | None:
        """Active messages, when the adapter can tell cheaply (None otherwise)."""
        ...


class QueueReceiver(Protocol):
    """The receive side; in Azure it is the Functions trigger, locally the embedded queue."""

    async def receive(self, max_messages: int, lock_seconds: float) -> list[ReceivedMessage]: ...

    async def complete(self, lock_token: str) -> None: ...

    async def abandon(self, lock_token: str) -> None: ...

    async def dead_letter(self, lock_token: str, reason: str) -> None: ...

    async def renew_lock(self, lock_token: str, lock_seconds: float) -> None: ...


class ChatModel(Protocol):
    """Azure OpenAI chat completions: one deployment (adapter) or many (the router)."""

    async def complete(self, request: ChatRequest) -> ChatResult: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...


class EmbeddingModel(Protocol):
    """Azure OpenAI embeddings: one deployment (adapter) or many (the router)."""

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult: ...
