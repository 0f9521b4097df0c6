"""UsageIntents contract: written before a call, closed exactly once, found by the sweeper when
their deadline has passed."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shared.domain.intent import BudgetHold, UsageIntent
from shared.ports import UsageIntents

NOW = datetime(2026, 11, 30, 23, 59, 58, 250000, tzinfo=UTC)


def intent(bu: str, deadline_in: float = 40.0, **changes: object) -> UsageIntent:
    made = UsageIntent(
        request_id=f"req-{uuid.uuid4().hex}",
        business_unit=bu,
        user_id="alice",
        use_case="summarize",
        use_case_version="2",
        model="gpt-4o-mini",
        group="gpt-4o-mini",
        prompt_tokens=1234,
        max_tokens=512,
        created_at=NOW,
        deadline=NOW + timedelta(seconds=deadline_in),
        job_id="job-7",
        hold=BudgetHold("2026-11", ("*", "summarize"), 1746, 1_047_600),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_an_open_intent_reads_back_exactly(intents: UsageIntents, bu: str) -> None:
    opened = intent(bu)
    bare = intent(bu, hold=None, job_id="")

    await intents.open(opened)
    await intents.open(bare)

    assert await intents.get(bu, opened.request_id) == opened
    assert await intents.get(bu, bare.request_id) == bare
    assert await intents.get(f"{bu}-other", opened.request_id) is None


async def test_opening_the_same_request_again_replaces_it(intents: UsageIntents, bu: str) -> None:
    first = intent(bu)
    again = replace(first, prompt_tokens=99, deadline=first.deadline + timedelta(seconds=5))

    await intents.open(first)
    await intents.open(again)

    assert await intents.get(bu, first.request_id) == again
    assert [i.request_id for i in await intents.due(bu, again.deadline + timedelta(1), 10)] == [
        first.request_id
    ]


async def test_close_is_true_once_then_false(intents: UsageIntents, bu: str) -> None:
    opened = intent(bu)
    await intents.open(opened)

    assert await intents.close(bu, opened.request_id) is True
    assert await intents.close(bu, opened.request_id) is False
    assert await intents.close(bu, "never-opened") is False
    assert await intents.get(bu, opened.request_id) is None


async def test_of_concurrent_closers_exactly_one_wins(intents: UsageIntents, bu: str) -> None:
    opened = intent(bu)
    await intents.open(opened)

    won = await asyncio.gather(*(intents.close(bu, opened.request_id) for _ in range(4)))

    assert sorted(won) == [False, False, False, True]


async def test_due_lists_what_passed_its_deadline_earliest_first(
    intents: UsageIntents, bu: str
) -> None:
    late, later, not_yet = intent(bu, 10), intent(bu, 20), intent(bu, 60)
    elsewhere = intent(f"{bu}-other", 5)
    for each in (later, not_yet, elsewhere, late):
        await intents.open(each)
    at = NOW + timedelta(seconds=30)

    assert [i.request_id for i in await intents.due(bu, at, 10)] == [
        late.request_id,
        later.request_id,
    ]
    assert [i.request_id for i in await intents.due(bu, at, 1)] == [late.request_id]
    assert await intents.due(bu, late.deadline, 10) == []  # strictly before

    await intents.close(bu, late.request_id)
    assert [i.request_id for i in await intents.due(bu, at, 10)] == [later.request_id]
