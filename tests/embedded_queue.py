"""The embedded queue (shared/adapters/local_queue.py) as its tests open and use it.

Shared by the port contract (tests/contract/test_queue_contract.py) and the adapter's own tests
(tests/unit/test_local_queue.py), so both suites set the queue up the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.local_queue import LocalQueue
from shared.composition.embedded import open_embedded_queue
from shared.domain.records import QueueMessage
from tests.contract import FakeClock

LOCK = 30.0


def queue_fixtures(*, max_delivery_count: int) -> tuple[Any, Any]:
    """A test module's ``clock`` and ``queue`` fixtures: ``clock, queue = queue_fixtures(...)``.

    The queue lives in the test's ``tmp_path``, reads the fake clock (so lock expiry and
    scheduling cost no waiting) and is closed after the test.
    """

    @pytest.fixture
    def clock() -> FakeClock:
        return FakeClock()

    @pytest.fixture
    async def queue(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LocalQueue]:
        opened = open_embedded_queue(tmp_path, max_delivery_count=max_delivery_count, now=clock.now)
        try:
            yield opened
        finally:
            await opened.close()

    return clock, queue


def message(message_id: str) -> QueueMessage:
    return QueueMessage(
        message_id=message_id,
        body={"job_id": message_id, "nested": {"n": [1, 2]}},
        application_properties={"business_unit": "finance"},
    )


async def received_ids(queue: LocalQueue, n: int = 10) -> list[str]:
    """Receive up to ``n`` messages (locking them) and return their ids, in order."""
    return [m.message.message_id for m in await queue.receive(n, LOCK)]
