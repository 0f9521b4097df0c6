"""Runs timer-triggered functions on their NCRONTAB schedule ({second} {minute} {hour} {day}
{month} {day-of-week}), the format Azure Functions uses."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from devhost.functions_index import TimerFunction

log = logging.getLogger("devhost.timer")

_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _field(expr: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in expr.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(part)
        if not (low <= start <= end <= high) or step < 1:
            raise ValueError(f"NCRONTAB field {expr!r} out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


class Schedule:
    def __init__(self, expression: str) -> None:
        parts = expression.split()
        if len(parts) != 6:
            raise ValueError(f"NCRONTAB needs 6 fields, got {expression!r}")
        self._fields = [_field(p, lo, hi) for p, (lo, hi) in zip(parts, _RANGES, strict=True)]

    def matches(self, at: datetime) -> bool:
        weekday = (at.weekday() + 1) % 7  # NCRONTAB: 0 = Sunday
        values = (at.second, at.minute, at.hour, at.day, at.month, weekday)
        return all(v in f for v, f in zip(values, self._fields, strict=True))


async def run_timer(fn: TimerFunction, stop: asyncio.Event) -> None:
    schedule = Schedule(fn.schedule)
    last = None
    while not stop.is_set():
        now = datetime.now(UTC).replace(microsecond=0)
        if now != last and schedule.matches(now):
            last = now
            try:
                await fn.handler(**{fn.arg_name: TimerRequest(past_due=False)})
            except Exception:
                log.exception("timer function %s failed", fn.name)
        await asyncio.sleep(1.0 - datetime.now(UTC).microsecond / 1_000_000)
