"""The circuit breaker's state machine on its own: closed -> open -> half-open -> closed/open."""

from __future__ import annotations

import pytest

from shared.routing.breaker import PROBE_WAIT_SECONDS, CircuitBreaker


def tripped(at: float = 100.0) -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=30.0)
    for _ in range(3):
        probe = breaker.begin(at)
        breaker.end("failure", probe=probe, now=at)
    return breaker


def test_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=30.0)
    for outcome in ("failure", "failure", "success", "failure", "failure"):
        breaker.end(outcome, probe=breaker.begin(0.0), now=0.0)
    assert breaker.state(0.0) == "closed"  # the success in the middle reset the count
    breaker.end("failure", probe=breaker.begin(0.0), now=0.0)
    assert breaker.state(0.0) == "open"
    assert not breaker.allows(0.0)


def test_throttles_and_rejections_neither_count_nor_reset() -> None:
    breaker = CircuitBreaker(failure_threshold=2, open_seconds=30.0)
    breaker.end("failure", probe=False, now=0.0)
    breaker.end("neutral", probe=False, now=0.0)
    assert breaker.state(0.0) == "closed"
    breaker.end("failure", probe=False, now=0.0)
    assert breaker.state(0.0) == "open"


def test_stays_open_for_exactly_open_seconds() -> None:
    breaker = tripped(at=100.0)
    assert breaker.state(129.999) == "open"
    assert breaker.available_in(120.0) == pytest.approx(10.0)
    assert breaker.state(130.0) == "half_open"
    assert breaker.allows(130.0)
    assert breaker.available_in(130.0) == 0.0


def test_half_open_lets_exactly_one_probe_through() -> None:
    breaker = tripped()
    assert breaker.begin(130.0) is True
    assert not breaker.allows(130.0)
    assert breaker.available_in(130.0) == PROBE_WAIT_SECONDS
    with pytest.raises(RuntimeError):
        breaker.begin(130.0)


def test_probe_success_closes() -> None:
    breaker = tripped()
    breaker.end("success", probe=breaker.begin(130.0), now=131.0)
    assert breaker.state(131.0) == "closed"
    # and the failure count started over: two more failures do not open it
    for _ in range(2):
        breaker.end("failure", probe=breaker.begin(131.0), now=131.0)
    assert breaker.state(131.0) == "closed"


def test_probe_failure_opens_again_for_a_full_period() -> None:
    breaker = tripped()
    breaker.end("failure", probe=breaker.begin(130.0), now=135.0)
    assert breaker.state(164.999) == "open"
    assert breaker.state(165.0) == "half_open"


def test_neutral_probe_leaves_it_half_open_for_the_next_probe() -> None:
    breaker = tripped()
    breaker.end("neutral", probe=breaker.begin(130.0), now=130.5)
    assert breaker.state(130.5) == "half_open"
    assert breaker.allows(130.5)


def test_late_answers_from_before_it_opened_change_nothing() -> None:
    breaker = tripped()  # three failures at 100.0: open until 130.0
    breaker.end("failure", probe=False, now=129.0)  # a straggler: must not re-open it
    assert breaker.state(130.0) == "half_open"
    breaker.end("success", probe=False, now=129.5)  # a straggler: must not close it
    assert breaker.state(129.9) == "open"
    probe = breaker.begin(130.0)
    breaker.end("failure", probe=False, now=130.1)  # a straggler, not the probe
    assert breaker.state(130.1) == "half_open"
    breaker.end("success", probe=probe, now=130.2)
    assert breaker.state(130.2) == "closed"


def test_rejects_a_nonsense_threshold() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker(failure_threshold=0, open_seconds=1.0)
