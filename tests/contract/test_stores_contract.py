"""The Stores bundle: readiness ping, kind, and (embedded) durability across restarts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.composition.embedded import open_embedded_stores
from shared.composition.stores import Stores
from shared.domain.records import Job
from shared.ports import StoreUnavailable

from .conftest import open_cosmos


async def test_ping_answers_and_raises_once_the_store_is_gone(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    # Its own stores (the fixture's would be closed twice): ping must make a round trip, so a
    # closed connection fails it (the embedded store reports itself unavailable, the Cosmos
    # client refuses its closed transport) where a ping that checks nothing would pass.
    if backend == "embedded":
        opened = open_embedded_stores(tmp_path)
    else:
        opened = await open_cosmos(request)
    await opened.ping()
    await opened.close()
    with pytest.raises((StoreUnavailable, ValueError)):
        await opened.ping()


async def test_kind_names_the_backend(stores: Stores, backend: str) -> None:
    assert stores.kind == backend


async def test_embedded_data_survives_a_restart(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    job = Job(
        id=f"job-{uuid.uuid4().hex}",
        business_unit="finance",
        user_id="carol",
        use_case="qa",
        status="queued",
        payload={"q": "why"},
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=1),
    )
    first = open_embedded_stores(tmp_path)
    created = await first.jobs.create(job)
    await first.counters.add("calls", "finance", 3)
    await first.close()

    second = open_embedded_stores(tmp_path)
    try:
        assert await second.jobs.get("finance", job.id) == created
        assert await second.counters.get("calls", "finance") == 3
    finally:
        await second.close()
