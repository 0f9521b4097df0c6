"""Which deployment the router picks, and what a 429 does: cooldown, failover, tiers, deadline."""

from __future__ import annotations

import asyncio
import random

import pytest

from shared.domain.chat import RateLimitInfo
from shared.domain.upstream import NoCapacity
from shared.routing import Router
from shared.routing.headroom import DECAY_SECONDS, TRUST_SECONDS
from tests.unit.routing.fakes import (
    GROUP,
    FakeClock,
    FakeDeployment,
    chat,
    router,
    throttled,
    unavailable,
)


async def served_by(r: Router, prompt_tokens: int = 100) -> str:
    return (await r.complete(chat(prompt_tokens=prompt_tokens))).deployment


async def test_cooldown_honours_retry_after_exactly() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(throttled(2.5))
    b = FakeDeployment("b", tpm=50_000)
    r = router(a, b, clock=clock)
    t0 = clock.now()
    assert await served_by(r) == "b"
    clock.set(t0 + 2.5 - 1e-6)
    assert await served_by(r) == "b"
    assert len(a.calls) == 1
    clock.set(t0 + 2.5)
    assert await served_by(r) == "a"


async def test_429_fails_over_at_once_to_the_next_deployment() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000).then(throttled(None))
    b = FakeDeployment("b", tpm=50_000)
    r = router(a, b, clock=clock, default_cooldown=7.0)
    result = await r.complete(chat())
    assert (result.deployment, result.attempts) == ("b", 2)
    assert clock.sleeps == []
    assert [len(a.calls), len(b.calls)] == [1, 1]
    health = {h.name: h for h in r.snapshot()}
    assert health["a"].cooling_for == 7.0  # no Retry-After: the default cooldown
    assert health["a"].remaining_tokens == 100_000  # Azure did not charge the 429


async def test_lower_tier_is_used_only_when_the_whole_upper_tier_is_cooling() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", priority=0, tpm=10_000)
    b = FakeDeployment("b", priority=0, tpm=10_000)
    spill = FakeDeployment("spill", priority=1, tpm=1_000_000)
    r = router(a, b, spill, clock=clock)
    assert {await served_by(r) for _ in range(6)} == {"a", "b"}
    a.then(throttled(5))
    b.then(throttled(5))
    assert await served_by(r) == "spill"
    clock.advance(5)
    assert await served_by(r) in {"a", "b"}
    assert len(spill.calls) == 1


async def test_more_learned_headroom_wins_over_more_configured_tpm() -> None:
    clock = FakeClock()
    big = FakeDeployment("big", tpm=100_000)
    big.ratelimit = RateLimitInfo(remaining_tokens=1_000)  # other instances are using it
    small = FakeDeployment("small", tpm=50_000)
    small.ratelimit = RateLimitInfo(remaining_tokens=40_000)
    r = router(big, small, clock=clock)
    assert [await served_by(r) for _ in range(3)] == ["big", "small", "small"]
    clock.advance(TRUST_SECONDS + DECAY_SECONDS)  # both learned values have aged out
    assert await served_by(r) == "big"


async def test_a_negative_remaining_header_does_not_make_the_router_refuse() -> None:
    clock = FakeClock()
    only = FakeDeployment("only", tpm=100_000)
    only.ratelimit = RateLimitInfo(remaining_tokens=-1, remaining_requests=-1)
    r = router(only, clock=clock)
    assert [await served_by(r) for _ in range(5)] == ["only"] * 5


async def test_tokens_in_flight_count_against_headroom() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=10_000)
    b = FakeDeployment("b", tpm=9_000)
    r = router(a, b, clock=clock)
    a.gate = asyncio.Event()
    held = asyncio.create_task(r.complete(chat(prompt_tokens=1_900)))  # costs 2_000
    await asyncio.sleep(0)
    assert {h.name: h.inflight_tokens for h in r.snapshot()} == {"a": 2_000, "b": 0}
    assert await served_by(r) == "b"  # a: 8_000 left, b: 9_000
    a.gate.set()
    assert (await held).deployment == "a"


async def test_equal_scores_break_by_weight_then_at_random() -> None:
    heavy = FakeDeployment("heavy", tpm=10_000, weight=2)
    light = FakeDeployment("light", tpm=20_000, weight=1)
    assert await served_by(router(heavy, light, clock=FakeClock())) == "heavy"
    firsts = set()
    for seed in range(20):
        twins = [FakeDeployment("x"), FakeDeployment("y")]
        r = Router(twins, clock=FakeClock(), rng=random.Random(seed))
        firsts.add(await served_by(r))
    assert firsts == {"x", "y"}


async def test_deadline_raises_no_capacity_with_the_earliest_availability() -> None:
    clock = FakeClock()
    a = FakeDeployment("a").then(throttled(40))
    b = FakeDeployment("b").then(throttled(35))
    r = router(a, b, clock=clock, deadline_seconds=30)
    with pytest.raises(NoCapacity) as caught:
        await r.complete(chat())
    assert caught.value.retry_after == 35
    assert clock.sleeps == []
    assert r.admission_wait(GROUP, 200) == 35


async def test_waits_with_jitter_only_when_everything_is_cooling() -> None:
    clock = FakeClock()
    a = FakeDeployment("a").then(throttled(3))
    b = FakeDeployment("b").then(throttled(5))
    r = router(a, b, clock=clock, backoff_base=0.5, backoff_cap=4.0)
    result = await r.complete(chat())
    assert (result.deployment, result.attempts) == ("a", 3)
    assert len(clock.sleeps) == 1
    assert 3.0 < clock.sleeps[0] <= 3.5  # until a is back, plus uniform(0, min(cap, base))


class TopOfRange(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


async def test_backoff_doubles_up_to_the_cap_and_stops_at_the_deadline() -> None:
    clock = FakeClock()
    a = FakeDeployment("a").then(unavailable())
    r = Router(
        [a], clock=clock, rng=TopOfRange(), breaker_failures=1, breaker_open_seconds=100,
        deadline_seconds=20, backoff_base=0.5, backoff_cap=2.0,
    )  # fmt: skip
    with pytest.raises(NoCapacity):
        await r.complete(chat())  # fails, opens for longer than the deadline: no waiting
    assert clock.sleeps == []
    clock.advance(100)
    a.gate = asyncio.Event()
    probe = asyncio.create_task(r.complete(chat()))
    await asyncio.sleep(0)
    start = clock.now()
    with pytest.raises(NoCapacity):
        await r.complete(chat())  # the probe is still out: back off until the deadline
    # PROBE_WAIT_SECONDS + min(cap, base * 2**n), the last one cut at the deadline
    assert clock.sleeps == [1.5, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 1.5]
    assert clock.now() - start == pytest.approx(20.0)
    a.gate.set()
    await probe


async def test_admission_wait_counts_quota_already_sent() -> None:
    clock = FakeClock()
    r = router(FakeDeployment("a", tpm=1_000), clock=clock)
    await r.complete(chat(prompt_tokens=700))  # costs 800 of 1_000
    assert r.admission_wait(GROUP, 200) == 0.0
    assert r.admission_wait(GROUP, 300) == pytest.approx(60.0)
    with pytest.raises(LookupError):
        r.admission_wait("no-such-model", 1)
