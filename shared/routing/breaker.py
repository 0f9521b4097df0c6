"""A per-deployment circuit breaker for 5xx, timeouts and connection failures.

closed --(``failure_threshold`` consecutive failures)--> open --(``open_seconds``)--> half_open;
half_open lets exactly one probe through: success closes, failure opens again. The shape is the
classic one (https://learn.microsoft.com/azure/architecture/patterns/circuit-breaker).

Throttling (429) and rejected requests (4xx) are not failures of the deployment: they neither
count nor reset. Only outcomes of calls made while closed, and of the probe, move the breaker;
a late answer from a call started before the breaker opened changes nothing.
"""

from __future__ import annotations

from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]
Outcome = Literal["success", "failure", "neutral"]

# While a probe is in flight nobody knows when it will end; this is the hint we give instead.
PROBE_WAIT_SECONDS = 1.0


class CircuitBreaker:
    def __init__(self, failure_threshold: int, open_seconds: float) -> None:
        if failure_threshold < 1:
            raise ValueError(f"breaker failure threshold must be >= 1, got {failure_threshold}")
        if open_seconds < 0:
            raise ValueError(f"breaker open time must be >= 0, got {open_seconds}")
        self._threshold = failure_threshold
        self._open_seconds = open_seconds
        self._failures = 0
        self._open_until: float | None = None  # None: closed
        self._probing = False

    def state(self, now: float) -> BreakerState:
        if self._open_until is None:
            return "closed"
        return "open" if now < self._open_until else "half_open"

    def allows(self, now: float) -> bool:
        """Whether a new call may be sent now."""
        state = self.state(now)
        return state == "closed" or (state == "half_open" and not self._probing)

    def available_in(self, now: float) -> float:
        """Seconds until :meth:`allows` could be true (an estimate while a probe runs)."""
        if self._open_until is None:
            return 0.0
        if now < self._open_until:
            return self._open_until - now
        return PROBE_WAIT_SECONDS if self._probing else 0.0

    def begin(self, now: float) -> bool:
        """A call is being sent; returns True when it is the half-open probe."""
        if self.state(now) == "half_open":
            if self._probing:
                raise RuntimeError("half-open breaker already has its probe in flight")
            self._probing = True
            return True
        return False

    def end(self, outcome: Outcome, *, probe: bool, now: float) -> None:
        """Record how a call begun with :meth:`begin` ended."""
        if probe:
            self._probing = False
            if outcome == "success":
                self._close()
            elif outcome == "failure":
                self._open(now)
            # neutral (429, 4xx, cancelled): still half-open; the next call probes.
            return
        if self._open_until is not None:
            return  # started before the breaker opened: stale evidence
        if outcome == "success":
            self._failures = 0
        elif outcome == "failure":
            self._failures += 1
            if self._failures >= self._threshold:
                self._open(now)

    def _open(self, now: float) -> None:
        self._open_until = now + self._open_seconds
        self._probing = False

    def _close(self) -> None:
        self._open_until = None
        self._failures = 0
