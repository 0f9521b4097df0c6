"""SemanticCache contract: nearest by cosine inside one partition, bounded, TTL-aware."""

from __future__ import annotations

import dataclasses
import math
import uuid

import pytest

from shared.domain.chat import TokenUsage
from shared.domain.embeddings import EMBEDDING_DIMENSIONS, SemanticEntry
from shared.ports import SemanticCache

from . import ContractClock


def unit(*weights: float) -> tuple[float, ...]:
    """A unit vector with these leading components (the rest zero)."""
    padded = [*weights, *([0.0] * (EMBEDDING_DIMENSIONS - len(weights)))]
    norm = math.sqrt(sum(x * x for x in padded))
    return tuple(x / norm for x in padded)


def entry(
    clock: ContractClock, partition: str, vector: tuple[float, ...], text: str
) -> SemanticEntry:
    return SemanticEntry(
        id=f"req-{uuid.uuid4().hex}",
        partition=partition,
        text=text,
        vector=vector,
        content=f"answer to {text}",
        usage=TokenUsage(prompt_tokens=40, completion_tokens=3),
        business_unit="finance",
        use_case="classify",
        model="gpt-4o-mini",
        created_at=clock.now(),
    )


@pytest.fixture
def partition() -> str:
    return f"p-{uuid.uuid4().hex}"


async def test_an_empty_partition_has_no_neighbours(
    semantic: SemanticCache, partition: str
) -> None:
    assert await semantic.nearest(partition, unit(1.0), limit=3) == []


async def test_nearest_ranks_by_cosine_within_the_partition_only(
    semantic: SemanticCache, clock: ContractClock, partition: str
) -> None:
    close = entry(clock, partition, unit(1.0, 0.1), "close")
    far = entry(clock, partition, unit(1.0, 1.0), "far")
    opposite = entry(clock, partition, unit(-1.0), "opposite")
    elsewhere = entry(clock, f"{partition}-other", unit(1.0), "same vector, other partition")
    for e in (far, close, opposite, elsewhere):
        await semantic.put(e, ttl_seconds=60)

    found = await semantic.nearest(partition, unit(1.0), limit=5)

    assert [m.entry.text for m in found] == ["close", "far", "opposite"]
    assert found[0].similarity == pytest.approx(1 / math.sqrt(1.01), abs=1e-4)
    assert found[1].similarity == pytest.approx(1 / math.sqrt(2), abs=1e-4)
    assert found[2].similarity == pytest.approx(-1.0, abs=1e-4)
    got = found[0].entry
    assert (got.id, got.content, got.usage, got.business_unit) == (
        close.id,
        close.content,
        close.usage,
        close.business_unit,
    )


async def test_nearest_returns_at_most_limit(
    semantic: SemanticCache, clock: ContractClock, partition: str
) -> None:
    for i in range(4):
        await semantic.put(entry(clock, partition, unit(1.0, i / 10), f"e{i}"), ttl_seconds=60)
    found = await semantic.nearest(partition, unit(1.0), limit=2)
    assert [m.entry.text for m in found] == ["e0", "e1"]


async def test_nearest_skips_expired_entries(
    semantic: SemanticCache, clock: ContractClock, partition: str
) -> None:
    await semantic.put(entry(clock, partition, unit(1.0), "short"), ttl_seconds=1)
    await semantic.put(entry(clock, partition, unit(1.0, 0.5), "long"), ttl_seconds=60)
    await clock.advance(1)
    found = await semantic.nearest(partition, unit(1.0), limit=5)
    assert [m.entry.text for m in found] == ["long"]


async def test_a_put_with_the_same_id_replaces(
    semantic: SemanticCache, clock: ContractClock, partition: str
) -> None:
    first = entry(clock, partition, unit(1.0), "first")
    await semantic.put(first, ttl_seconds=60)
    await semantic.put(dataclasses.replace(first, content="second"), ttl_seconds=60)
    found = await semantic.nearest(partition, unit(1.0), limit=5)
    assert [m.entry.content for m in found] == ["second"]


async def test_ttl_must_be_positive(
    semantic: SemanticCache, clock: ContractClock, partition: str
) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await semantic.put(entry(clock, partition, unit(1.0), "x"), ttl_seconds=0)
