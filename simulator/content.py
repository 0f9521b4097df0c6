"""Deterministic replies: the same request always gets the same text.

A PRNG seeded from a SHA-256 of the request picks English-looking sentences, or a small JSON
document valid for the requested ``json_schema``. Replies are cut at ``max_tokens`` by tokens,
like a real model, which is when ``finish_reason`` becomes ``"length"`` (even mid-JSON, as Azure).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from typing import Any

from shared.tokenizer import Tokenizer

MIN_TOKENS = 20
MAX_TOKENS = 80

_DET = ("the", "a", "each", "every", "this", "our", "their", "one")
_ADJ = (
    "quiet", "bright", "careful", "steady", "simple", "modern", "early", "useful", "clear",
    "local", "broad", "recent", "practical", "common", "small", "large", "reliable", "new",
)  # fmt: skip
_NOUN = (
    "team", "report", "system", "market", "budget", "project", "customer", "process", "plan",
    "model", "answer", "policy", "region", "service", "result", "question", "method", "review",
)  # fmt: skip
_VERB = (
    "supports", "improves", "explains", "describes", "follows", "reaches", "changes", "shows",
    "requires", "includes", "reduces", "builds", "keeps", "covers", "tracks", "shapes",
)  # fmt: skip
_ADV = ("quickly", "carefully", "often", "clearly", "rarely", "mostly", "easily", "gradually")
_PREP = ("for", "with", "across", "within", "after", "before", "during", "through")
_LINK = ("and", "but", "while", "because", "so")


@dataclass(frozen=True, slots=True)
class Reply:
    content: str
    completion_tokens: int
    finish_reason: str  # "stop" | "length"


def request_rng(
    messages: Any, max_tokens: int, response_format: Any, seed: int = 0
) -> random.Random:
    """A PRNG determined by what the caller asked (not by who served it, nor when)."""
    key = json.dumps(
        [messages, max_tokens, response_format, seed], sort_keys=True, separators=(",", ":")
    )
    digest = hashlib.sha256(key.encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _sentence(rng: random.Random) -> list[str]:
    words = [rng.choice(_DET), rng.choice(_ADJ), rng.choice(_NOUN), rng.choice(_VERB)]
    words += [rng.choice(_DET), rng.choice(_NOUN)]
    if rng.random() < 0.5:
        words += [rng.choice(_PREP), rng.choice(_DET), rng.choice(_ADJ), rng.choice(_NOUN)]
    if rng.random() < 0.4:
        words[-1] += ","
        words += [rng.choice(_LINK), rng.choice(_DET), rng.choice(_NOUN), rng.choice(_ADV)]
        words += [rng.choice(_VERB), rng.choice(_NOUN) + "s"]
    words[0] = words[0].capitalize()
    words[-1] += "."
    return words


def prose(rng: random.Random, target_tokens: int) -> str:
    # Every word here is one token in both encodings, and so is each "." or ",":
    # estimating while generating saves encoding the text again and again.
    words: list[str] = []
    estimate = 0
    while estimate < target_tokens:
        sentence = _sentence(rng)
        words += sentence
        estimate += len(sentence) + 1 + sum(w.endswith(",") for w in sentence)
    return " ".join(words)


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_NOUN if i else _ADJ) for i in range(rng.randint(low, high)))


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        return _resolve(node, root)
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            # The first non-null option is a valid choice for anyOf/oneOf in practice.
            usable = [o for o in options if o.get("type") != "null"] or options
            return _resolve(usable[0], root)
    return schema


def _bounds(schema: dict[str, Any], span: float = 100.0) -> tuple[float, float]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None:
        low = 0.0 if high is None or high >= 0 else high - span
    if high is None:
        high = low + span
    return float(low), float(max(low, high))


def schema_value(
    schema: dict[str, Any], rng: random.Random, root: dict[str, Any], depth: int = 0
) -> Any:
    """A small value valid for ``schema`` (the JSON Schema subset structured outputs use)."""
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        if depth > 4:  # a recursive $ref must end somewhere
            return {}
        return {name: schema_value(sub, rng, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        low = int(schema.get("minItems", 1))
        high = max(low, min(int(schema.get("maxItems", 3)), low + 2))
        items = schema.get("items", {"type": "string"})
        return [schema_value(items, rng, root, depth + 1) for _ in range(rng.randint(low, high))]
    return _scalar_value(kind, schema, rng)


def _scalar_value(kind: str, schema: dict[str, Any], rng: random.Random) -> Any:
    if kind == "integer":
        bottom, top = _bounds(schema)
        return rng.randint(math.ceil(bottom), max(math.ceil(bottom), math.floor(top)))
    if kind == "number":
        bottom, top = _bounds(schema)
        return min(top, max(bottom, round(rng.uniform(bottom, top), 2)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    text = _words(rng, 1, 4)
    text = text.ljust(int(schema.get("minLength", 0)), "x")
    longest = schema.get("maxLength")
    return text[: int(longest)] if longest is not None else text


def _document(rng: random.Random, response_format: Any) -> str | None:
    """JSON text for a json_schema / json_object response_format; None for plain text."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        return json.dumps(schema_value(schema, rng, schema))
    if kind == "json_object":
        return json.dumps({"answer": " ".join(_sentence(rng)), "score": rng.randint(1, 10)})
    return None


def generate(
    rng: random.Random, tokenizer: Tokenizer, max_tokens: int, response_format: Any
) -> Reply:
    text = _document(rng, response_format)
    if text is None:
        text = prose(rng, rng.randint(MIN_TOKENS, MAX_TOKENS))
    tokens = tokenizer.encode(text)
    if len(tokens) <= max_tokens:
        return Reply(text, len(tokens), "stop")
    # Decoding a token prefix can re-encode to a different count; shorten until it fits.
    keep = max_tokens
    while True:
        cut = tokenizer.decode(tokens[:keep])
        count = tokenizer.count(cut)
        if count <= max_tokens:
            return Reply(cut, count, "length")
        keep -= 1
