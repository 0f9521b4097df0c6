"""Fixtures that yield each port's adapter, once per backend ("embedded", "cosmos").

The Cosmos backend (cosmos_backend.py) is imported only when its run is requested, so the
embedded run needs neither the Cosmos SDK configured nor the local server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.composition.embedded import open_embedded_stores
from shared.composition.stores import Stores
from shared.ports import (
    CompletionCache,
    CounterStore,
    JobStore,
    RollupStore,
    SemanticCache,
    SessionStore,
    UsageIntents,
    UsageLedger,
)

from . import ContractClock, FakeClock, WallClock

BACKENDS = ["embedded", "cosmos"]
COSMOS_MISSING = (
    "COSMOS_TEST_ENDPOINT not set: the Cosmos contract run needs the local cosmosdb-server "
    "(.ci/run starts it)"
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def clock(backend: str) -> ContractClock:
    return FakeClock() if backend == "embedded" else WallClock()


async def open_cosmos(request: pytest.FixtureRequest) -> Stores:
    if not os.environ.get("COSMOS_TEST_ENDPOINT"):
        # CI must run both backends: a silent skip there would hide a broken Cosmos adapter.
        if os.environ.get("CI") == "true":
            pytest.fail(COSMOS_MISSING)
        pytest.skip(COSMOS_MISSING)
    from .cosmos_backend import KNOWN_GAPS, open_cosmos_test_stores

    # A gap of the local server (not of the adapter) is an expected failure on this backend
    # only; strict, so the test turns red once the server closes the gap.
    gap = KNOWN_GAPS.get(request.node.originalname)
    if gap:
        request.node.add_marker(pytest.mark.xfail(reason=gap, strict=True))
    return await open_cosmos_test_stores()


@pytest.fixture
async def stores(
    request: pytest.FixtureRequest, backend: str, clock: ContractClock, tmp_path: Path
) -> AsyncIterator[Stores]:
    if backend == "embedded":
        opened = open_embedded_stores(tmp_path, now=clock.now)
    else:
        opened = await open_cosmos(request)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def bu() -> str:
    """A business unit of the test's own, so tests stay independent on a shared database."""
    return f"bu-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cache(stores: Stores) -> CompletionCache:
    return stores.cache


@pytest.fixture
def ledger(stores: Stores) -> UsageLedger:
    return stores.ledger


@pytest.fixture
def rollups(stores: Stores) -> RollupStore:
    return stores.rollups


@pytest.fixture
def sessions(stores: Stores) -> SessionStore:
    return stores.sessions


@pytest.fixture
def jobs(stores: Stores) -> JobStore:
    return stores.jobs


@pytest.fixture
def counters(stores: Stores) -> CounterStore:
    return stores.counters


@pytest.fixture
def intents(stores: Stores) -> UsageIntents:
    return stores.intents


@pytest.fixture
def semantic(stores: Stores) -> SemanticCache:
    assert stores.semantic is not None
    return stores.semantic
