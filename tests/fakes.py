"""In-memory fakes that record what happened (cosmicpython's unit-test layer)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from shared.domain import holder
from shared.domain.chat import (
    ChatRequest,
    ChatResult,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    TokenUsage,
)
from shared.tokenizer import Tokenizer

Reply = str | Callable[[ChatRequest], str] | Exception


@dataclass
class FakeChatModel:
    """Answers from a script of replies (last one repeats); counts usage with the tokenizer."""

    replies: list[Reply] = field(default_factory=lambda: ["A short summary."])
    tokenizer: Tokenizer = field(default_factory=lambda: Tokenizer("o200k_base"))
    calls: list[ChatRequest] = field(default_factory=list)
    include_usage: bool = True
    # What every reply says about why it stopped ("length": cut at max_tokens).
    finish_reason: str = "stop"
    # When set, every call waits for it: lets a test hold calls open to force overlaps.
    gate: asyncio.Event | None = None

    def _next(self, request: ChatRequest) -> str:
        self.calls.append(request)
        reply = self.replies[min(len(self.calls), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply(request) if callable(reply) else reply

    def _result(self, request: ChatRequest, content: str) -> ChatResult:
        usage = TokenUsage(request.prompt_tokens, self.tokenizer.count(content))
        return ChatResult(
            content, usage, "gpt-4o-mini", "fake-eastus", "eastus", self.finish_reason
        )

    async def complete(self, request: ChatRequest) -> ChatResult:
        if self.gate is not None:
            await self.gate.wait()
        return self._result(request, self._next(request))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        content = self._next(request)
        for word in content.split(" "):
            yield StreamDelta(word + " ")
        yield StreamEnd(self._result(request, content))


def dead_holder() -> str:
    """A lease or lock holder on this instance whose process has ended (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{holder.INSTANCE}/{child.stdout.strip()}/0123456789ab"
