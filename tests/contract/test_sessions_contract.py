"""SessionStore contract: etag concurrency, create-once, partition by business unit, expiry."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from shared.domain.chat import TokenUsage
from shared.domain.records import ChatSession, Turn
from shared.ports import AlreadyExists, ConcurrencyConflict, SessionStore

from . import ContractClock


def _session(bu: str, clock: ContractClock, ttl_seconds: float = 3600) -> ChatSession:
    now = clock.now()
    return ChatSession(
        id=f"s-{uuid.uuid4().hex}",
        business_unit=bu,
        user_id="alice",
        use_case="assistant",
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )


def _with_turn(session: ChatSession, clock: ContractClock, text: str) -> ChatSession:
    turn = Turn(
        request_id=f"req-{uuid.uuid4().hex}",
        user=text,
        assistant=f"echo: {text}",
        usage=TokenUsage(prompt_tokens=30, completion_tokens=5, cached_tokens=0),
        at=clock.now(),
    )
    return dataclasses.replace(session, turns=(*session.turns, turn), updated_at=clock.now())


async def test_create_then_get_round_trips(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    created = await sessions.create(_with_turn(_session(bu, clock), clock, "hello"))

    assert created.etag
    assert await sessions.get(bu, created.id) == created


async def test_create_twice_raises_already_exists(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    session = _session(bu, clock)
    await sessions.create(session)

    with pytest.raises(AlreadyExists):
        await sessions.create(session)


async def test_wrong_business_unit_sees_nothing(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    created = await sessions.create(_session(bu, clock))

    assert await sessions.get(f"{bu}-other", created.id) is None
    assert await sessions.delete(f"{bu}-other", created.id) is False
    assert await sessions.get(bu, created.id) == created


async def test_replace_changes_the_etag(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    created = await sessions.create(_session(bu, clock))

    replaced = await sessions.replace(_with_turn(created, clock, "next"))

    assert replaced.etag and replaced.etag != created.etag
    assert await sessions.get(bu, created.id) == replaced


async def test_second_writer_from_the_same_read_conflicts(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    created = await sessions.create(_session(bu, clock))
    read_a = await sessions.get(bu, created.id)
    read_b = await sessions.get(bu, created.id)
    assert read_a is not None and read_b is not None

    won = await sessions.replace(_with_turn(read_a, clock, "from a"))
    with pytest.raises(ConcurrencyConflict):
        await sessions.replace(_with_turn(read_b, clock, "from b"))

    assert await sessions.get(bu, created.id) == won


async def test_replace_after_delete_conflicts(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    created = await sessions.create(_session(bu, clock))
    assert await sessions.delete(bu, created.id) is True

    with pytest.raises(ConcurrencyConflict):
        await sessions.replace(_with_turn(created, clock, "late"))


async def test_delete(sessions: SessionStore, bu: str, clock: ContractClock) -> None:
    created = await sessions.create(_session(bu, clock))

    assert await sessions.delete(bu, created.id) is True
    assert await sessions.get(bu, created.id) is None
    assert await sessions.delete(bu, created.id) is False


async def test_expired_session_reads_as_none(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    created = await sessions.create(_session(bu, clock, ttl_seconds=2))

    await clock.advance(1)
    assert await sessions.get(bu, created.id) == created
    await clock.advance(1)  # now == expires_at: expired
    assert await sessions.get(bu, created.id) is None


async def test_expired_id_can_be_created_again(
    sessions: SessionStore, bu: str, clock: ContractClock
) -> None:
    old = await sessions.create(_session(bu, clock, ttl_seconds=1))
    await clock.advance(1)

    fresh = dataclasses.replace(_session(bu, clock), id=old.id)
    created = await sessions.create(fresh)

    assert await sessions.get(bu, old.id) == created
