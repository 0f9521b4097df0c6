"""The Stores bundle: readiness ping, kind, and (embedded) durability across restarts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.composition.embedded import open_embedded_stores
from shared.composition.stores import Stores
from shared.domain.records import Job


async def test_ping_answers(stores: Stores) -> None:
    await stores.ping()


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
