"""Streams fail over only before their first event; in-flight accounting survives early stops."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.domain.chat import RateLimitInfo, StreamDelta, StreamEnd, StreamEvent
from shared.domain.upstream import UpstreamUnavailable
from tests.unit.routing.fakes import (
    FakeClock,
    FakeDeployment,
    MidStream,
    chat,
    router,
    throttled,
    unavailable,
)


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def test_fails_over_before_the_first_event() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(throttled(4))
    b = FakeDeployment("b", tpm=50_000)
    b.ratelimit = RateLimitInfo(remaining_tokens=123)
    r = router(a, b, clock=clock)
    events = await collect(r.stream(chat()))
    text = "".join(e.text for e in events if isinstance(e, StreamDelta))
    assert text == "hello from b"
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert (end.result.deployment, end.result.attempts) == ("b", 2)
    assert clock.sleeps == []
    health = {h.name: h for h in r.snapshot()}
    assert health["a"].cooling_for == 4
    assert health["b"].remaining_tokens == 123  # learned from the stream's last event


async def test_errors_after_the_first_event_reach_the_consumer() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(MidStream(unavailable()))
    b = FakeDeployment("b", tpm=50_000)
    r = router(a, b, clock=clock, breaker_failures=1)
    seen: list[StreamEvent] = []
    with pytest.raises(UpstreamUnavailable):
        async for event in r.stream(chat()):
            seen.append(event)
    assert seen == [StreamDelta("hello ")]
    assert b.calls == []  # no failover once the consumer has output
    health = {h.name: h for h in r.snapshot()}
    assert health["a"].breaker == "open"  # but the failure still counts
    assert health["a"].inflight_tokens == 0


async def test_consumer_stopping_early_releases_the_call() -> None:
    clock = FakeClock()
    a = FakeDeployment("a")
    r = router(a, clock=clock, max_inflight=1)
    events = r.stream(chat())
    assert await anext(events) == StreamDelta("hello ")
    assert r.snapshot()[0].inflight_tokens == 200
    await events.aclose()  # type: ignore[attr-defined]
    assert r.snapshot()[0].inflight_tokens == 0
    assert a.streams_closed == 1
    assert r.snapshot()[0].breaker == "closed"
    assert len(await collect(r.stream(chat()))) == 3  # max_inflight=1 is free again


async def test_unavailable_before_the_first_event_fails_over_and_counts() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(unavailable())
    b = FakeDeployment("b", tpm=50_000)
    r = router(a, b, clock=clock, breaker_failures=1)
    events = await collect(r.stream(chat()))
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.result.deployment == "b"
    assert r.snapshot()[0].breaker == "open"
