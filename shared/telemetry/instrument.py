"""Telemetry through the ports' own seams; plain ports, untouched, while telemetry is off.

Decorators rather than edits: the chat model gets a tracing implementation of the same port, the
router's deployments a per-attempt one, the job store one that times finished jobs; the meter is
given an observer it calls at admit and after each record is written; a sampler reads the queue
depth for its gauge. None of them changes a result, and a telemetry failure is logged and
swallowed: metering and answering never depend on telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import trace

from shared.catalog import Catalog
from shared.deployment_groups import DeploymentGroups
from shared.domain.intent import CallPlan
from shared.domain.records import Job
from shared.domain.usage import UsageRecord
from shared.metering.meter import UsageObserver
from shared.ports import ChatModel, JobStore, OverflowQueue
from shared.settings import Settings
from shared.telemetry.attempts import TracedDeployment
from shared.telemetry.logs import RequestContext, request_context
from shared.telemetry.metrics import Instruments
from shared.telemetry.setup import Telemetry, configure_telemetry
from shared.telemetry.tracing import CallLabels, TracedChatModel, call_labels

if TYPE_CHECKING:
    from shared.routing import Router

log = logging.getLogger("gateway.telemetry")

QUEUE_SAMPLE_SECONDS = 15.0  # a quarter of the metric export interval: fresh enough
QUEUE_SAMPLE_TIMEOUT = 5.0

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class InstrumentedPorts:
    chat: ChatModel
    jobs: JobStore
    observer: UsageObserver | None = None
    closers: tuple[Closer, ...] = ()


def instrument(
    settings: Settings,
    *,
    chat: ChatModel,
    jobs: JobStore,
    queue: OverflowQueue,
    router: Router | None,
    catalog: Catalog,
    groups: DeploymentGroups,
) -> InstrumentedPorts:
    """The ports to wire, decorated when telemetry is configured (the plain ones otherwise)."""
    plain = InstrumentedPorts(chat, jobs)
    telemetry = configure_telemetry(settings)
    if telemetry is None:
        return plain
    try:
        telemetry.instruments.watch(router)
        if router is not None:
            router.wrap_deployments(lambda d: TracedDeployment(d, telemetry))
        return InstrumentedPorts(
            chat=TracedChatModel(chat, telemetry, groups),
            jobs=TimedJobStore(jobs, telemetry.instruments),
            observer=UsageTelemetry(telemetry, catalog),
            closers=_start_queue_sampler(queue, telemetry.instruments),
        )
    except Exception:
        log.warning("could not instrument the gateway; telemetry is partial", exc_info=True)
        return plain


class UsageTelemetry:
    """The meter's observer: labels for the chat span and the worker's logs when a call is
    admitted; usage metrics and the request span's attributes once its record is written."""

    def __init__(self, telemetry: Telemetry, catalog: Catalog) -> None:
        self._instruments = telemetry.instruments
        self._catalog = catalog

    def admitted(self, plan: CallPlan) -> None:
        # The chat span reads these labels.
        call_labels.set(CallLabels(plan.caller.business_unit, plan.use_case))
        if request_context.get() is None:
            # The queue worker has no HTTP frame: its logs get the job's request id from here.
            request_context.set(RequestContext(plan.request_id))

    def recorded(self, record: UsageRecord) -> None:
        try:
            usecase = self._catalog.get(record.use_case)
            cacheable = usecase is not None and usecase.cache.mode != "off"
            self._instruments.record_usage(record, cacheable=cacheable)
            # The request span (current here; the chat span has ended) learns who it served.
            trace.get_current_span().set_attributes(
                {
                    "gateway.business_unit": record.business_unit,
                    "gateway.use_case": record.use_case,
                    "gateway.cache_hit": record.cache_hit,
                    "gateway.outcome": record.outcome,
                }
            )
        except Exception:
            log.warning("usage metrics failed", exc_info=True)


class TimedJobStore:
    """The JobStore port, recording each job's age when it reaches a final state."""

    def __init__(self, inner: JobStore, instruments: Instruments) -> None:
        self._inner = inner
        self._instruments = instruments

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


async def sample_queue(queue: OverflowQueue, instruments: Instruments) -> int | None:
    """Read the queue depth once into the gauge's sample (None when unknown or unreachable)."""
    try:
        depth = await asyncio.wait_for(queue.depth(), QUEUE_SAMPLE_TIMEOUT)
    except Exception:
        depth = None
    instruments.queue.depth = depth
    return depth


def _start_queue_sampler(queue: OverflowQueue, instruments: Instruments) -> tuple[Closer, ...]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return ()  # assembled outside an event loop (a sync test): no sampler

    async def run() -> None:
        while True:
            await sample_queue(queue, instruments)
            await asyncio.sleep(QUEUE_SAMPLE_SECONDS)

    task = loop.create_task(run(), name="telemetry-queue-sampler")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return (stop,)
