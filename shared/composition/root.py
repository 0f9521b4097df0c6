"""The composition root: builds every client once per worker process, lazily, on first use.

Nothing here runs at import time. Settings choose the adapters: with ``COSMOS_ENDPOINT`` /
``SERVICEBUS_*`` set, the real services; otherwise the embedded SQLite store and queue. The app
logs which it chose. Tests build a ``Gateway`` directly with fakes, or call ``use_gateway``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.auth.header_caller import CallerResolver, HeaderCallerResolver
from shared.catalog import Catalog
from shared.composition.stores import Stores
from shared.deployment_groups import DeploymentGroups
from shared.domain.timestamps import WallClock, utc_now
from shared.handlers.deps import CallDeps, ChatDeps, JobDeps, ReportDeps, RollupDeps, UseCaseDeps
from shared.metering.meter import Meter
from shared.ports import ChatModel, EmbeddingModel, OverflowQueue, QueueReceiver
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from shared.routing import Router

log = logging.getLogger("gateway.bootstrap")


@dataclass(frozen=True, slots=True)
class Gateway:
    """What the triggers and the local host need: each handler family's dependency record,
    the caller check, and the adapters themselves (for readiness probes and shutdown)."""

    settings: Settings
    catalog: Catalog
    callers: CallerResolver
    usecases: UseCaseDeps
    chat: ChatDeps
    reports: ReportDeps
    stores: Stores
    queue: OverflowQueue
    # The embedded queue's receive side (the local host drains it); None with Service Bus.
    receiver: QueueReceiver | None = None
    # The router behind the chat model (for health and metrics); None when chat is a fake.
    router: Router | None = None
    now: WallClock = utc_now
    # Called in reverse order by close(); the composition root and tests append to it.
    closers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def meter(self) -> Meter:
        return self.usecases.calls.meter

    async def close(self) -> None:
        from shared.handlers.shielded import drain

        await drain()  # metering of calls a client dropped must land before stores close
        for closer in reversed(self.closers):
            result = closer()
            if asyncio.iscoroutine(result):
                await result


async def build_gateway(settings: Settings) -> Gateway:
    from shared.composition.adapters import build_chat, build_queue, build_stores
    from shared.composition.azure_checks import check_azure_start
    from shared.composition.credential import ProcessCredential

    check_azure_start(settings)  # in Azure: no stand-in, no missing setting, or no start
    credential = ProcessCredential(settings)  # one per process, made by its first user
    groups = DeploymentGroups.from_settings(settings)
    stores = await build_stores(settings, credential)
    queue, receiver, close_queue = await build_queue(settings, credential)
    router, close_chat = build_chat(settings, groups, credential)
    gateway = assemble(
        settings,
        stores,
        queue,
        router,
        receiver=receiver,
        groups=groups,
        router=router,
        embeddings=router,
    )
    # Closed in reverse: clients first, the credential they share last.
    gateway.closers.extend([credential.close, stores.close, close_queue, close_chat])
    _freeze_startup_heap()
    log.info(
        "gateway ready: store=%s queue=%s deployments=%s use_cases=%s",
        stores.kind,
        "servicebus" if settings.uses_servicebus else "embedded",
        ",".join(d.name for d in settings.aoai_deployments),
        ",".join(u.id for u in gateway.catalog.all()),
    )
    return gateway


def _freeze_startup_heap() -> None:
    """Keep what start-up built (modules, types, store and queue clients: all live as long as the
    process) out of the collector's full passes, https://docs.python.org/3/library/gc.html#gc.freeze.
    Each full pass walked that whole heap, ~70 ms on the event loop, a few times a minute under
    load (measured: GC cost 65-124 -> 33-37 µs per request, p99 at 10 callers 60-82 -> 34-39 ms).
    No full collection first: it cost ~65 ms of a cold start's first request and found ~50
    unreachable objects (a few KB kept for the process's life). What a deployment's first call
    builds later (the openai SDK) is frozen then (composition/deferred.py)."""
    gc.freeze()


def assemble(
    settings: Settings,
    stores: Stores,
    queue: OverflowQueue,
    chat: ChatModel,
    *,
    receiver: QueueReceiver | None = None,
    groups: DeploymentGroups | None = None,
    router: Router | None = None,
    catalog: Catalog | None = None,
    now: WallClock = utc_now,
    embeddings: EmbeddingModel | None = None,
) -> Gateway:
    """Wire a gateway from ready adapters (the real ones above, or fakes in tests)."""
    catalog = catalog or Catalog.load()
    groups = groups or DeploymentGroups.from_settings(settings)
    for usecase in catalog.all():
        groups.group(usecase.deployment_group)  # fail at start if a use case names no group
        if usecase.cache.mode == "semantic" and embeddings is not None:
            groups.group(usecase.cache.embedding_group)  # and for its embeddings
    from shared.telemetry.instrument import instrument  # plain ports while telemetry is off

    ports = instrument(
        settings,
        chat=chat,
        jobs=stores.jobs,
        queue=queue,
        router=router,
        catalog=catalog,
        groups=groups,
    )
    meter = Meter.from_settings(
        settings,
        stores.ledger,
        stores.counters,
        stores.intents,
        atomic=stores.atomic,
        observer=ports.observer,
    )
    calls = CallDeps(
        groups,
        stores.cache,
        meter,
        ports.chat,
        now,
        # Semantic-cache use cases: the vector store and the embeddings (the router); a test
        # gateway of fakes may have neither, and its semantic use cases use only their exact cache.
        semantic=stores.semantic,
        embeddings=embeddings,
    )
    jobs = JobDeps(
        ports.jobs,
        queue,
        stores.intents,
        ttl_seconds=settings.gateway_job_ttl_seconds,
        # A running job's lease: the router's deadline plus the time to settle its call.
        lease_seconds=settings.gateway_request_deadline_seconds + settings.gateway_settle_seconds,
        max_attempts=settings.servicebus_max_delivery_count,
    )
    rollup = RollupDeps(stores.ledger, stores.rollups, settings.business_unit_ids, now)
    return Gateway(
        settings=settings,
        catalog=catalog,
        callers=build_callers(settings),
        usecases=UseCaseDeps(catalog, calls, jobs),
        chat=ChatDeps(
            catalog,
            calls,
            stores.sessions,
            ttl_seconds=settings.gateway_session_ttl_seconds,
            max_turns=settings.gateway_session_max_turns,
        ),
        reports=ReportDeps(rollup, settings.gateway_finance_role, meter.currency),
        stores=stores,
        queue=queue,
        receiver=receiver,
        router=router,
        now=now,
        closers=list(ports.closers),
    )


def build_callers(settings: Settings) -> CallerResolver:
    """Trusted headers (local) or Entra ID JWT. Raises SettingsError for headers mode in Azure
    unless GATEWAY_ALLOW_TRUSTED_HEADERS_IN_AZURE=true (shared/auth/startup_checks.py)."""
    from shared.auth.startup_checks import check_caller_auth

    check_caller_auth(settings)
    if settings.gateway_caller_auth == "jwt":
        from shared.auth.jwt_setup import build_jwt_resolver  # PyJWT: ~0.1 s, JWT mode only

        return build_jwt_resolver(settings)
    if settings.gateway_dev_signin:
        from shared.auth.dev_signin import DevSignIn, DevSignInCallerResolver

        units = settings.business_unit_ids
        return DevSignInCallerResolver(units, DevSignIn(settings.gateway_data_dir, units))
    return HeaderCallerResolver(settings.business_unit_ids)


_gateway: Gateway | None = None
_lock: asyncio.Lock | None = None


async def get_gateway() -> Gateway:
    """The process-wide gateway, built on first use."""
    global _gateway, _lock
    if _gateway is not None:
        return _gateway
    if _lock is None:
        _lock = asyncio.Lock()
    async with _lock:
        if _gateway is None:
            _gateway = await build_gateway(get_settings())
    return _gateway


def use_gateway(gateway: Gateway | None) -> None:
    """Install (or clear) the process-wide gateway: for the local host and tests."""
    global _gateway, _lock
    _gateway = gateway
    _lock = None
