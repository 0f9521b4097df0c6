"""Time as the router sees it: a monotonic ``now()`` and an awaitable ``sleep()``.

The router never reads the wall clock: cooldowns, breaker timers and the request deadline are
all measured on a monotonic clock, so an NTP step cannot shorten or stretch a Retry-After.
Tests inject a fake one to check exact boundaries (``t + retry_after``) without waiting.
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
