"""Server-sent events in the OpenAI/Azure ``chat.completion.chunk`` format.

Order, as the OpenAI SDK expects: a role chunk, content chunks, a chunk carrying
``finish_reason``, then (with ``stream_options.include_usage``) a chunk with ``choices: []`` and
``usage``, then ``data: [DONE]``:
https://platform.openai.com/docs/api-reference/chat/streaming
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Callable
from typing import Any

from simulator import responses as azure
from simulator.content import Reply

WORDS_PER_CHUNK = 3
_WORD = re.compile(r"\s*\S+\s*$|\s*\S+")


def split_pieces(text: str, words_per_chunk: int = WORDS_PER_CHUNK) -> list[str]:
    """Consecutive pieces of a few words each, that join back to exactly ``text``."""
    words = _WORD.findall(text)
    pieces = [
        "".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)
    ]
    if "".join(pieces) != text:  # leading/trailing whitespace the pattern did not take
        return [text] if text else []
    return pieces


async def event_stream(
    completion_id: str,
    created: int,
    model: str,
    reply: Reply,
    usage: dict[str, Any] | None,
    *,
    pause_per_token: float,
    on_complete: Callable[[], None],
) -> AsyncGenerator[bytes, None]:
    """Yields SSE frames; calls ``on_complete`` only once the last frame has been sent."""
    head = azure.chunk(completion_id, created, model, {"role": "assistant", "content": ""})
    pieces = split_pieces(reply.content)
    body = [azure.chunk(completion_id, created, model, {"content": p}) for p in pieces]
    tail = [azure.chunk(completion_id, created, model, {}, reply.finish_reason)]
    if usage is not None:
        tail.append(azure.usage_chunk(completion_id, created, model, usage))
    tail.append(azure.DONE)
    if not (pause_per_token and pieces):
        # Nothing to wait for between chunks: one write carries every event, which keeps
        # streaming as cheap as a plain response (per-chunk writes cost ~5x under load).
        yield b"".join([head, *body, *tail])
    else:
        # Spread the per-token latency evenly over the chunks: the total matches non-streaming.
        pause = pause_per_token * reply.completion_tokens / len(pieces)
        yield head
        for frame in body:
            await asyncio.sleep(pause)
            yield frame
        yield b"".join(tail)
    on_complete()
