"""Time as the router sees it: a monotonic ``now()`` and an awaitable ``sleep()``.

The router never reads the wall clock: cooldowns, breaker timers and the request deadline are
all measured on a monotonic clock, so an NTP step cannot shorten or stretch a Retry-After.
Tests inject :class:`FakeClock` to check exact boundaries (``t + retry_after``) without waiting.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` (the same source as the asyncio loop's timers)."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told to, or when someone sleeps on it.

    ``sleep`` records the requested duration, advances time by it and yields to the loop once,
    so a test can assert both that no sleep happened and how long a backoff was. The router's
    cut of a call still in flight at the deadline runs on the loop's timer (real seconds).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        self._now = when

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)
