"""Round robin as a baseline, admission by headroom, a quota window other than Azure's minute."""

from __future__ import annotations

import pytest

from shared.domain.chat import RateLimitInfo
from shared.domain.upstream import NoCapacity
from shared.routing import Router
from tests.unit.routing.fakes import FakeClock, FakeDeployment, chat, router, throttled


async def served_by(r: Router, prompt_tokens: int = 100, max_tokens: int = 100) -> str:
    return (await r.complete(chat(prompt_tokens=prompt_tokens, max_tokens=max_tokens))).deployment


async def test_round_robin_takes_turns_whatever_the_headroom() -> None:
    big = FakeDeployment("big", tpm=1_000_000)
    small = FakeDeployment("small", tpm=10_000)
    third = FakeDeployment("third", tpm=10_000)
    r = router(big, small, third, clock=FakeClock(), strategy="round_robin")
    assert [await served_by(r) for _ in range(6)] == ["big", "small", "third"] * 2


async def test_headroom_strategy_prefers_the_most_headroom() -> None:
    big = FakeDeployment("big", tpm=1_000_000)
    small = FakeDeployment("small", tpm=10_000)
    r = router(big, small, clock=FakeClock())
    assert [await served_by(r) for _ in range(3)] == ["big"] * 3


async def test_round_robin_keeps_cooldowns_failover_and_tiers() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", priority=0).then(throttled(5))
    b = FakeDeployment("b", priority=0)
    spill = FakeDeployment("spill", priority=1)
    r = router(a, b, spill, clock=clock, strategy="round_robin")
    result = await r.complete(chat())
    assert (result.deployment, result.attempts) == ("b", 2)  # a's 429 fails over at once
    assert [await served_by(r) for _ in range(2)] == ["b", "b"]  # a cools for its Retry-After
    b.then(throttled(5))
    assert await served_by(r) == "spill"  # the lower tier only once the whole upper one cools
    clock.advance(5)
    assert [await served_by(r) for _ in range(2)] == ["a", "b"]
    assert len(spill.calls) == 1


async def test_round_robin_sends_what_the_estimate_says_will_not_fit() -> None:
    a = FakeDeployment("a", tpm=1_000)
    r = router(a, clock=FakeClock(), strategy="round_robin")
    await served_by(r, prompt_tokens=700)  # costs 800 of 1_000
    await served_by(r, prompt_tokens=700)  # the naive baseline lets Azure decide
    assert len(a.calls) == 2


async def test_a_call_that_fits_nowhere_is_not_sent_and_fails_fast() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=1_000)
    r = router(a, clock=clock)
    await served_by(r, prompt_tokens=700)  # costs 800 of 1_000
    with pytest.raises(NoCapacity) as caught:
        await served_by(r, prompt_tokens=200)  # costs 300: only 200 left this minute
    assert len(a.calls) == 1  # no upstream call just to collect a 429
    assert clock.sleeps == []  # and no waiting: the handler queues it (202) instead
    assert caught.value.retry_after == pytest.approx(60.0)  # when the first charge leaves
    clock.advance(60)
    assert await served_by(r, prompt_tokens=200) == "a"


async def test_admission_skips_a_deployment_its_weight_ranks_first_but_cannot_take_it() -> None:
    heavy = FakeDeployment("heavy", tpm=400, weight=3)  # score 400 x 3 beats 1_000 x 1
    light = FakeDeployment("light", tpm=1_000)
    r = router(heavy, light, clock=FakeClock())
    assert await served_by(r, prompt_tokens=500, max_tokens=100) == "light"
    assert heavy.calls == []


async def test_quota_window_sets_when_charges_leave_the_estimate() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=1_000)
    r = router(a, clock=clock, quota_window_seconds=3.0)
    await served_by(r, prompt_tokens=700)
    assert r.admission_wait("gpt-4o-mini", 300) == pytest.approx(3.0)
    clock.advance(3.0)
    assert {h.name: h.remaining_tokens for h in r.snapshot()} == {"a": 1_000}


async def test_learned_values_age_on_the_compressed_window_too() -> None:
    clock = FakeClock()
    a = FakeDeployment("a", tpm=100_000)
    a.ratelimit = RateLimitInfo(remaining_tokens=1_000)  # others are using it
    r = router(a, clock=clock, quota_window_seconds=6.0)  # a tenth of Azure's minute
    await served_by(r)
    assert r.snapshot()[0].remaining_tokens == 1_000
    clock.advance(1.0)  # (2 s trust + 8 s decay) / 10: the learned value no longer counts
    assert r.snapshot()[0].remaining_tokens == 99_800


def test_rejects_an_unknown_strategy_and_a_nonsense_window() -> None:
    with pytest.raises(ValueError, match="strategy"):
        Router([FakeDeployment("a")], strategy="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window"):
        Router([FakeDeployment("a")], quota_window_seconds=0.0)
