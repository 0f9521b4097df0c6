"""Timestamps as records store them: timezone-aware, in UTC, as ISO 8601 text.

A naive datetime is refused rather than guessed at: read back on a host in another zone (or by
Cosmos queries comparing strings) it would silently mean a different instant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# The wall clock every record's time comes from; tests pass their own to expire things at once.
WallClock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, timezone-aware, in UTC: the gateway's one wall clock."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """The datetime in UTC; a naive one is refused (its zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given; use a timezone-aware one")
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """ISO 8601 text in UTC (``+00:00``), so stored values sort and compare as strings."""
    return to_utc(value).isoformat()


def from_iso(text: str) -> datetime:
    """The UTC datetime that ISO 8601 text names; text without an offset is refused."""
    return to_utc(datetime.fromisoformat(text))
