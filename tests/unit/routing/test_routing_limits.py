"""Failures through the router: breaker, rejected requests, attempts, shedding, deadline."""

from __future__ import annotations

import asyncio

import pytest

from shared.domain.upstream import NoCapacity, UpstreamRejected, UpstreamUnavailable
from shared.routing import MonotonicClock, Router
from tests.unit.routing.fakes import FakeClock, FakeDeployment, chat, rejected, router, unavailable


def breaker_of(r: Router, name: str) -> str:
    return next(h.breaker for h in r.snapshot() if h.name == name)


async def test_breaker_opens_then_lets_one_probe_through_then_closes() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(unavailable(), unavailable(), unavailable())
    b = FakeDeployment("b", tpm=50_000)
    r = router(a, b, clock=clock, breaker_failures=3, breaker_open_seconds=30)
    for _ in range(3):
        result = await r.complete(chat())
        assert (result.deployment, result.attempts) == ("b", 2)  # a failed, b answered
    assert breaker_of(r, "a") == "open"
    assert (await r.complete(chat())).deployment == "b"
    assert len(a.calls) == 3  # open: not even tried

    clock.advance(30)
    assert breaker_of(r, "a") == "half_open"
    a.gate = asyncio.Event()
    probe = asyncio.create_task(r.complete(chat()))
    await asyncio.sleep(0)
    assert len(a.calls) == 4
    assert (await r.complete(chat())).deployment == "b"  # concurrent: not sent to a
    assert len(a.calls) == 4
    a.gate.set()
    assert (await probe).deployment == "a"
    assert breaker_of(r, "a") == "closed"


async def test_failed_probe_opens_the_breaker_again() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(unavailable(), unavailable())
    b = FakeDeployment("b", tpm=50_000)
    r = router(a, b, clock=clock, breaker_failures=1, breaker_open_seconds=30)
    assert (await r.complete(chat())).deployment == "b"
    clock.advance(30)
    assert (await r.complete(chat())).deployment == "b"  # the probe failed, b answered
    assert len(a.calls) == 2
    assert breaker_of(r, "a") == "open"
    clock.advance(29.9)
    assert breaker_of(r, "a") == "open"


async def test_single_deployment_half_open_sends_one_probe_only() -> None:
    clock = FakeClock()
    a = FakeDeployment("a").then(unavailable())
    r = router(a, clock=clock, breaker_failures=1, breaker_open_seconds=30, deadline_seconds=5)
    with pytest.raises(NoCapacity) as first:
        await r.complete(chat())
    assert first.value.retry_after == 30  # the breaker is open for longer than the deadline
    clock.advance(30)
    a.gate = asyncio.Event()
    probe = asyncio.create_task(r.complete(chat()))
    await asyncio.sleep(0)
    with pytest.raises(NoCapacity):
        await r.complete(chat())  # waited for the probe until its deadline, never sent
    assert len(a.calls) == 2
    a.gate.set()
    assert (await probe).deployment == "a"


async def test_rejected_requests_are_raised_at_once_without_retry_or_breaker() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(rejected())
    b = FakeDeployment("b", tpm=50_000)
    r = router(a, b, clock=clock, breaker_failures=1)
    with pytest.raises(UpstreamRejected):
        await r.complete(chat())
    assert b.calls == []
    health = {h.name: h for h in r.snapshot()}
    assert (health["a"].breaker, health["a"].cooling_for) == ("closed", 0.0)
    assert health["a"].remaining_tokens == 100_000  # refused, so not charged against TPM


async def test_all_attempts_failing_raise_the_last_unavailable() -> None:
    clock = FakeClock()
    a = FakeDeployment("a").then(*[unavailable() for _ in range(5)])
    b = FakeDeployment("b").then(*[unavailable() for _ in range(5)])
    r = router(a, b, clock=clock, max_attempts=4, breaker_failures=10)
    with pytest.raises(UpstreamUnavailable):
        await r.complete(chat())
    assert len(a.calls) + len(b.calls) == 4
    assert min(len(a.calls), len(b.calls)) >= 1  # the second try went elsewhere
    assert clock.sleeps == []


async def test_sheds_past_max_inflight_and_releases_on_completion_and_cancel() -> None:
    clock = FakeClock()
    a = FakeDeployment("a")
    a.gate = asyncio.Event()
    r = router(a, clock=clock, max_inflight=2)
    held = [asyncio.create_task(r.complete(chat())) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(NoCapacity) as shed:
        await r.complete(chat())
    assert shed.value.retry_after == pytest.approx(1.0)
    assert len(a.calls) == 2
    held[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await held[0]
    a.gate.set()
    await held[1]
    assert r.snapshot()[0].inflight_tokens == 0
    a.gate = None
    results = await asyncio.gather(r.complete(chat()), r.complete(chat()))
    assert [x.deployment for x in results] == ["a", "a"]


async def test_a_hung_call_is_cut_at_the_request_deadline() -> None:
    a = FakeDeployment("a")
    a.gate = asyncio.Event()  # never set: the call hangs
    r = Router([a], clock=MonotonicClock(), deadline_seconds=0.05)
    with pytest.raises(UpstreamUnavailable) as cut:
        await r.complete(chat())
    assert cut.value.kind == "timeout"
    assert r.snapshot()[0].inflight_tokens == 0
