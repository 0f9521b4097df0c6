"""What each family of handlers depends on: small frozen records the composition root builds once.

A handler's signature names its record, and the record names the ports it may touch, so what a
use case depends on is read off its parameters, not hidden in a container of everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.catalog import Catalog
from shared.deployment_groups import DeploymentGroups
from shared.domain.timestamps import WallClock
from shared.metering.meter import Meter
from shared.ports import (
    ChatModel,
    CompletionCache,
    EmbeddingModel,
    JobStore,
    OverflowQueue,
    RollupStore,
    SemanticCache,
    SessionStore,
    UsageIntents,
    UsageLedger,
)


@dataclass(frozen=True, slots=True)
class CallDeps:
    """Running one prepared model call: count and fit it, answer from the cache, meter it."""

    groups: DeploymentGroups
    cache: CompletionCache
    meter: Meter
    chat: ChatModel
    now: WallClock
    # Semantic-cache use cases (docs/semantic_cache.md): the vector store and the embeddings
    # model. Without both, such a use case uses only its exact cache (a gateway of fakes).
    semantic: SemanticCache | None = None
    embeddings: EmbeddingModel | None = None


@dataclass(frozen=True, slots=True)
class JobDeps:
    """Queued work: the job records, the overflow queue, the intents of calls a worker may have
    left open, and how long a job may live and run and how often it is tried."""

    jobs: JobStore
    queue: OverflowQueue
    intents: UsageIntents
    ttl_seconds: int
    # A running job's lease: the router's deadline plus the time to settle its call.
    lease_seconds: float
    max_attempts: int


@dataclass(frozen=True, slots=True)
class UseCaseDeps:
    """The governed use cases: run one now, stream it, or queue it (and the worker runs it)."""

    catalog: Catalog
    calls: CallDeps
    jobs: JobDeps


@dataclass(frozen=True, slots=True)
class ChatDeps:
    """Chat sessions: their store, their limits, and the calls each turn makes."""

    catalog: Catalog
    calls: CallDeps
    sessions: SessionStore
    ttl_seconds: int
    max_turns: int


@dataclass(frozen=True, slots=True)
class RollupDeps:
    """Daily rollups recomputed from the ledger, for every enabled business unit."""

    ledger: UsageLedger
    rollups: RollupStore
    business_units: frozenset[str]
    now: WallClock


@dataclass(frozen=True, slots=True)
class ReportDeps:
    """Chargeback reports: read rollups (recomputing them on request) for who may see them."""

    rollup: RollupDeps
    finance_role: str
    currency: str
