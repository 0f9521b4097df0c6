"""Run a prepared use-case call: cache, metered upstream call, output check, cache fill.

The same function serves the HTTP trigger and the overflow worker (cosmicpython's two entry
points); the worker passes ``on_answered`` so the model's answer is saved on the job before it is
metered, and a worker that dies after the model answered never calls the model twice.

When a client disconnects while its call is upstream, the local host lets the handler finish (the
call is settled exactly); a host that cancels the handler leaves the call's intent open, and the
sweeper settles it as an estimate once its deadline passes: billed, at its upper bound.
(Shielding every call from cancellation to meter it exactly would cost a task per call, ~30 µs
of CPU, for a rare case.) A call refused or failed upstream is released: nothing is billed and
no intent is left behind. One cut off by the deadline while the model may have been answering
is settled at its upper bound instead (metering/sweeper.py): Azure bills what it ran, whoever
waited for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.domain.chat import ZERO_USAGE, ChatRequest, ChatResult, TokenUsage
from shared.domain.errors import BadGateway
from shared.domain.intent import CallPlan
from shared.domain.records import CachedCompletion
from shared.domain.upstream import UpstreamError, UpstreamUnavailable
from shared.domain.usage import Outcome, UsageRecord
from shared.handlers.deps import CallDeps
from shared.handlers.output import InvalidOutput, TruncatedOutput, parse_output
from shared.handlers.prepare import PreparedCall
from shared.handlers.results import CacheSource, UseCaseAnswer, UseCaseRef
from shared.handlers.semantic_cache import (
    Probe,
    SemanticDeps,
    SemanticHit,
    embed_prompt,
    find,
    remember,
)
from shared.metering.meter import Reservation
from shared.ports import StoreUnavailable

OnAnswered = Callable[[dict[str, Any], UsageRecord], Awaitable[None]]
Called = tuple[ChatResult, Any, dict[str, str], UsageRecord]

log = logging.getLogger("gateway.usecase")

# Where a caching use case's answer came from: "exact", "semantic", "miss" or "bypass"
# (Cache-Control: no-cache / no-store); on a semantic hit, how similar the cached prompt was.
CACHE_HEADER = "x-gateway-cache"
SIMILARITY_HEADER = "x-gateway-cache-similarity"


def plan_of(call: PreparedCall, request: ChatRequest) -> CallPlan:
    return CallPlan(
        caller=call.caller,
        request_id=request.request_id,
        use_case=call.usecase.id,
        use_case_version=call.usecase.version,
        model=call.model,
        group=request.group,
        prompt_tokens=request.prompt_tokens,
        max_tokens=request.max_tokens,
        job_id=call.job_id,
    )


def usage_record(
    call: PreparedCall,
    request_id: str,
    usage: TokenUsage,
    *,
    result: ChatResult | None,
    latency_ms: float,
    outcome: Outcome,
    now: datetime,
) -> UsageRecord:
    return UsageRecord(
        request_id=request_id,
        business_unit=call.caller.business_unit,
        user_id=call.caller.user_id,
        use_case=call.usecase.id,
        use_case_version=call.usecase.version,
        model=result.model if result else call.model,
        deployment=result.deployment if result else "",
        region=result.region if result else "",
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        estimated=usage.estimated,
        cache_hit=outcome == "cache_hit",
        latency_ms=round(latency_ms, 3),
        outcome=outcome,
        created_at=now,
        job_id=call.job_id,
    )


def usecase_answer(
    call: PreparedCall,
    output: Any,
    usage: TokenUsage,
    cached: bool,
    finish_reason: str,
    records: Sequence[UsageRecord],
    headers: dict[str, str] | None = None,
    cache: CacheSource | None = None,
) -> UseCaseAnswer:
    """The answer, with what its calls cost, exactly, in the price table's currency: the sum of
    its priced usage records (two when the output was retried; 0 for a gateway cache hit)."""
    return UseCaseAnswer(
        output_field=call.usecase.output.field,
        output=output,
        finish_reason=finish_reason,
        usage=usage,
        cached=cached,
        request_id=call.request.request_id,
        model=call.model,
        use_case=UseCaseRef(id=call.usecase.id, version=call.usecase.version),
        cost=sum((r.cost for r in records), Decimal(0)),
        currency=records[0].currency,
        headers=headers or {},
        cache=cache,
    )


async def answer_from_cache(
    deps: CallDeps, call: PreparedCall, started: float
) -> UseCaseAnswer | None:
    if call.cache_key is None:
        return None
    hit = await deps.cache.get(call.cache_key)
    if hit is None:
        return None
    try:
        output = parse_output(call.usecase, hit.content, hit.finish_reason)
    except InvalidOutput:
        return None
    zero = ZERO_USAGE
    record = usage_record(
        call,
        call.request.request_id,
        zero,
        result=None,
        latency_ms=(time.perf_counter() - started) * 1000,
        outcome="cache_hit",
        now=deps.now(),
    )
    saved = await deps.meter.settle_cache_hit(record, avoided=hit.usage)
    exact = {CACHE_HEADER: "exact"}
    return usecase_answer(call, output, zero, True, hit.finish_reason, [saved], headers=exact)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the caches said: an answer, or a miss (with the prompt's embedding, to keep the
    model's answer by it) and the header saying so."""

    answer: UseCaseAnswer | None = None
    probe: Probe | None = None
    headers: dict[str, str] = field(default_factory=dict)


def semantic_deps(deps: CallDeps, call: PreparedCall) -> SemanticDeps | None:
    """Set for a semantic use case when the gateway has an embeddings model and a vector store
    (the composition root always wires both; a test gateway built from fakes may not)."""
    if call.usecase.cache.mode != "semantic":
        return None
    if deps.semantic is None or deps.embeddings is None:
        return None
    return SemanticDeps(deps.semantic, deps.embeddings, deps.meter, deps.groups, deps.now)


async def look_up(deps: CallDeps, call: PreparedCall, started: float) -> Lookup:
    if call.cache_key is None:
        return Lookup()
    if not call.cache_lookup:
        return Lookup(headers={CACHE_HEADER: "bypass"})
    exact = await answer_from_cache(deps, call, started)
    if exact is not None:
        return Lookup(exact)
    semantic = semantic_deps(deps, call)
    if semantic is None:
        return Lookup(headers={CACHE_HEADER: "miss"})
    try:
        probe = await embed_prompt(semantic, call)
    except UpstreamError as exc:
        # The semantic lookup only saves a call: without embeddings (throttled, down, no
        # capacity), answer from the model, as on a miss. Its reservation is already released.
        log.warning("semantic lookup skipped use_case=%s: %s", call.usecase.id, type(exc).__name__)
        return Lookup(headers={CACHE_HEADER: "miss"})
    hit = await find(semantic, call, probe)
    if hit is None:
        return Lookup(probe=probe, headers={CACHE_HEADER: "miss"})
    answer = await answer_from_semantic(deps, call, hit, started)
    return Lookup(answer) if answer is not None else Lookup(probe=probe)


async def answer_from_semantic(
    deps: CallDeps, call: PreparedCall, hit: SemanticHit, started: float
) -> UseCaseAnswer | None:
    """Metered as a cache hit whose savings are net of the lookup's embeddings call; the
    answer's cost is that call's."""
    try:
        output = parse_output(call.usecase, hit.entry.content, hit.entry.finish_reason)
    except InvalidOutput:
        return None
    record = usage_record(
        call,
        call.request.request_id,
        ZERO_USAGE,
        result=None,
        latency_ms=(time.perf_counter() - started) * 1000,
        outcome="cache_hit",
        now=deps.now(),
    )
    saved = await deps.meter.settle_cache_hit(
        record, avoided=hit.entry.usage, net_of=hit.probe.record.cost
    )
    similarity = round(hit.similarity, 4)
    return usecase_answer(
        call,
        output,
        ZERO_USAGE,
        True,
        hit.entry.finish_reason,
        [saved, hit.probe.record],
        headers={CACHE_HEADER: "semantic", SIMILARITY_HEADER: f"{similarity:.4f}"},
        cache=CacheSource("semantic", similarity),
    )


async def metered_call(
    deps: CallDeps, call: PreparedCall, request_id: str, on_answered: OnAnswered | None
) -> Called:
    """One upstream call bracketed by its intent and budget reservation; returns the result,
    its output, the reservation's response headers (a soft-budget warning) and the priced usage
    record."""
    request = call.request
    if request.request_id != request_id:  # a retry: its own request id
        request = replace(request, request_id=request_id)
    reservation = await deps.meter.admit(plan_of(call, request))
    return await _call_and_settle(deps, call, request, reservation, on_answered)


async def _call_and_settle(
    deps: CallDeps,
    call: PreparedCall,
    request: ChatRequest,
    reservation: Reservation,
    on_answered: OnAnswered | None,
) -> Called:
    started = time.perf_counter()
    try:
        result = await deps.chat.complete(request)
    except UpstreamError as exc:
        if isinstance(exc, UpstreamUnavailable) and exc.may_have_run:
            # Cut off while the model may have been answering: billed at its upper bound.
            await deps.meter.settle_interrupted(reservation.intent)
        else:
            await deps.meter.release(reservation)  # refused or failed upstream: nothing billed
        raise
    latency = (time.perf_counter() - started) * 1000
    try:
        output: Any = parse_output(call.usecase, result.content, result.finish_reason)
        outcome: Outcome = "ok"
    except InvalidOutput as exc:
        output, outcome = exc, "error"
    record = usage_record(
        call,
        request.request_id,
        result.usage,
        result=result,
        latency_ms=latency,
        outcome=outcome,
        now=deps.now(),
    )
    if on_answered is not None and outcome == "ok":
        answer = usecase_answer(
            call, output, result.usage, False, result.finish_reason, [deps.meter.price(record)]
        )
        await on_answered(answer.body(), record)
    try:
        priced = await deps.meter.settle(reservation, record)
    except StoreUnavailable as exc:
        if on_answered is not None:
            raise  # a job: its redelivery settles the answer saved on it
        # The caller has the answer Azure billed; the sweeper settles the intent as an estimate.
        log.warning("usage of %s not settled yet: %s", reservation.request_id, exc)
        priced = deps.meter.price(record)
    return result, output, reservation.headers, priced


async def cache_answer(
    deps: CallDeps, call: PreparedCall, result: ChatResult, probe: Probe | None = None
) -> None:
    """Keep the model's answer for the next identical call (when the use case caches) and, for
    a semantic use case, for the next call that means the same."""
    if call.cache_key is None or not call.cache_fill:
        return
    semantic = semantic_deps(deps, call)
    if semantic is not None and probe is not None:
        await remember(semantic, call, probe, result)
    entry = CachedCompletion(
        key=call.cache_key,
        business_unit=call.caller.business_unit,
        use_case=call.usecase.id,
        model=call.model,
        content=result.content,
        usage=result.usage,
        created_at=datetime.now(UTC),
        finish_reason=result.finish_reason,
    )
    await deps.cache.put(entry, ttl_seconds=call.usecase.cache.ttl_seconds)


async def execute(
    deps: CallDeps, call: PreparedCall, *, on_answered: OnAnswered | None = None
) -> UseCaseAnswer:
    started = time.perf_counter()
    lookup = await look_up(deps, call, started)
    if lookup.answer is not None:
        return lookup.answer
    request_id = call.request.request_id
    result, output, headers, priced = await metered_call(deps, call, request_id, on_answered)
    records = [priced]
    if isinstance(output, TruncatedOutput):
        # Not retried: the same max_tokens would cut the same answer again.
        raise BadGateway(
            f"the model's answer was cut at max_tokens ({call.request.max_tokens}) before the "
            f"{call.usecase.id!r} output was complete; nothing was cached",
            code="invalid_model_output",
            details={"reason": str(output), "finish_reason": result.finish_reason},
        )
    if isinstance(output, InvalidOutput):
        # One retry: a fresh upstream call with its own request id (and its own usage record).
        retry = f"{request_id}-r1"
        result, output, headers, priced = await metered_call(deps, call, retry, on_answered)
        records.append(priced)
        if isinstance(output, InvalidOutput):
            raise BadGateway(
                f"the model's answer did not match the {call.usecase.id!r} output contract "
                "twice; nothing was cached",
                code="invalid_model_output",
                details={"reason": str(output)},
            )
    await cache_answer(deps, call, result, lookup.probe)
    if lookup.probe is not None:
        records.append(lookup.probe.record)  # the semantic lookup's embeddings call
    return usecase_answer(
        call,
        output,
        result.usage,
        False,
        result.finish_reason,
        records,
        headers=headers | lookup.headers,
    )
