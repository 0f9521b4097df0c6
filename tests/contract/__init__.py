"""Contract tests: one module per port, each run against every adapter of that port.

Expiry is tested through a clock the test can move. The embedded adapters take the fake clock
(``now=clock.now``), so "wait two seconds" costs nothing; a backend without an injectable clock
gets the wall clock, and advancing it really sleeps.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class ContractClock(Protocol):
    def now(self) -> datetime: ...

    async def advance(self, seconds: float) -> None: ...


class FakeClock:
    """Starts at the real time (so records look ordinary) and moves only when told."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    async def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class WallClock:
    # Sleeping a little past the target absorbs timer granularity, so "advance(2)" after
    # "expires in 2 s" is always at or beyond the expiry, as it is exactly with FakeClock.
    MARGIN_SECONDS = 0.05

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def advance(self, seconds: float) -> None:
        await asyncio.sleep(seconds + self.MARGIN_SECONDS)
