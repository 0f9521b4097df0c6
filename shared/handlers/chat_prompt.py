"""The prompt of one chat turn, fitted to a token budget.

The budget is the smaller of the use case's ``max_input_tokens`` and the model's context window
minus the tokens reserved for the reply (``max_output_tokens``): Azure OpenAI rejects a request
whose prompt plus ``max_tokens`` exceeds the window. The system prompt and the new user message
always go in; history fills what is left from the newest turn backwards, and the oldest turns
are dropped first, whole (a user message without its reply would mislead the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.catalog import UseCase
from shared.domain.chat import Message
from shared.domain.errors import PayloadTooLarge
from shared.domain.records import Turn
from shared.tokenizer import Tokenizer


@dataclass(frozen=True, slots=True)
class ChatPrompt:
    messages: tuple[Message, ...]
    prompt_tokens: int
    turns_dropped: int


def prompt_budget(usecase: UseCase, context_window: int) -> int:
    return min(usecase.max_input_tokens, context_window - usecase.max_output_tokens)


def fit_prompt(
    system: str,
    turns: Sequence[Turn],
    user_text: str,
    tokenizer: Tokenizer,
    budget: int,
) -> ChatPrompt:
    """System + as many recent turns as fit + the new message; 413 when the message alone can't."""
    system_message = Message("system", system)
    user_message = Message("user", user_text)
    # count_messages is a sum over messages plus the reply framing, so parts add up exactly.
    fixed = tokenizer.count_messages((system_message, user_message))
    if fixed > budget:
        raise PayloadTooLarge(
            f"the message and system prompt are {fixed} tokens; this chat accepts at most "
            f"{budget} per prompt",
            code="message_too_large",
            details={"prompt_tokens": fixed, "limit": budget},
        )
    total = fixed
    kept: list[tuple[Message, Message]] = []
    for turn in reversed(turns):
        pair = (Message("user", turn.user), Message("assistant", turn.assistant))
        cost = tokenizer.count_message(pair[0]) + tokenizer.count_message(pair[1])
        if total + cost > budget:
            break  # keep the window contiguous: never skip a turn and include an older one
        total += cost
        kept.append(pair)
    history = [message for pair in reversed(kept) for message in pair]
    return ChatPrompt(
        messages=(system_message, *history, user_message),
        prompt_tokens=total,
        turns_dropped=len(turns) - len(kept),
    )
