"""What the gateway asks a chat model, and what it gets back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One upstream call, already rendered, counted and checked against the model's window."""

    request_id: str
    group: str
    messages: tuple[Message, ...]
    max_tokens: int
    prompt_tokens: int
    temperature: float = 0.0
    response_format: dict[str, Any] | None = None

    @property
    def quota_cost(self) -> int:
        """Tokens Azure charges against TPM when the call is admitted: prompt + max_tokens."""
        return self.prompt_tokens + self.max_tokens


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int
    completion_tokens: int
    # Part of prompt_tokens (usage.prompt_tokens_details.cached_tokens), never added on top.
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    # True when upstream sent no usage and the gateway counted with its tokenizer.
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "estimated": self.estimated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenUsage:
        return cls(
            prompt_tokens=int(data["prompt_tokens"]),
            completion_tokens=int(data["completion_tokens"]),
            cached_tokens=int(data.get("cached_tokens", 0)),
            reasoning_tokens=int(data.get("reasoning_tokens", 0)),
            estimated=bool(data.get("estimated", False)),
        )


ZERO_USAGE = TokenUsage(prompt_tokens=0, completion_tokens=0)


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What the deployment said about its remaining quota (x-ratelimit-remaining-*)."""

    remaining_tokens: int | None = None
    remaining_requests: int | None = None


@dataclass(frozen=True, slots=True)
class ChatResult:
    content: str
    usage: TokenUsage
    model: str
    deployment: str
    region: str
    finish_reason: str = "stop"
    attempts: int = 1
    ratelimit: RateLimitInfo = field(default_factory=RateLimitInfo)


@dataclass(frozen=True, slots=True)
class StreamDelta:
    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """Last event of a stream: the whole reply and its (exact or estimated) usage."""

    result: ChatResult


StreamEvent = StreamDelta | StreamEnd


async def close_stream(events: AsyncIterator[Any]) -> None:
    """Close a stream of events if it can be closed (async generators can; plain iterators
    have nothing to release)."""
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
