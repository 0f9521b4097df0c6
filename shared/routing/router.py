"""The ChatModel and EmbeddingModel ports over many Azure OpenAI deployments: failover,
headroom, breakers, shedding. Embeddings deployments are a group of their own (their model's),
routed exactly like chat calls; an embeddings call's quota cost is its input tokens.

Per request: pick the highest-priority tier with a ready deployment (not cooling after a 429,
breaker not open), inside it the one with the most headroom (see headroom.py) times its weight,
then higher weight, then at random. Deployments that already failed this request go last.
A deployment whose estimated headroom cannot take the call (prompt + max_tokens) is skipped, and
when every ready one is short the request fails at once with NoCapacity, retry-after = when the
quota frees: under overload, sleeping would only hold sync callers until the deadline
(docs/routing.md has the numbers). ``strategy="round_robin"`` instead takes the ready deployments
of the tier in turn, ignoring headroom: the baseline bench/routing_bench.py compares against.
A 429 cools that deployment for exactly its Retry-After and the request moves on at once; 5xx,
timeouts and connection errors feed its breaker; a rejected request is raised untouched.
Only when nothing in the group is ready does the request sleep, and only if something becomes
ready before its deadline; otherwise it fails fast with NoCapacity so the handler can queue it.
This is the only retry loop: the SDK clients are built with ``max_retries=0``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Literal, Protocol, TypeVar

from shared.domain.chat import (
    ChatRequest,
    ChatResult,
    StreamEnd,
    StreamEvent,
    close_stream,
)
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.domain.upstream import NoCapacity, UpstreamError, UpstreamThrottled, UpstreamUnavailable
from shared.routing.breaker import CircuitBreaker
from shared.routing.clock import Clock, MonotonicClock
from shared.routing.headroom import WINDOW_SECONDS, Attempt, DeploymentHealth
from shared.routing.selection import RoundRobin, RoutableDeployment, Slot, most_headroom

# Full-jitter backoff, as in https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
# added on top of the wait for the earliest deployment, so queued requests do not all hit it at
# the instant its cooldown ends.
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 4.0
# Retry-After hint when shedding: in-flight calls finish within about a second at typical latency.
SHED_RETRY_AFTER_SECONDS = 1.0

T = TypeVar("T")
Strategy = Literal["headroom", "round_robin"]


class RoutedRequest(Protocol):
    """What the router reads of a call: chat completions and embeddings alike."""

    @property
    def request_id(self) -> str: ...

    @property
    def group(self) -> str: ...

    @property
    def quota_cost(self) -> int: ...


R = TypeVar("R", ChatResult, EmbeddingResult)


@dataclasses.dataclass(slots=True)
class _Tries:
    """One request's failover state: its deadline, the attempts made, what failed and why."""

    request: RoutedRequest
    deadline: float
    count: int = 0
    tried: set[str] = dataclasses.field(default_factory=set)
    last_error: UpstreamError | None = None

    def failed(self, name: str, error: UpstreamError) -> None:
        self.tried.add(name)
        self.last_error = error


class Router:
    def __init__(
        self,
        deployments: Sequence[RoutableDeployment],
        *,
        clock: Clock | None = None,
        max_attempts: int = 6,
        default_cooldown: float = 10.0,
        deadline_seconds: float = 30.0,
        max_inflight: int = 256,
        breaker_failures: int = 5,
        breaker_open_seconds: float = 30.0,
        rng: random.Random | None = None,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        backoff_cap: float = BACKOFF_CAP_SECONDS,
        strategy: Strategy = "headroom",
        quota_window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        names = [d.name for d in deployments]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"router needs deployments with unique names, got {names}")
        if max_attempts < 1 or max_inflight < 1 or deadline_seconds <= 0 or default_cooldown < 0:
            raise ValueError("max_attempts, max_inflight and deadline_seconds must be positive")
        if strategy not in ("headroom", "round_robin"):
            raise ValueError(f"strategy must be 'headroom' or 'round_robin', got {strategy!r}")
        self._clock: Clock = clock or MonotonicClock()
        self._rng = rng or random.Random()
        self._max_attempts = max_attempts
        self._default_cooldown = default_cooldown
        self._deadline_seconds = deadline_seconds
        self._max_inflight = max_inflight
        self._backoff = (backoff_base, backoff_cap)
        self._strategy = strategy
        self._slots = [
            Slot(d, CircuitBreaker(breaker_failures, breaker_open_seconds), quota_window_seconds)
            for d in deployments
        ]
        self._groups: dict[str, list[Slot]] = {}
        for slot in self._slots:
            self._groups.setdefault(slot.state.config.group_name, []).append(slot)
        self._inflight = 0
        self._turns = RoundRobin()

    # --- the ChatModel port ---------------------------------------------------------------
    async def complete(self, request: ChatRequest) -> ChatResult:
        return await self._call(request, lambda slot: slot.deployment.complete(request))

    # --- the EmbeddingModel port: the same failover, headroom and breakers, its own group ---
    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        return await self._call(request, lambda slot: slot.deployment.embed(request))

    async def _call(self, request: RoutedRequest, send: Callable[[Slot], Awaitable[R]]) -> R:
        tries = self._tries(request)
        while (slot := await self._next_try(tries)) is not None:
            try:
                async with self._attempt(slot, request) as attempt:
                    result = await self._within(tries.deadline, slot, send(slot))
                    return self._settle(slot, attempt, result, tries.count)
            except (UpstreamThrottled, UpstreamUnavailable) as exc:
                tries.failed(slot.name, exc)
        raise self._exhausted(request.group, tries.last_error)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Fails over only until the first event; after that, errors reach the consumer."""
        tries = self._tries(request)
        while (slot := await self._next_try(tries)) is not None:
            committed = False
            try:
                async with self._attempt(slot, request) as attempt:
                    events = slot.deployment.stream(request)
                    try:
                        first = _first_event(events, slot)
                        event = await self._within(tries.deadline, slot, first)
                        committed = True
                        attempt.outcome = "success"
                        yield self._passed(slot, attempt, event, tries.count)
                        async for event in events:
                            yield self._passed(slot, attempt, event, tries.count)
                    finally:
                        await close_stream(events)
                return
            except (UpstreamThrottled, UpstreamUnavailable) as exc:
                if committed:
                    raise
                tries.failed(slot.name, exc)
        raise self._exhausted(request.group, tries.last_error)

    # --- for the handler, the readiness probe and metrics ---------------------------------
    def admission_wait(self, group: str, quota_cost: int) -> float:
        """Seconds until some deployment of ``group`` could take ``quota_cost``; 0 means now."""
        now = self._clock.now()
        wait = min(
            max(slot.state.available_in(now), slot.state.wait_for(quota_cost, now))
            for slot in self._group(group)
        )
        if self._inflight >= self._max_inflight:
            wait = max(wait, SHED_RETRY_AFTER_SECONDS)
        return wait

    def wrap_deployments(self, wrap: Callable[[RoutableDeployment], RoutableDeployment]) -> None:
        """Decorate every deployment (telemetry does), keeping each one's routing state."""
        for slot in self._slots:
            slot.deployment = wrap(slot.deployment)

    def snapshot(self) -> list[DeploymentHealth]:
        now = self._clock.now()
        return [slot.state.health(now) for slot in self._slots]

    # --- internals ------------------------------------------------------------------------
    def _group(self, group: str) -> list[Slot]:
        slots = self._groups.get(group)
        if not slots:
            raise LookupError(f"no deployment serves group {group!r}")
        return slots

    def _choose(self, group: str, tried: set[str], cost: int, now: float) -> Slot | None:
        ready = [slot for slot in self._group(group) if slot.state.ready(now)]
        if self._strategy == "round_robin":
            return self._turns.next(group, self._group(group), ready, tried) if ready else None
        return most_headroom(ready, tried, cost, now, self._rng)

    def _tries(self, request: RoutedRequest) -> _Tries:
        return _Tries(request, self._clock.now() + self._deadline_seconds)

    async def _next_try(self, tries: _Tries) -> Slot | None:
        """The deployment for the next attempt; None once attempts or time have run out."""
        if tries.count >= self._max_attempts or self._clock.now() >= tries.deadline:
            return None
        slot = await self._next_slot(tries.request, tries.tried, tries.deadline)
        tries.count += 1
        return slot

    async def _next_slot(self, request: RoutedRequest, tried: set[str], deadline: float) -> Slot:
        """A ready deployment; sleeps only when none is, and never past the deadline."""
        group, cost = request.group, request.quota_cost
        base, cap = self._backoff
        retry = 0
        while True:
            now = self._clock.now()
            slot = self._choose(group, tried, cost, now)
            if slot is not None:
                return slot
            if any(other.state.ready(now) for other in self._group(group)):
                # Ready, but by our estimate the quota is spent. Under a sustained overload a wait
                # would only grow a crowd of sleeping requests that time out at the deadline;
                # failing now lets the handler queue the call (202) and keeps sync latency low.
                wait = self.admission_wait(group, cost)
                raise NoCapacity("no deployment has quota left for the call", retry_after=wait)
            wait = min(other.state.available_in(now) for other in self._group(group))
            if now + wait >= deadline:
                raise NoCapacity("no deployment is ready before the deadline", retry_after=wait)
            jitter = self._rng.uniform(0.0, min(cap, base * 2**retry))
            await self._clock.sleep(min(wait + jitter, deadline - now))
            retry += 1

    @asynccontextmanager
    async def _attempt(self, slot: Slot, request: RoutedRequest) -> AsyncIterator[Attempt]:
        """Shed past ``max_inflight`` (a count, not a queue); release in ``finally``."""
        if self._inflight >= self._max_inflight:
            raise NoCapacity("too many calls in flight", retry_after=SHED_RETRY_AFTER_SECONDS)
        self._inflight += 1
        try:
            cooldown = self._default_cooldown
            async with slot.state.attempt(request.quota_cost, self._clock, cooldown) as attempt:
                yield attempt
        finally:
            self._inflight -= 1

    async def _within(self, deadline: float, slot: Slot, awaitable: Awaitable[T]) -> T:
        """Await an upstream call, cut at the request deadline (counted as a timeout)."""
        try:
            async with asyncio.timeout(max(0.0, deadline - self._clock.now())):
                return await awaitable
        except TimeoutError as exc:
            raise UpstreamUnavailable(
                "request deadline passed", deployment=slot.name, kind="timeout"
            ) from exc

    def _settle(self, slot: Slot, attempt: Attempt, result: R, n: int) -> R:
        """A successful answer: learn its remaining quota, stamp the attempt count."""
        slot.state.observe(result.ratelimit, since=attempt.call.start, now=self._clock.now())
        attempt.outcome = "success"
        return dataclasses.replace(result, attempts=n)

    def _passed(self, slot: Slot, attempt: Attempt, event: StreamEvent, n: int) -> StreamEvent:
        if isinstance(event, StreamEnd):
            return StreamEnd(self._settle(slot, attempt, event.result, n))
        return event

    def _exhausted(self, group: str, last_error: UpstreamError | None) -> UpstreamError:
        if isinstance(last_error, UpstreamUnavailable):
            return last_error
        now = self._clock.now()
        wait = min(slot.state.available_in(now) for slot in self._group(group))
        return NoCapacity("attempts exhausted", retry_after=max(wait, SHED_RETRY_AFTER_SECONDS))


async def _first_event(events: AsyncIterator[StreamEvent], slot: Slot) -> StreamEvent:
    try:
        return await anext(events)
    except StopAsyncIteration as exc:
        raise UpstreamUnavailable("stream ended before any event", deployment=slot.name) from exc
