"""The embeddings API as Azure serves it, with vectors that are LEXICAL, not semantic.

Vectors are deterministic feature hashes: each word, each pair of adjacent words and each
character trigram of a word is hashed to one of ``dimensions`` buckets with a sign, weighted,
summed and L2-normalised. Texts that share words (and word pieces) are close; texts that mean
the same with different words are not. That is enough to exercise a semantic cache locally
(paraphrases that reuse words hit, and near-misses such as "order 1042" vs "order 1043" are
*very* close, which is what the gateway's near-miss guard must catch), but says nothing about
how a real embeddings model ranks paraphrases: measure that against the real deployment.

Request and response shapes follow the Azure OpenAI REST reference (embeddings, 2024-10-21):
https://learn.microsoft.com/azure/ai-services/openai/reference#embeddings
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import sys
import unicodedata
from array import array
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from simulator.chat_request import InvalidRequest

# text-embedding-3-small: 1536 dimensions unless the request asks for fewer; 8191 tokens per
# input; at most 2048 inputs per request.
# https://learn.microsoft.com/azure/ai-services/openai/concepts/models#embeddings
DEFAULT_DIMENSIONS = 1536
MAX_INPUT_TOKENS = 8191
MAX_INPUTS = 2048

WORD_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.5
TRIGRAM_WEIGHT = 0.3

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    texts: tuple[str, ...]
    dimensions: int | None
    encoding_format: str  # "float" | "base64"


def _feature_bucket(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimensions, 1.0 if (value >> 63) & 1 else -1.0


def lexical_embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The simulator's vector for ``text``: unit length, the same on every machine."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
    vector = [0.0] * dimensions
    features: list[tuple[str, float]] = [(f"w:{w}", WORD_WEIGHT) for w in words]
    features += [(f"b:{a} {b}", BIGRAM_WEIGHT) for a, b in pairwise(words)]
    for word in words:
        padded = f"#{word}#"
        features += [(f"c:{padded[i : i + 3]}", TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    for feature, weight in features:
        bucket, sign = _feature_bucket(feature, dimensions)
        vector[bucket] += sign * weight
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        # No word at all (empty or punctuation only): a fixed unit vector, as a model would
        # still return some vector.
        vector[0] = 1.0
        return vector
    return [x / norm for x in vector]


def _texts(raw: Any, decode: Any) -> tuple[str, ...]:
    """``input``: a string, an array of strings, an array of tokens or an array of arrays."""
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw):
        items = [raw]
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        raise InvalidRequest("'input' must be a non-empty string or array")
    if len(items) > MAX_INPUTS:
        raise InvalidRequest(f"'input' must have at most {MAX_INPUTS} items")
    texts = []
    for item in items:
        if isinstance(item, str) and item:
            texts.append(item)
        elif isinstance(item, list) and item and all(isinstance(t, int) for t in item):
            texts.append(decode(item))
        else:
            raise InvalidRequest("each 'input' item must be a non-empty string or token array")
    return tuple(texts)


def parse_embedding_call(raw_body: bytes, decode: Any, model: str) -> EmbeddingCall:
    try:
        body = json.loads(raw_body)
    except ValueError:
        raise InvalidRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    dimensions = body.get("dimensions")
    if dimensions is not None:
        if not model.startswith("text-embedding-3"):
            raise InvalidRequest(f"'dimensions' is not supported by {model}")
        if isinstance(dimensions, bool) or not isinstance(dimensions, int):
            raise InvalidRequest("'dimensions' must be an integer")
        if not 1 <= dimensions <= DEFAULT_DIMENSIONS:
            raise InvalidRequest(f"'dimensions' must be between 1 and {DEFAULT_DIMENSIONS}")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise InvalidRequest("'encoding_format' must be 'float' or 'base64'")
    return EmbeddingCall(_texts(body.get("input"), decode), dimensions, encoding)


def encoded(vector: list[float], encoding_format: str) -> list[float] | str:
    """base64 is the little-endian float32 array, as the openai SDK decodes it."""
    if encoding_format == "float":
        return vector
    packed = array("f", vector)
    if sys.byteorder == "big":  # pragma: no cover - little-endian on every machine we run on
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def embeddings_body(
    model: str, vectors: list[list[float]], encoding_format: str, prompt_tokens: int
) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encoded(v, encoding_format)}
            for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
