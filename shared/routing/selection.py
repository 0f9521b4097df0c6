"""Which deployment takes the next attempt: by headroom (the default), or in turn.

A ``Slot`` is one deployment with its routing state (headroom, cooldown, breaker). Both
strategies only see the ready slots of one group; deployments that already failed this request
go last.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Protocol

from shared.domain.chat import ChatRequest, ChatResult, StreamEvent
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.routing.breaker import CircuitBreaker
from shared.routing.headroom import DeploymentState
from shared.settings import DeploymentConfig


class RoutableDeployment(Protocol):
    """One deployment as the router needs it; AzureOpenAIDeployment satisfies it."""

    @property
    def config(self) -> DeploymentConfig: ...

    @property
    def name(self) -> str: ...

    async def complete(self, request: ChatRequest) -> ChatResult: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult: ...


class Slot:
    def __init__(
        self, deployment: RoutableDeployment, breaker: CircuitBreaker, window: float
    ) -> None:
        self.deployment = deployment
        self.name = deployment.name
        self.state = DeploymentState(deployment.config, breaker, window)


def most_headroom(
    ready: list[Slot], tried: set[str], cost: int, now: float, rng: random.Random
) -> Slot | None:
    """Best tier first, then most headroom, then weight, then at random. Admission: a call our
    own estimate says Azure would refuse is not sent to collect a 429 (None: none fits)."""
    fitting = [(s, score) for s in ready if (score := s.state.score_if_fits(cost, now)) is not None]
    if not fitting:
        return None
    slot, _ = min(
        fitting,
        key=lambda pair: (
            pair[0].name in tried,
            pair[0].state.config.priority,
            -pair[1],
            -pair[0].state.config.weight,
            rng.random(),
        ),
    )
    return slot


class RoundRobin:
    """The ready deployments of a group's best tier in turn, ignoring headroom (the baseline
    bench/routing_bench.py compares against)."""

    def __init__(self) -> None:
        self._turn: dict[str, int] = {}  # where each group's next turn starts

    def next(self, group: str, slots: list[Slot], ready: list[Slot], tried: set[str]) -> Slot:
        """The next ready slot in turn, in the best tier; tried ones only when all were."""
        fresh = [s for s in ready if s.name not in tried] or ready
        tier = min(s.state.config.priority for s in fresh)
        start = self._turn.get(group, 0)
        for k in range(len(slots)):
            slot = slots[(start + k) % len(slots)]
            if slot in fresh and slot.state.config.priority == tier:
                self._turn[group] = (start + k + 1) % len(slots)
                return slot
        raise AssertionError("unreachable: fresh holds a slot of its best tier")
