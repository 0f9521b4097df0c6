"""Headroom estimates of one deployment: the TPM prior, learned headers, and their ageing."""

from __future__ import annotations

import pytest

from shared.domain.chat import RateLimitInfo
from shared.routing.breaker import CircuitBreaker
from shared.routing.headroom import DECAY_SECONDS, TRUST_SECONDS, DeploymentState
from tests.unit.routing.fakes import config

T0 = 1000.0


def state(tpm: int = 10_000) -> DeploymentState:
    return DeploymentState(config("a", tpm=tpm), CircuitBreaker(5, 30.0))


def test_prior_is_tpm_minus_what_was_sent_in_the_last_minute() -> None:
    s = state()
    s.end(s.begin(3_000, T0), refund=False)
    held = s.begin(2_000, T0 + 1)
    assert s.headroom(T0 + 2)[0] == 5_000
    assert s.inflight_tokens == 2_000
    assert s.headroom(T0 + 60 - 1e-9)[0] == 5_000
    assert s.headroom(T0 + 60)[0] == 8_000  # the first charge left the window
    s.end(held, refund=False)
    assert s.inflight_tokens == 0


def test_a_call_still_in_flight_after_a_minute_still_counts() -> None:
    s = state()
    s.begin(4_000, T0)
    assert s.headroom(T0 + 90)[0] == 6_000


def test_throttled_calls_are_refunded() -> None:
    s = state()
    s.end(s.begin(4_000, T0), refund=True)
    assert s.headroom(T0)[0] == 10_000


def test_fresh_learned_value_wins_over_the_prior() -> None:
    s = state(tpm=100_000)
    call = s.begin(1_000, T0)
    s.end(call, refund=False)
    s.observe(RateLimitInfo(remaining_tokens=5_000, remaining_requests=7), since=T0, now=T0 + 1)
    s.begin(500, T0 + 1.5)  # sent after the observed call: not in the header yet
    tokens, requests = s.headroom(T0 + 1 + TRUST_SECONDS)
    assert tokens == 4_500
    assert requests == 6


def test_learned_value_decays_linearly_into_the_prior_then_is_ignored() -> None:
    s = state(tpm=100_000)
    s.end(s.begin(1_000, T0), refund=False)
    s.observe(RateLimitInfo(remaining_tokens=1_000), since=T0, now=T0)
    prior = 99_000
    halfway = T0 + TRUST_SECONDS + DECAY_SECONDS / 2
    assert s.headroom(halfway)[0] == pytest.approx((1_000 + prior) / 2)
    assert s.headroom(T0 + TRUST_SECONDS + DECAY_SECONDS)[0] == prior


@pytest.mark.parametrize(
    "info",
    [
        RateLimitInfo(remaining_tokens=-1, remaining_requests=-1),
        RateLimitInfo(remaining_tokens=-50_000),
        RateLimitInfo(remaining_requests=-3),
    ],
    ids=["both", "tokens", "requests"],
)
def test_a_negative_remaining_count_is_unknown(info: RateLimitInfo) -> None:
    s = state(tpm=100_000)
    s.end(s.begin(1_000, T0), refund=False)
    s.observe(info, since=T0, now=T0)
    assert s.headroom(T0) == s.headroom(T0 + TRUST_SECONDS + DECAY_SECONDS)  # the prior alone
    assert s.headroom(T0)[0] == 99_000
    assert s.fits(1_000, T0)


def test_a_negative_count_beside_a_valid_one_keeps_the_valid_one() -> None:
    s = state(tpm=100_000)
    s.observe(RateLimitInfo(remaining_tokens=5_000, remaining_requests=-1), since=T0, now=T0)
    tokens, requests = s.headroom(T0)
    assert tokens == 5_000
    assert requests == s.rpm  # the prior


def test_an_older_observation_does_not_replace_a_newer_one() -> None:
    s = state(tpm=100_000)
    s.observe(RateLimitInfo(remaining_tokens=2_000), since=T0 + 5, now=T0 + 6)
    s.observe(RateLimitInfo(remaining_tokens=90_000), since=T0 + 1, now=T0 + 7)  # slow call
    assert s.headroom(T0 + 7)[0] == 2_000


def test_wait_for_is_when_the_oldest_charge_leaves_the_window() -> None:
    s = state()
    s.end(s.begin(6_000, T0), refund=False)
    s.end(s.begin(3_000, T0 + 10), refund=False)
    assert s.wait_for(1_000, T0 + 20) == 0.0
    assert s.wait_for(5_000, T0 + 20) == pytest.approx(40.0)
    assert s.wait_for(9_500, T0 + 20) == pytest.approx(50.0)
    assert s.wait_for(10_001, T0 + 20) == 60.0  # never fits


def test_wait_for_follows_the_learned_value_until_it_has_decayed() -> None:
    s = state()
    s.observe(RateLimitInfo(remaining_tokens=0), since=T0, now=T0)
    assert not s.fits(100, T0)
    # trust * 0 + (1 - trust) * 10_000 >= 100 once trust <= 0.99: just after full trust ends
    expected = TRUST_SECONDS + DECAY_SECONDS * 0.01
    assert s.wait_for(100, T0) == pytest.approx(expected, abs=1e-5)
    assert s.fits(100, T0 + s.wait_for(100, T0))
    assert not s.fits(100, T0 + expected - 1e-3)


def test_cooldown_ends_at_exactly_now_plus_seconds() -> None:
    s = state()
    s.cool_down(2.5, T0)
    assert s.cooling_for(T0 + 2.5 - 1e-9) > 0.0
    assert s.cooling_for(T0 + 2.5) == 0.0
    assert s.ready(T0 + 2.5)
