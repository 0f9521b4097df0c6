"""A model call's intent through the handlers: written before the call leaves (or no call), gone
when the call is refused or fails upstream, and settled exactly when the client goes away."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.composition.embedded import open_embedded_queue, open_embedded_stores
from shared.composition.root import Gateway, assemble, use_gateway
from shared.domain.caller import Caller
from shared.domain.intent import CallPlan, UsageIntent
from shared.domain.upstream import UpstreamRejected, UpstreamUnavailable
from shared.domain.usage import UsageRecord
from shared.metering.meter import Meter
from shared.metering.sweeper import sweep
from shared.ports import StoreUnavailable, UsageIntents, UsageLedger
from shared.settings import Settings
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

FAR = timedelta(days=1)


class ReadOnlyIntents:
    """An intent store whose disk has stopped taking writes."""

    def __init__(self, inner: UsageIntents) -> None:
        self.inner = inner

    async def open(self, intent: UsageIntent) -> None:
        raise StoreUnavailable("disk I/O error")

    async def get(self, business_unit: str, request_id: str) -> UsageIntent | None:
        return await self.inner.get(business_unit, request_id)

    async def close(self, business_unit: str, request_id: str) -> bool:
        raise StoreUnavailable("disk I/O error")

    async def due(self, business_unit: str, before: datetime, limit: int) -> Sequence[UsageIntent]:
        return await self.inner.due(business_unit, before, limit)


@pytest.fixture
async def read_only(
    settings: Settings, chat: FakeChatModel
) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    stores = open_embedded_stores(settings.gateway_data_dir)
    failing = dataclasses.replace(stores, intents=ReadOnlyIntents(stores.intents))
    queue = open_embedded_queue(settings.gateway_data_dir)
    gw = assemble(settings, failing, queue, chat, receiver=queue)
    gw.closers.extend([stores.close, queue.close])
    use_gateway(gw)
    from devhost.asgi import build_asgi
    from devhost.host import indexed_app

    transport = httpx.ASGITransport(app=build_asgi(indexed_app().http))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield gw, client
    use_gateway(None)
    await gw.close()


async def open_intents(gateway: Gateway) -> list[UsageIntent]:
    return list(await gateway.stores.intents.due("marketing", gateway.now() + FAR, 100))


async def ledger(gateway: Gateway) -> list[tuple[str, bool]]:
    month = gateway.now().strftime("%Y-%m")
    records = await gateway.stores.ledger.list_partition("marketing", month)
    return [(r.outcome, r.estimated) for r in records]


async def test_no_intent_no_call_503_with_retry_after(
    read_only: tuple[Gateway, httpx.AsyncClient], chat: FakeChatModel
) -> None:
    gateway, client = read_only
    response = await client.post("/api/v1/summarize", json={"text": "Q3 notes"}, headers=HEADERS)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "store_unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert chat.calls == []  # nothing could be metered, so nothing was spent
    assert await ledger(gateway) == []


@pytest.mark.parametrize(
    "failure",
    [
        UpstreamRejected("filtered", reason="content_filter", status=400),
        UpstreamUnavailable("503 from every region", status=503),
    ],
)
async def test_a_call_refused_or_failed_upstream_leaves_no_intent(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel, failure: Exception
) -> None:
    chat.replies = [failure]
    response = await client.post("/api/v1/summarize", json={"text": "Q3"}, headers=HEADERS)

    assert response.status_code in (400, 503) and len(chat.calls) == 1
    assert await open_intents(gateway) == []
    assert await ledger(gateway) == []


async def test_a_call_cut_off_by_its_deadline_is_billed_at_its_upper_bound(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.replies = [UpstreamUnavailable("request deadline passed", kind="timeout")]
    response = await client.post("/api/v1/summarize", json={"text": "Q3"}, headers=HEADERS)

    assert response.status_code == 503
    # The model may have answered after the gateway stopped waiting; Azure bills that.
    assert await ledger(gateway) == [("interrupted", True)]
    assert await open_intents(gateway) == []


async def test_a_sync_client_that_goes_away_mid_call_is_still_billed(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.gate = asyncio.Event()
    request = asyncio.create_task(
        client.post("/api/v1/summarize", json={"text": "a long read"}, headers=HEADERS)
    )
    for _ in range(200):  # until the call has left (its intent is written)
        if await open_intents(gateway):
            break
        await asyncio.sleep(0.01)
    request.cancel()  # the client disconnects mid-call: the framework cancels the handler
    with pytest.raises(asyncio.CancelledError):
        await request

    # Azure may bill the call all the same: its intent stays until the sweeper settles it.
    [left] = await open_intents(gateway)
    units = gateway.settings.business_unit_ids
    swept = await sweep(gateway.meter, gateway.stores.intents, units, left.deadline + FAR)
    assert [(r.outcome, r.estimated) for r in swept] == [("interrupted", True)]
    assert await ledger(gateway) == [("interrupted", True)]


class FlakyLedger:
    """A ledger whose first ``failures`` writes fail as a throttled Cosmos DB (or a dead disk:
    ``retry_after`` None) would make them fail."""

    def __init__(self, inner: UsageLedger, failures: int, retry_after: float | None) -> None:
        self.inner, self.failures, self.retry_after = inner, failures, retry_after

    async def record(self, record: UsageRecord) -> bool:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("429", retry_after=self.retry_after)
        return await self.inner.record(record)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def plan(request_id: str) -> CallPlan:
    return CallPlan(Caller("marketing", "a"), request_id, "summarize", "1", "gpt-4o-mini",
                    "gpt-4o-mini", 120, 64)  # fmt: skip


def answered(p: CallPlan, at: datetime) -> UsageRecord:
    return UsageRecord(
        p.request_id, "marketing", "a", "summarize", "1", "gpt-4o-mini", "d", "eastus",
        120, 0, 30, 0, False, False, 5.0, "ok", at,
    )  # fmt: skip


async def test_paid_writes_the_store_throttles_are_retried_within_the_deadline(
    tmp_path: Path,
) -> None:
    stores = open_embedded_stores(tmp_path)
    try:
        patient = FlakyLedger(stores.ledger, failures=2, retry_after=0.01)
        meter = Meter(patient, stores.intents, atomic=stores.atomic)
        first = await meter.admit(plan("r1"))
        await meter.settle(first, answered(plan("r1"), first.intent.created_at))
        assert await stores.intents.get("marketing", "r1") is None
        assert patient.failures == 0

        hopeless = FlakyLedger(stores.ledger, failures=1, retry_after=3600)
        meter = Meter(hopeless, stores.intents, atomic=stores.atomic)
        second = await meter.admit(plan("r2"))
        with pytest.raises(StoreUnavailable):  # longer than the deadline: give up, keep intent
            await meter.settle(second, answered(plan("r2"), second.intent.created_at))
        assert await stores.intents.get("marketing", "r2") == second.intent
    finally:
        await stores.close()


async def test_a_paid_answer_is_returned_when_its_usage_cannot_be_written(
    settings: Settings, chat: FakeChatModel
) -> None:
    stores = open_embedded_stores(settings.gateway_data_dir)
    dead_disk = FlakyLedger(stores.ledger, failures=1, retry_after=None)
    queue = open_embedded_queue(settings.gateway_data_dir)
    gw = assemble(settings, dataclasses.replace(stores, ledger=dead_disk), queue, chat)
    gw.closers.extend([stores.close, queue.close])
    use_gateway(gw)
    try:
        from devhost.asgi import build_asgi
        from devhost.host import indexed_app

        transport = httpx.ASGITransport(app=build_asgi(indexed_app().http))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            response = await client.post("/api/v1/summarize", json={"text": "x"}, headers=HEADERS)
        assert response.status_code == 200 and response.json()["summary"]
        # Its intent waits for the sweeper, which settles it as an estimate.
        assert [i.request_id for i in await open_intents(gw)] == [response.json()["request_id"]]
    finally:
        use_gateway(None)
        await gw.close()
