"""In-memory deployments for the router's unit tests: scripted outcomes, recorded calls."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from shared.domain.chat import (
    ChatRequest,
    ChatResult,
    Message,
    RateLimitInfo,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    TokenUsage,
)
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.domain.upstream import UpstreamRejected, UpstreamThrottled, UpstreamUnavailable
from shared.routing import Router
from shared.settings import DeploymentConfig

GROUP = "gpt-4o-mini"


class FakeClock:
    """A clock that moves only when told to, or when someone sleeps on it.

    ``sleep`` records the requested duration, advances time by it and yields to the loop once,
    so a test can assert both that no sleep happened and how long a backoff was. The router's
    cut of a call still in flight at the deadline runs on the loop's timer (real seconds).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        self._now = when

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class MidStream:
    """Stream one delta, then fail with ``error`` (a stream that breaks after committing)."""

    error: Exception


Outcome = Exception | MidStream | None  # None: answer normally


def config(
    name: str, *, tpm: int = 100_000, priority: int = 0, weight: int = 1, group: str = ""
) -> DeploymentConfig:
    return DeploymentConfig.model_validate(
        {
            "name": name,
            "endpoint": "http://127.0.0.1:9",
            "model": GROUP,
            "region": f"region-{name}",
            "group": group,
            "priority": priority,
            "weight": weight,
            "tpm": tpm,
            "rpm": 10_000,
        }
    )


class FakeDeployment:
    def __init__(self, name: str, **settings: Any) -> None:
        self.config = config(name, **settings)
        self.script: deque[Outcome] = deque()
        self.calls: list[ChatRequest] = []
        self.gate: asyncio.Event | None = None  # when set, calls wait on it (held in flight)
        self.ratelimit = RateLimitInfo()
        self.streams_closed = 0

    @property
    def name(self) -> str:
        return self.config.name

    def then(self, *outcomes: Outcome) -> FakeDeployment:
        self.script.extend(outcomes)
        return self

    def _result(self, request: ChatRequest, content: str) -> ChatResult:
        return ChatResult(
            content=content,
            usage=TokenUsage(prompt_tokens=request.prompt_tokens, completion_tokens=2),
            model=GROUP,
            deployment=self.name,
            region=self.config.region,
            ratelimit=self.ratelimit,
        )

    async def _start(self, request: ChatRequest) -> Outcome:
        self.calls.append(request)
        outcome = self.script.popleft() if self.script else None
        if self.gate is not None:
            await self.gate.wait()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def complete(self, request: ChatRequest) -> ChatResult:
        await self._start(request)
        return self._result(request, f"hello from {self.name}")

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        await self._start(request)  # type: ignore[arg-type]
        return EmbeddingResult(
            vectors=tuple((1.0, 0.0) for _ in request.texts),
            usage=TokenUsage(prompt_tokens=request.prompt_tokens, completion_tokens=0),
            model="text-embedding-3-small",
            deployment=self.name,
            region=self.config.region,
            ratelimit=self.ratelimit,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        try:
            outcome = await self._start(request)
            yield StreamDelta("hello ")
            if isinstance(outcome, MidStream):
                raise outcome.error
            yield StreamDelta(f"from {self.name}")
            yield StreamEnd(self._result(request, f"hello from {self.name}"))
        finally:
            self.streams_closed += 1


def throttled(retry_after: float | None) -> UpstreamThrottled:
    return UpstreamThrottled("429", retry_after=retry_after)


def unavailable() -> UpstreamUnavailable:
    return UpstreamUnavailable("503")


def rejected() -> UpstreamRejected:
    return UpstreamRejected("content filtered", reason="content_filter")


def chat(prompt_tokens: int = 100, max_tokens: int = 100, group: str = GROUP) -> ChatRequest:
    return ChatRequest(
        request_id="r-1",
        group=group,
        messages=(Message("user", "hi"),),
        max_tokens=max_tokens,
        prompt_tokens=prompt_tokens,
    )


def router(*deployments: FakeDeployment, clock: FakeClock, **options: Any) -> Router:
    return Router(deployments, clock=clock, rng=random.Random(7), **options)
