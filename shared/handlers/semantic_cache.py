"""The semantic cache: after an exact miss, serve a cached answer to a prompt that means the same.

For a use case with ``cache.mode: "semantic"``: embed the caller's free-text input (one metered
embeddings call through the router, ``{request_id}.embed`` on the ledger), ask the partition's
store for the nearest cached prompts, and serve the first whose cosine similarity reaches the use
case's threshold AND that the near-miss guard finds in agreement (same numbers, identifiers,
dates, negations, names, ...). Otherwise the model is called and its answer is kept with the
vector. The partition holds one business unit's use case at one version, with the same prompt
templates, model and parameters, so nothing is ever served across any of them.
Design and figures: docs/semantic_cache.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.catalog import UseCase
from shared.deployment_groups import DeploymentGroups
from shared.domain.chat import ChatResult
from shared.domain.embeddings import EmbeddingRequest, SemanticEntry, SemanticMatch
from shared.domain.intent import CallPlan
from shared.domain.upstream import UpstreamError
from shared.domain.usage import UsageRecord
from shared.handlers.prepare import PreparedCall
from shared.metering.meter import Meter, Reservation
from shared.ports import EmbeddingModel, SemanticCache, StoreUnavailable
from shared.semantic.near_miss import near_miss

log = logging.getLogger("gateway.semantic_cache")

EMBED_SUFFIX = ".embed"


@dataclass(frozen=True, slots=True)
class SemanticDeps:
    store: SemanticCache
    embeddings: EmbeddingModel
    meter: Meter
    models: DeploymentGroups
    now: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Probe:
    """The new prompt's embedding and where it was looked up; kept to fill the cache."""

    partition: str
    text: str
    vector: tuple[float, ...]
    record: UsageRecord  # the embeddings call, priced and on the ledger


@dataclass(frozen=True, slots=True)
class SemanticHit:
    entry: SemanticEntry
    similarity: float
    probe: Probe


def semantic_text(usecase: UseCase, payload: dict[str, Any]) -> str:
    """The input's free text (string fields without a fixed set of values), named per field:
    what is embedded and what the near-miss guard compares."""
    parts = [
        f"{name}: {payload[name]}" if len(usecase.input) > 1 else str(payload[name])
        for name, spec in usecase.input.items()
        if spec.type == "string" and not spec.enum and payload.get(name) is not None
    ]
    return "\n".join(parts)


def semantic_partition(call: PreparedCall) -> str:
    """Business unit, use case and version, the prompt templates (files and text), the model,
    the request's parameters and every input that is not free text: all must match exactly."""
    usecase = call.usecase
    exact_inputs = {
        name: call.payload.get(name)
        for name, spec in usecase.input.items()
        if spec.type != "string" or spec.enum
    }
    material = json.dumps(
        [
            call.caller.business_unit,
            usecase.id,
            usecase.version,
            usecase.prompt.model_dump(),
            hashlib.sha256((usecase.system_template + usecase.user_template).encode()).hexdigest(),
            call.model,
            call.request.max_tokens,
            call.request.temperature,
            call.request.response_format,
            exact_inputs,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()


async def embed_prompt(deps: SemanticDeps, call: PreparedCall) -> Probe:
    """One embeddings call, with its intent and budget reservation, metered like any call."""
    group = deps.models.group(call.usecase.cache.embedding_group)
    text = semantic_text(call.usecase, call.payload)
    request_id = call.request.request_id + EMBED_SUFFIX
    request = EmbeddingRequest(request_id, group.name, (text,), group.tokenizer.count(text))
    plan = CallPlan(
        caller=call.caller,
        request_id=request_id,
        use_case=call.usecase.id,
        use_case_version=call.usecase.version,
        model=group.model,
        group=group.name,
        prompt_tokens=request.prompt_tokens,
        max_tokens=0,  # an embeddings call is charged its input only
        job_id=call.job_id,
    )
    reservation = await deps.meter.admit(plan)
    # Not shielded, as the model call is not: a call cut off by a disconnect leaves its intent,
    # which the sweeper settles as an estimate.
    return await _embed_and_settle(deps, call, request, reservation)


async def _embed_and_settle(
    deps: SemanticDeps, call: PreparedCall, request: EmbeddingRequest, reservation: Reservation
) -> Probe:
    started = time.perf_counter()
    try:
        result = await deps.embeddings.embed(request)
    except UpstreamError:
        await deps.meter.release(reservation)  # refused or failed upstream: nothing billed
        raise
    record = UsageRecord(
        request_id=request.request_id,
        business_unit=call.caller.business_unit,
        user_id=call.caller.user_id,
        use_case=call.usecase.id,
        use_case_version=call.usecase.version,
        model=result.model,
        deployment=result.deployment,
        region=result.region,
        prompt_tokens=result.usage.prompt_tokens,
        cached_tokens=0,
        completion_tokens=0,
        reasoning_tokens=0,
        estimated=result.usage.estimated,
        cache_hit=False,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        outcome="ok",
        created_at=deps.now(),
        job_id=call.job_id,
    )
    try:
        priced = await deps.meter.settle(reservation, record)
    except StoreUnavailable as exc:
        # Azure billed it; the sweeper settles the open intent as an estimate.
        log.warning("usage of %s not settled yet: %s", reservation.request_id, exc)
        priced = deps.meter.price(record)
    return Probe(semantic_partition(call), request.texts[0], result.vectors[0], priced)


async def find(deps: SemanticDeps, call: PreparedCall, probe: Probe) -> SemanticHit | None:
    """The most similar cached prompt above the threshold that the near-miss guard accepts."""
    policy = call.usecase.cache
    matches = await deps.store.nearest(probe.partition, probe.vector, policy.candidates)
    for match in matches:
        if match.similarity < policy.similarity:
            break  # most similar first: nothing further reaches the threshold
        if _agrees(call, probe, match):
            return SemanticHit(match.entry, match.similarity, probe)
    return None


def _agrees(call: PreparedCall, probe: Probe, match: SemanticMatch) -> bool:
    reason = near_miss(probe.text, match.entry.text)
    if reason is not None:
        # The kind only: prompts are never logged here.
        log.info(
            "semantic near-miss refused use_case=%s similarity=%.4f reason=%s",
            call.usecase.id,
            match.similarity,
            reason,
        )
    return reason is None


async def remember(
    deps: SemanticDeps, call: PreparedCall, probe: Probe, result: ChatResult
) -> None:
    entry = SemanticEntry(
        id=call.request.request_id,
        partition=probe.partition,
        text=probe.text,
        vector=probe.vector,
        content=result.content,
        usage=result.usage,
        business_unit=call.caller.business_unit,
        use_case=call.usecase.id,
        model=call.model,
        created_at=deps.now(),
        finish_reason=result.finish_reason,
    )
    await deps.store.put(entry, ttl_seconds=call.usecase.cache.ttl_seconds)
