"""The tokenizer is tiktoken's, built from bundled vocabularies with no download."""

from __future__ import annotations

import pytest

from shared.domain.chat import Message
from shared.tokenizer import Tokenizer, TokenizerUnavailable, get_encoding, parse_ranks


@pytest.mark.parametrize(
    ("encoding", "text", "tokens"),
    [
        # Reference ids from tiktoken's own test-suite / the OpenAI tokenizer.
        ("cl100k_base", "hello world", [15339, 1917]),
        ("o200k_base", "hello world", [24912, 2375]),
    ],
)
def test_known_token_ids(encoding: str, text: str, tokens: list[int]) -> None:
    assert Tokenizer(encoding).encode(text) == tokens


def test_round_trip_and_special_text_is_plain() -> None:
    tokenizer = Tokenizer("o200k_base")
    text = "Café ☕ — <|endoftext|> 12345"
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_counts_are_the_number_of_token_ids() -> None:
    # o200k_base ids of "Be brief.": [3238, 14567, 13] (the OpenAI tokenizer).
    assert Tokenizer("o200k_base").count("Be brief.") == 3
    assert Tokenizer("cl100k_base").count("hello world") == 2


def test_chat_framing_adds_per_message_overhead() -> None:
    # 3 tokens per message and 3 priming the reply, as OpenAI counts chat prompts
    # (openai-cookbook, "How to count tokens with tiktoken"). o200k_base ids: "system" [17360],
    # "Be brief." [3238, 14567, 13], "user" [1428], "Hi" [12194].
    messages = [Message("system", "Be brief."), Message("user", "Hi")]
    assert Tokenizer("o200k_base").count_messages(messages) == 3 + (3 + 1 + 3) + (3 + 1 + 1)


def test_unknown_encoding_fails_clearly() -> None:
    with pytest.raises(TokenizerUnavailable, match="unknown encoding"):
        get_encoding("p50k_base")


def test_a_missing_vocabulary_fails_at_construction_not_at_the_first_count() -> None:
    with pytest.raises(TokenizerUnavailable, match="unknown encoding"):
        Tokenizer("p50k_base")


def test_the_vocabulary_loads_at_the_first_count() -> None:
    tokenizer = Tokenizer("cl100k_base")
    assert "_enc" not in vars(tokenizer)
    assert tokenizer.count("hello world") == 2
    assert "_enc" in vars(tokenizer)


def test_ranks_parse_as_tiktoken_reads_them() -> None:
    raw = b"aGVsbG8= 0\nIHdvcmxk 1\n\nIQ== 2\n"
    assert parse_ranks(raw) == {b"hello": 0, b" world": 1, b"!": 2}
    with pytest.raises(TokenizerUnavailable, match="malformed"):
        parse_ranks(b"aGVsbG8= 0\nIHdvcmxk\n")
