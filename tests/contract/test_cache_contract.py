"""CompletionCache contract: exact round trip, replacement, and TTL expiry."""

from __future__ import annotations

import dataclasses
import uuid

from shared.domain.chat import TokenUsage
from shared.domain.records import CachedCompletion
from shared.ports import CompletionCache

from . import ContractClock


def _entry(clock: ContractClock, content: str = "Paris.") -> CachedCompletion:
    return CachedCompletion(
        key=f"key-{uuid.uuid4().hex}",
        business_unit="finance",
        use_case="qa",
        model="gpt-4o-mini",
        content=content,
        usage=TokenUsage(prompt_tokens=120, completion_tokens=7, cached_tokens=64, estimated=True),
        created_at=clock.now(),
        finish_reason="length",  # not the default: the round trip must keep it
    )


async def test_miss_returns_none(cache: CompletionCache) -> None:
    assert await cache.get(f"absent-{uuid.uuid4().hex}") is None


async def test_put_then_get_round_trips_every_field(
    cache: CompletionCache, clock: ContractClock
) -> None:
    entry = _entry(clock)
    await cache.put(entry, ttl_seconds=60)

    got = await cache.get(entry.key)

    assert got == entry
    assert got is not None
    assert got.created_at.utcoffset() is not None


async def test_put_again_replaces(cache: CompletionCache, clock: ContractClock) -> None:
    first = _entry(clock, "old")
    second = dataclasses.replace(first, content="new")
    await cache.put(first, ttl_seconds=60)
    await cache.put(second, ttl_seconds=60)

    got = await cache.get(first.key)

    assert got is not None
    assert got.content == "new"


async def test_entry_expires_after_ttl(cache: CompletionCache, clock: ContractClock) -> None:
    entry = _entry(clock)
    await cache.put(entry, ttl_seconds=2)

    await clock.advance(1)
    assert await cache.get(entry.key) == entry
    await clock.advance(1)
    assert await cache.get(entry.key) is None


async def test_put_after_expiry_stores_afresh(cache: CompletionCache, clock: ContractClock) -> None:
    entry = _entry(clock)
    await cache.put(entry, ttl_seconds=1)
    await clock.advance(1)
    await cache.put(entry, ttl_seconds=60)

    assert await cache.get(entry.key) == entry
