"""Generated replies: deterministic, bounded by max_tokens, valid for a requested schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from shared.tokenizer import Tokenizer
from simulator.content import MAX_TOKENS, MIN_TOKENS, generate, request_rng

TOKENIZER = Tokenizer("o200k_base")
MESSAGES = [{"role": "user", "content": "Summarise the quarter."}]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 30},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "urgent": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "owner": {"$ref": "#/$defs/person"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["title", "sentiment", "score", "confidence", "urgent", "tags", "owner", "note"],
    "additionalProperties": False,
    "$defs": {
        "person": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": False,
        }
    },
}
JSON_SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}}


def _reply(messages: Any = MESSAGES, max_tokens: int = 1024, fmt: Any = None) -> Any:
    return generate(request_rng(messages, max_tokens, fmt), TOKENIZER, max_tokens, fmt)


def test_same_request_same_reply_and_different_request_different_reply() -> None:
    assert _reply() == _reply()
    assert _reply().content != _reply([{"role": "user", "content": "Other."}]).content


@pytest.mark.parametrize("seed_text", [f"question {i}" for i in range(20)])
def test_plain_text_length_comes_from_the_seed_within_bounds(seed_text: str) -> None:
    reply = _reply([{"role": "user", "content": seed_text}])

    assert reply.finish_reason == "stop"
    assert MIN_TOKENS <= reply.completion_tokens <= MAX_TOKENS + 25
    assert reply.completion_tokens == TOKENIZER.count(reply.content)
    assert reply.content[0].isupper() and reply.content.endswith(".")


def test_truncates_by_tokens_at_max_tokens() -> None:
    reply = _reply(max_tokens=7)

    assert reply.finish_reason == "length"
    assert reply.completion_tokens == TOKENIZER.count(reply.content) <= 7


@pytest.mark.parametrize("seed_text", ["a", "b", "c", "d", "e", "f"])
def test_json_schema_reply_validates(seed_text: str) -> None:
    reply = _reply([{"role": "user", "content": seed_text}], fmt=JSON_SCHEMA_FORMAT)

    jsonschema.validate(json.loads(reply.content), SCHEMA)
    assert reply.finish_reason == "stop"


def test_json_object_reply_is_an_object() -> None:
    reply = _reply(fmt={"type": "json_object"})

    assert isinstance(json.loads(reply.content), dict)


def test_response_format_changes_the_seed() -> None:
    assert _reply().content != _reply(fmt={"type": "json_object"}).content
