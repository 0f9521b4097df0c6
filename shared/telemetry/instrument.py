"""Wrap a freshly assembled gateway's ports with telemetry; a no-op while telemetry is off.

Wrappers rather than edits: the chat port gets a tracing decorator, the meter's entry points
emit metrics after the real work, the job store times finished jobs, and a sampler reads the
queue depth for its gauge. None of them changes a result, and a telemetry failure is logged and
swallowed: metering and answering never depend on telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from shared.domain.intent import CallPlan
from shared.domain.records import Job
from shared.domain.usage import UsageRecord
from shared.ports import JobStore
from shared.telemetry.attempts import TracedDeployment
from shared.telemetry.logs import RequestContext, request_context
from shared.telemetry.metrics import Instruments
from shared.telemetry.setup import Telemetry, configure_telemetry
from shared.telemetry.tracing import CallLabels, TracedChatModel, call_labels

if TYPE_CHECKING:
    from shared.composition.root import Gateway

log = logging.getLogger("gateway.telemetry")

QUEUE_SAMPLE_SECONDS = 15.0  # a quarter of the metric export interval: fresh enough
QUEUE_SAMPLE_TIMEOUT = 5.0


def instrument(gateway: Gateway) -> Gateway:
    telemetry = configure_telemetry(gateway.settings)
    if telemetry is None:
        return gateway
    try:
        telemetry.instruments.watch(gateway)
        gateway.chat = TracedChatModel(gateway.chat, telemetry, gateway.models)
        if gateway.router is not None:
            gateway.router.wrap_deployments(lambda d: TracedDeployment(d, telemetry))
        _wrap_meter(gateway, telemetry)
        jobs = TimedJobStore(gateway.stores.jobs, telemetry.instruments)
        gateway.stores = dataclasses.replace(gateway.stores, jobs=jobs)
        _start_queue_sampler(gateway, telemetry.instruments)
    except Exception:
        log.warning("could not instrument the gateway; telemetry is partial", exc_info=True)
    return gateway


def _wrap_meter(gateway: Gateway, telemetry: Telemetry) -> None:
    meter = gateway.meter
    admit = meter.admit

    async def admit_labelled(plan: CallPlan) -> Any:
        # The chat span reads these labels.
        call_labels.set(CallLabels(plan.caller.business_unit, plan.use_case))
        if request_context.get() is None:
            # The queue worker has no HTTP frame: its logs get the job's request id from here.
            request_context.set(RequestContext(plan.request_id))
        return await admit(plan)

    setattr(meter, "admit", admit_labelled)  # noqa: B010 - an instance attribute shadows the method
    for name in ("settle", "settle_cache_hit"):
        setattr(meter, name, _observing(getattr(meter, name), gateway, telemetry))


def _observing(
    settle: Callable[..., Awaitable[Any]], gateway: Gateway, telemetry: Telemetry
) -> Callable[..., Awaitable[Any]]:
    async def observed(*args: Any, **kwargs: Any) -> Any:
        result = await settle(*args, **kwargs)
        record = result if isinstance(result, UsageRecord) else _find_record(args, kwargs)
        if record is not None:
            try:
                _observe_usage(gateway, telemetry.instruments, record)
            except Exception:
                log.warning("usage metrics failed", exc_info=True)
        return result

    return observed


def _find_record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> UsageRecord | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, UsageRecord):
            return value
    return None


def _observe_usage(gateway: Gateway, instruments: Instruments, record: UsageRecord) -> None:
    usecase = gateway.catalog.get(record.use_case)
    cacheable = usecase is not None and usecase.cache.mode != "off"
    instruments.record_usage(record, cacheable=cacheable)
    # The request span (current here; the chat span has ended) learns who it served.
    trace.get_current_span().set_attributes(
        {
            "gateway.business_unit": record.business_unit,
            "gateway.use_case": record.use_case,
            "gateway.cache_hit": record.cache_hit,
            "gateway.outcome": record.outcome,
        }
    )


class TimedJobStore:
    """The JobStore port, recording each job's age when it reaches a final state."""

    def __init__(self, inner: JobStore, instruments: Instruments) -> None:
        self._inner = inner
        self._instruments = instruments

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create(self, job: Job) -> Job:
        return await self._inner.create(job)

    async def get(self, business_unit: str, job_id: str) -> Job | None:
        return await self._inner.get(business_unit, job_id)

    async def replace(self, job: Job) -> Job:
        saved = await self._inner.replace(job)
        if job.status in ("succeeded", "failed"):
            age = max(0.0, (job.updated_at - job.created_at).total_seconds())
            attrs = {
                "gateway.business_unit": job.business_unit,
                "gateway.use_case": job.use_case,
                "gateway.job_status": job.status,
            }
            self._instruments.job_age.record(age, attrs)
        return saved


async def sample_queue(gateway: Gateway, instruments: Instruments) -> int | None:
    """Read the queue depth once into the gauge's sample (None when unknown or unreachable)."""
    try:
        depth = await asyncio.wait_for(gateway.queue.depth(), QUEUE_SAMPLE_TIMEOUT)
    except Exception:
        depth = None
    instruments.queue.depth = depth
    return depth


def _start_queue_sampler(gateway: Gateway, instruments: Instruments) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # assembled outside an event loop (a sync test): no sampler

    async def run() -> None:
        while True:
            await sample_queue(gateway, instruments)
            await asyncio.sleep(QUEUE_SAMPLE_SECONDS)

    task = loop.create_task(run(), name="telemetry-queue-sampler")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    gateway.closers.append(stop)
