"""The local host: the registered functions over HTTP, the queue and timer triggers, and the
Azure OpenAI simulator, in one process on loopback. A stand-in for ``func start`` where Azure
Functions Core Tools cannot be installed; never deployed (see .funcignore)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache

from pydantic import HttpUrl

from devhost.asgi import build_asgi
from devhost.functions_index import IndexedApp, index
from devhost.http_limits import HttpLimits, guarded_protocol
from devhost.queue_runner import run_queue
from devhost.static_site import static_site
from devhost.timer_runner import run_timer
from shared.composition.root import Gateway, build_gateway, use_gateway
from shared.settings import Settings
from simulator.config import SimulatorConfig
from simulator.serve import serve_asgi, serve_simulator
from simulator.settings import SimulatorSettings

log = logging.getLogger("devhost")
DEFAULT_LIMITS = HttpLimits()


@dataclass(frozen=True, slots=True)
class LocalHost:
    base_url: str
    simulator_url: str | None
    gateway: Gateway


@cache
def indexed_app() -> IndexedApp:
    """Index function_app.py once per process (app.get_functions() raises when called twice)."""
    import function_app

    defaults = Settings()
    return index(
        function_app.app,
        {
            "SERVICEBUS_QUEUE_NAME": defaults.servicebus_queue_name,
            "GATEWAY_SWEEP_SCHEDULE": defaults.gateway_sweep_schedule,
        },
    )


def point_at_simulator(settings: Settings, simulator_url: str) -> Settings:
    """The same settings with every deployment's endpoint at ``simulator_url``, which checks no
    credential (AOAI_AUTH=none; a deployment's configured key is still sent)."""
    deployments = [
        d.model_copy(update={"endpoint": HttpUrl(simulator_url)}) for d in settings.aoai_deployments
    ]
    return settings.model_copy(update={"aoai_deployments": deployments, "aoai_auth": "none"})


@contextlib.asynccontextmanager
async def run_local_host(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    simulator_port: int | None = 0,
    simulator: SimulatorSettings | None = None,
    run_triggers: bool = True,
    serve_site: bool = True,
    limits: HttpLimits = DEFAULT_LIMITS,
) -> AsyncIterator[LocalHost]:
    """Serve the app; simulator_port=None skips the simulator (deployments are real).
    ``simulator``: its knobs (default: read from ``SIMULATOR_*``).
    ``serve_site``: the frontend sample at / and the API docs at /docs/ (devhost/static_site.py).
    ``limits``: what the HTTP server refuses, as the Functions front end would."""
    async with contextlib.AsyncExitStack() as stack:
        simulator_url = None
        if simulator_port is not None:
            simulator_url = await stack.enter_async_context(
                serve_simulator(
                    SimulatorConfig.from_settings(settings, simulator or SimulatorSettings()),
                    host,
                    simulator_port,
                )
            )
            settings = point_at_simulator(settings, simulator_url)
        gateway = await build_gateway(settings)
        stack.push_async_callback(gateway.close)
        use_gateway(gateway)
        stack.callback(use_gateway, None)
        app = indexed_app()
        asgi = build_asgi(app.http, static_site() if serve_site else None)
        http = guarded_protocol(limits)
        base_url = await stack.enter_async_context(serve_asgi(asgi, host, port, http=http))
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        if run_triggers:
            if gateway.receiver is not None:
                tasks += [
                    asyncio.create_task(run_queue(gateway.receiver, q, stop)) for q in app.queues
                ]
            tasks += [asyncio.create_task(run_timer(t, stop)) for t in app.timers]

        async def stop_triggers() -> None:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

        stack.push_async_callback(stop_triggers)
        log.info("local host on %s (simulator: %s)", base_url, simulator_url or "off")
        yield LocalHost(base_url, simulator_url, gateway)
