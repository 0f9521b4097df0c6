"""Token budgeting of a chat prompt: system + recent turns that fit + the new message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.catalog import Catalog
from shared.domain.chat import Message, TokenUsage
from shared.domain.errors import PayloadTooLarge
from shared.domain.records import Turn
from shared.handlers.chat_prompt import fit_prompt, prompt_budget
from shared.tokenizer import Tokenizer

TOKENIZER = Tokenizer("o200k_base")
SYSTEM = "You are a helpful assistant."


def turn(n: int, words: int = 20) -> Turn:
    return Turn(
        request_id=f"r{n}",
        user=f"question {n} " + "word " * words,
        assistant=f"answer {n} " + "word " * words,
        usage=TokenUsage(10, 10),
        at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def pair_cost(t: Turn) -> int:
    return TOKENIZER.count_message(Message("user", t.user)) + TOKENIZER.count_message(
        Message("assistant", t.assistant)
    )


def test_everything_fits_and_the_count_is_exact() -> None:
    turns = [turn(n) for n in range(3)]
    prompt = fit_prompt(SYSTEM, turns, "hello", TOKENIZER, budget=10_000)

    assert prompt.turns_dropped == 0
    assert [m.role for m in prompt.messages] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert prompt.messages[-1] == Message("user", "hello")
    assert prompt.prompt_tokens == TOKENIZER.count_messages(prompt.messages)


def test_oldest_turns_are_dropped_first_and_the_prompt_stays_within_budget() -> None:
    turns = [turn(n) for n in range(10)]
    fixed = TOKENIZER.count_messages((Message("system", SYSTEM), Message("user", "hello")))
    budget = fixed + sum(pair_cost(t) for t in turns[-4:]) + 1  # room for exactly 4 turns

    prompt = fit_prompt(SYSTEM, turns, "hello", TOKENIZER, budget)

    assert prompt.turns_dropped == 6
    kept_users = [m.content for m in prompt.messages if m.role == "user"][:-1]
    assert kept_users == [t.user for t in turns[-4:]]
    assert prompt.prompt_tokens == TOKENIZER.count_messages(prompt.messages) <= budget


def test_the_window_stays_contiguous_when_an_old_turn_is_small() -> None:
    # A big turn in the middle stops the walk: the small turn before it is not slipped in.
    turns = [turn(0, words=1), turn(1, words=2_000), turn(2, words=1)]
    fixed = TOKENIZER.count_messages((Message("system", SYSTEM), Message("user", "hi")))
    budget = fixed + pair_cost(turns[2]) + pair_cost(turns[0]) + 5

    prompt = fit_prompt(SYSTEM, turns, "hi", TOKENIZER, budget)

    assert prompt.turns_dropped == 2
    assert [m.content for m in prompt.messages[1:-1]] == [turns[2].user, turns[2].assistant]


def test_a_message_that_cannot_fit_alone_is_413_naming_the_numbers() -> None:
    with pytest.raises(PayloadTooLarge) as raised:
        fit_prompt(SYSTEM, [turn(0)], "word " * 500, TOKENIZER, budget=100)

    error = raised.value
    assert error.code == "message_too_large"
    assert error.details["limit"] == 100
    assert str(error.details["prompt_tokens"]) in error.message
    assert "100" in error.message


def test_budget_is_the_smaller_of_use_case_limit_and_window_minus_output() -> None:
    chat = Catalog.load().get("chat")
    assert chat is not None
    assert prompt_budget(chat, 128_000) == chat.max_input_tokens == 64_000
    assert prompt_budget(chat, 16_385) == 16_385 - chat.max_output_tokens
