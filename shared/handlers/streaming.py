"""A streamed reply to a prepared call, metered exactly like a call that is not streamed.

Events: a ``Delta`` per upstream delta, then ``Done`` with the usage and request id, or
``Failed`` when upstream fails after the first delta (shared/http/sse.py frames them as
server-sent events; by then the status line has gone).

Nothing is sent before the first upstream event: ``open_stream`` admits the call and waits for it,
so validation, 413, no capacity and an upstream refusal are still JSON errors with their status.
That costs no time to first token: the first byte could not leave before the first token anyway.

Metering: ``admit`` before the call; ``settle`` with the ``StreamEnd``'s usage (exact, or the
adapter's estimate when upstream sent none; the flag is kept); a refusal before any token is
``release``d, as when not streamed. A stream that stops early (client gone: generator closed or
task cancelled; upstream broken mid-way) is settled with the received text counted by the
group's tokenizer, estimated, outcome "cancelled" or "error", in its own task behind
``asyncio.shield``: Starlette reports a disconnect by cancelling a cancel scope, which cancels
every later await too, so a plain ``await`` in ``finally`` would be cut short.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.domain.caller import Caller
from shared.domain.chat import ChatResult, StreamDelta, StreamEvent, TokenUsage, close_stream
from shared.domain.errors import BadRequest
from shared.domain.upstream import UpstreamUnavailable
from shared.domain.usage import Outcome, UsageRecord
from shared.handlers.deps import CallDeps, UseCaseDeps
from shared.handlers.output import truncated
from shared.handlers.prepare import PreparedCall, find_usecase, prepare, with_cache_control
from shared.handlers.shielded import shielded
from shared.handlers.usecase_call import cache_answer, look_up, plan_of, usage_record
from shared.metering.meter import Reservation
from shared.metering.money import plain

log = logging.getLogger("gateway.streaming")

# Called once the reply is complete and metered; returns extra fields for the "done" event.
OnComplete = Callable[[ChatResult, UsageRecord], Awaitable[dict[str, Any]]]
Ending = Literal["settled", "release", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of the reply's text."""

    text: str


@dataclass(frozen=True, slots=True)
class Done:
    """The reply is complete and metered: usage, request id, model and the caller's extras."""

    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failed:
    """Upstream failed after the first delta; the error map turns it into an error frame."""

    error: Exception


ReplyEvent = Delta | Done | Failed


@dataclass(frozen=True, slots=True)
class ReplyStream:
    events: AsyncGenerator[ReplyEvent, None]
    # The meter's response headers (e.g. a soft-budget warning), known once admitted.
    headers: dict[str, str]


async def open_stream(
    deps: CallDeps, call: PreparedCall, *, on_complete: OnComplete | None = None
) -> ReplyStream:
    """Admit, call, wait for the first event; errors up to here raise (→ a JSON error)."""
    headers: dict[str, str] = {}
    events = _events(deps, call, on_complete, headers)
    # Started here, the generator is also closed by the event loop's finaliser if the server
    # drops the response before iterating it, so its ``finally`` (metering) still runs.
    first = await anext(events)
    return ReplyStream(_prepend(first, events), headers)


async def open_usecase_stream(
    deps: UseCaseDeps,
    caller: Caller,
    usecase_id: str,
    body: Any,
    request_id: str,
    cache_control: str = "",
) -> ReplyStream:
    """POST /api/v1/{usecase} with streaming: text use cases only; the cache still applies."""
    usecase = find_usecase(deps.catalog, caller, usecase_id)
    calls = deps.calls
    if usecase.output.kind != "text":
        raise BadRequest(
            f"use case {usecase.id!r} answers with {usecase.output.kind}; only text use cases "
            "stream",
            code="stream_not_supported",
        )
    call = with_cache_control(
        prepare(usecase, caller, body, request_id, calls.groups), cache_control
    )
    lookup = await look_up(calls, call, time.perf_counter())
    if lookup.answer is not None:
        hit = lookup.answer
        return ReplyStream(_replay(hit.body(), hit.output_field), dict(hit.headers))

    async def fill_cache(result: ChatResult, record: UsageRecord) -> dict[str, Any]:
        await cache_answer(calls, call, result, lookup.probe)
        extra: dict[str, Any] = {
            "cached": False,
            "use_case": {"id": usecase.id, "version": usecase.version},
        }
        if lookup.probe is not None:  # the semantic lookup's embeddings call is part of it
            extra["cost"] = plain(calls.meter.price(record).cost + lookup.probe.record.cost)
        return extra

    stream = await open_stream(calls, call, on_complete=fill_cache)
    stream.headers.update(lookup.headers)  # x-gateway-cache: miss / bypass
    return stream


async def _replay(body: dict[str, Any], text_field: str) -> AsyncGenerator[ReplyEvent, None]:
    """A cache hit (already metered) as one delta and the done event."""
    yield Delta(body[text_field])
    yield Done({k: v for k, v in body.items() if k != text_field})


async def _prepend(
    first: ReplyEvent, rest: AsyncGenerator[ReplyEvent, None]
) -> AsyncGenerator[ReplyEvent, None]:
    try:
        yield first
        async for frame in rest:
            yield frame
    finally:
        await rest.aclose()


@dataclass
class _Progress:
    deps: CallDeps
    call: PreparedCall
    reservation: Reservation
    upstream: AsyncIterator[StreamEvent]
    started: float = field(default_factory=time.perf_counter)
    received: list[str] = field(default_factory=list)
    ending: Ending = "cancelled"  # what ``finally`` settles unless the stream got further

    def record(self, usage: TokenUsage, result: ChatResult | None, outcome: Outcome) -> UsageRecord:
        return usage_record(
            self.call,
            self.call.request.request_id,
            usage,
            result=result,
            latency_ms=(time.perf_counter() - self.started) * 1000,
            outcome=outcome,
            now=self.deps.now(),
        )


async def _events(
    deps: CallDeps, call: PreparedCall, on_complete: OnComplete | None, headers: dict[str, str]
) -> AsyncGenerator[ReplyEvent, None]:
    request = call.request
    reservation = await deps.meter.admit(plan_of(call, request))
    headers.update(reservation.headers)
    progress = _Progress(deps, call, reservation, deps.chat.stream(request))
    sent = False
    try:
        async for event in progress.upstream:
            if isinstance(event, StreamDelta):
                progress.received.append(event.text)
                sent = True
                yield Delta(event.text)
                continue
            result = event.result
            record = progress.record(result.usage, result, "ok")
            priced = await deps.meter.settle(reservation, record)
            progress.ending = "settled"
            extra = await on_complete(result, record) if on_complete else {}
            sent = True
            yield Done(
                {
                    "usage": result.usage.as_dict(),
                    "request_id": request.request_id,
                    "model": call.model,
                    "finish_reason": result.finish_reason,
                    "truncated": truncated(result.finish_reason),
                    "cost": plain(priced.cost),
                    "currency": priced.currency,
                    **extra,
                }
            )
            return
        raise UpstreamUnavailable("the model's stream ended without its final event")
    except Exception as exc:
        if progress.ending != "settled":
            progress.ending = "error" if progress.received or _may_have_run(exc) else "release"
        if not sent:
            raise
        yield Failed(exc)
    finally:
        if progress.ending == "settled":
            await _aclose(progress.upstream)
        else:
            await shielded(_finish(progress))


def _may_have_run(exc: Exception) -> bool:
    """Cut off by the deadline before the first event: the model may have been generating."""
    return isinstance(exc, UpstreamUnavailable) and exc.may_have_run


async def _finish(progress: _Progress) -> None:
    """Close upstream first (Azure stops generating, and billing, when the stream closes)."""
    try:
        await _aclose(progress.upstream)
        if progress.ending == "release":
            await progress.deps.meter.release(progress.reservation)
            return
        tokenizer = progress.deps.groups.group(progress.call.request.group).tokenizer
        usage = TokenUsage(
            prompt_tokens=progress.call.request.prompt_tokens,
            completion_tokens=tokenizer.count("".join(progress.received)),
            estimated=True,
        )
        outcome: Outcome = "error" if progress.ending == "error" else "cancelled"
        record = progress.record(usage, None, outcome)
        await progress.deps.meter.settle(progress.reservation, record)
    except Exception:
        log.exception(
            "metering a stopped stream failed request_id=%s", progress.call.request.request_id
        )


async def _aclose(events: AsyncIterator[Any]) -> None:
    with contextlib.suppress(Exception):
        await close_stream(events)
