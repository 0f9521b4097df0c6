"""Queue port contract (OverflowQueue + QueueReceiver), run against the embedded queue only:
Service Bus has no local broker. Semantics are Service Bus peek-lock."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.synchronize
from datetime import timedelta
from pathlib import Path

import pytest

from shared.adapters.local_queue import MAX_DELIVERY_REASON, LocalQueue, LockLost
from shared.composition.embedded import open_embedded_queue
from tests.contract import FakeClock
from tests.embedded_queue import LOCK, message, queue_fixtures, received_ids

MAX_DELIVERY = 3
clock, queue = queue_fixtures(max_delivery_count=MAX_DELIVERY)


async def test_send_receive_complete(queue: LocalQueue) -> None:
    for name in ("a", "b", "c"):
        await queue.send(message(name))

    received = await queue.receive(10, LOCK)

    assert [m.message for m in received] == [message("a"), message("b"), message("c")]
    assert [m.delivery_count for m in received] == [1, 1, 1]
    for m in received:
        await queue.complete(m.lock_token)
    assert await queue.depth() == 0
    assert await queue.receive(10, LOCK) == []


async def test_locked_messages_are_invisible_but_active(queue: LocalQueue) -> None:
    await queue.send(message("a"))
    await queue.send(message("b"))

    assert await received_ids(queue, 1) == ["a"]
    assert await received_ids(queue) == ["b"]
    assert await queue.depth() == 2


async def test_expired_lock_redelivers_and_old_token_is_lost(
    queue: LocalQueue, clock: FakeClock
) -> None:
    await queue.send(message("a"))
    [first] = await queue.receive(1, LOCK)

    await clock.advance(LOCK)
    [again] = await queue.receive(1, LOCK)

    assert again.message == first.message
    assert again.delivery_count == 2
    with pytest.raises(LockLost):
        await queue.complete(first.lock_token)
    await queue.complete(again.lock_token)


async def test_abandon_releases_at_once(queue: LocalQueue) -> None:
    await queue.send(message("a"))
    [first] = await queue.receive(1, LOCK)

    await queue.abandon(first.lock_token)
    [again] = await queue.receive(1, LOCK)

    assert again.message.message_id == "a"
    assert again.delivery_count == 2


async def test_renew_lock_extends_it(queue: LocalQueue, clock: FakeClock) -> None:
    await queue.send(message("a"))
    [m] = await queue.receive(1, LOCK)

    await clock.advance(20)
    await queue.renew_lock(m.lock_token, LOCK)
    await clock.advance(20)  # past the first lock, inside the renewed one

    assert await queue.receive(1, LOCK) == []
    await queue.complete(m.lock_token)


async def test_redelivery_keeps_fifo_place(queue: LocalQueue, clock: FakeClock) -> None:
    await queue.send(message("a"))
    await queue.send(message("b"))
    await queue.receive(1, LOCK)  # locks "a"

    await clock.advance(LOCK)

    assert await received_ids(queue) == ["a", "b"]


async def test_lock_expiry_past_max_delivery_dead_letters(
    queue: LocalQueue, clock: FakeClock
) -> None:
    await queue.send(message("a"))
    for attempt in range(1, MAX_DELIVERY + 1):
        [m] = await queue.receive(1, LOCK)
        assert m.delivery_count == attempt
        await clock.advance(LOCK)

    assert await queue.receive(1, LOCK) == []
    [dead] = await queue.dead_letters()
    assert dead.message == message("a")
    assert dead.reason == MAX_DELIVERY_REASON
    assert dead.delivery_count == MAX_DELIVERY
    assert await queue.depth() == 0


async def test_last_abandon_dead_letters(queue: LocalQueue) -> None:
    await queue.send(message("a"))
    for _ in range(MAX_DELIVERY):
        [m] = await queue.receive(1, LOCK)
        await queue.abandon(m.lock_token)

    assert [d.reason for d in await queue.dead_letters()] == [MAX_DELIVERY_REASON]
    assert await queue.receive(1, LOCK) == []


async def test_dead_letter_with_reason(queue: LocalQueue) -> None:
    await queue.send(message("a"))
    await queue.send(message("b"))
    [m] = await queue.receive(1, LOCK)

    await queue.dead_letter(m.lock_token, "poison: bad payload")

    [dead] = await queue.dead_letters()
    assert (dead.message.message_id, dead.reason, dead.delivery_count) == (
        "a",
        "poison: bad payload",
        1,
    )
    assert await received_ids(queue) == ["b"]


async def test_scheduled_message_is_invisible_until_due(
    queue: LocalQueue, clock: FakeClock
) -> None:
    await queue.send(message("later"), scheduled_at=clock.now() + timedelta(seconds=60))
    await queue.send(message("now"))

    [now] = await queue.receive(10, LOCK)
    assert now.message.message_id == "now"
    await queue.complete(now.lock_token)
    assert await queue.depth() == 0
    await clock.advance(59)
    assert await received_ids(queue) == []
    await clock.advance(1)
    assert await received_ids(queue) == ["later"]


async def test_fifo_by_visible_time(queue: LocalQueue, clock: FakeClock) -> None:
    await queue.send(message("scheduled"), scheduled_at=clock.now() + timedelta(seconds=10))
    await clock.advance(5)
    await queue.send(message("sent-later"))
    await clock.advance(10)

    assert await received_ids(queue) == ["sent-later", "scheduled"]


async def test_duplicate_message_id_is_dropped_within_window(
    queue: LocalQueue, clock: FakeClock
) -> None:
    await queue.send(message("job-1"))
    await queue.send(message("job-1"))
    [m] = await queue.receive(10, LOCK)
    await queue.complete(m.lock_token)

    await clock.advance(599)
    await queue.send(message("job-1"))  # completed, but still inside the 10-minute window
    assert await queue.depth() == 0

    await clock.advance(1)
    await queue.send(message("job-1"))
    assert await received_ids(queue) == ["job-1"]


@pytest.mark.parametrize("action", ["complete", "abandon", "renew_lock", "dead_letter"])
async def test_unknown_lock_token_raises_lock_lost(queue: LocalQueue, action: str) -> None:
    with pytest.raises(LockLost):
        if action == "renew_lock":
            await queue.renew_lock("no-such-token", LOCK)
        elif action == "dead_letter":
            await queue.dead_letter("no-such-token", "why")
        else:
            await getattr(queue, action)("no-such-token")


# Several processes claiming from one file: each message must reach exactly one of them.
MESSAGES = 200
PROCESSES = 3


def _drain(data_dir: str, out: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    async def run() -> list[str]:
        queue = open_embedded_queue(Path(data_dir))
        barrier.wait()
        got: list[str] = []
        while batch := await queue.receive(5, 120):
            for m in batch:
                got.append(m.message.message_id)
                await queue.complete(m.lock_token)
        await queue.close()
        return got

    Path(out).write_text(json.dumps(asyncio.run(run())))


async def test_processes_never_claim_the_same_message(tmp_path: Path) -> None:
    queue = open_embedded_queue(tmp_path)
    for n in range(MESSAGES):
        await queue.send(message(f"m{n}"))
    await queue.close()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    outs = [tmp_path / f"claimed-{n}.json" for n in range(PROCESSES)]
    procs = [ctx.Process(target=_drain, args=(str(tmp_path), str(out), barrier)) for out in outs]
    for proc in procs:
        proc.start()
    for proc in procs:
        await asyncio.to_thread(proc.join, 60)
        assert proc.exitcode == 0

    claimed = [mid for out in outs for mid in json.loads(out.read_text())]
    assert len(claimed) == MESSAGES
    assert set(claimed) == {f"m{n}" for n in range(MESSAGES)}
