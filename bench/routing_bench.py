"""Routing under a steady overload: how much of the aggregate quota the gateway turns into answers.

    python -m bench.routing_bench [--sim-minutes 5] [--time-scale 20] [--overload 2]

Each scenario serves the app, its queue worker and the simulator on loopback (run_local_host)
and sends the summarize use case (as shipped: max_tokens sized from max_words; a unique text so the
cache never answers) at ``--overload`` times the aggregate quota for ``--sim-minutes`` simulated
minutes. Excess gets 202 and a job; the bench polls every job to its end. The simulator runs its
quota window on a compressed clock and the router is told so (quota_window_seconds = 60 / scale).
What each column means and how it is measured: docs/routing.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvloop

from bench.routing_load import (
    HEADERS,
    JobPoller,
    LoadResult,
    MakeRequest,
    Measured,
    Row,
    drive,
    results,
    sim_stats,
    simulator_process,
    snapshot_at,
)
from devhost.host import run_local_host
from shared.adapters.openai_deployment import AzureOpenAIDeployment, build_client
from shared.catalog import UseCase
from shared.composition.root import Gateway, assemble, use_gateway
from shared.domain.caller import Caller
from shared.handlers.prepare import prepare
from shared.routing import Router
from shared.routing.headroom import WINDOW_SECONDS
from shared.routing.router import BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS, Strategy
from shared.settings import DeploymentConfig, Settings

REGIONS = (("eastus", 60_000), ("swedencentral", 60_000), ("westus3", 30_000))
MODEL = "gpt-4o-mini"
LATENCY_MS = 100.0  # time to first token, real ms
PER_TOKEN_MS = 2.0  # real ms per completion token: a 50-token summary takes ~0.2 s in all
SENTENCE = "Revenue in the northern region rose while costs in the south kept falling. "
# httpx keeps 20 idle connections by default: past that every request would open a new one.
LIMITS = httpx.Limits(max_connections=500, max_keepalive_connections=500)


@dataclass(frozen=True)
class Scenario:
    name: str
    regions: tuple[tuple[str, int], ...]
    strategy: Strategy

    @property
    def tpm(self) -> int:
        return sum(tpm for _, tpm in self.regions)


OFFERED_TPM = sum(tpm for _, tpm in REGIONS)
SCENARIOS = (
    Scenario("3 deployments, headroom-aware", REGIONS, "headroom"),
    Scenario("3 deployments, round robin", REGIONS, "round_robin"),
    Scenario("1 deployment (60k)", REGIONS[:1], "headroom"),
)


def scenario_settings(data_dir: Path, scenario: Scenario, simulator_url: str) -> Settings:
    deployments = [
        DeploymentConfig.model_validate(
            {"name": f"{MODEL}-{region}", "endpoint": simulator_url, "model": MODEL}
            | {"region": region, "priority": 0, "tpm": tpm}
        )
        for region, tpm in scenario.regions
    ]
    return Settings(
        gateway_data_dir=data_dir,
        gateway_telemetry="off",
        aoai_deployments=deployments,
        aoai_auth="none",
    )


async def use_router(gw: Gateway, strategy: Strategy, window: float) -> Router:
    """The gateway rewired onto a Router with this strategy and quota window, built like
    shared/composition/adapters.build_chat (whose Router has neither option). The backoff after
    a 429 spreads retries over quota time, so it shrinks with the window; the request deadline
    is the caller's real-time budget and stays as configured."""
    scale = window / WINDOW_SECONDS
    deployments = []
    for config in gw.settings.aoai_deployments:
        client = build_client(
            config,
            api_version=gw.settings.aoai_api_version,
            timeout=gw.settings.aoai_timeout_seconds,
            credential="bench",
        )
        gw.closers.append(client.close)
        tokenizer = gw.usecases.calls.groups.group(config.group_name).tokenizer
        deployments.append(AzureOpenAIDeployment(config, client, tokenizer))
    router = Router(
        deployments,
        default_cooldown=gw.settings.aoai_default_cooldown_seconds,
        deadline_seconds=gw.settings.gateway_request_deadline_seconds,
        max_inflight=gw.settings.gateway_max_inflight,
        strategy=strategy,
        quota_window_seconds=window,
        backoff_base=BACKOFF_BASE_SECONDS * scale,
        backoff_cap=BACKOFF_CAP_SECONDS * scale,
    )
    rewired = assemble(
        gw.settings,
        gw.stores,
        gw.queue,
        router,
        receiver=gw.receiver,
        groups=gw.usecases.calls.groups,
        router=router,
        catalog=gw.catalog,
    )
    gw.closers.extend(rewired.closers)
    use_gateway(rewired)
    return router


def summarize(gw: Gateway) -> UseCase:
    usecase = gw.catalog.get("summarize")
    assert usecase is not None
    return usecase


def request_factory(gw: Gateway, sentences: int) -> MakeRequest:
    """Unique texts (the exact cache never hits), costed exactly as the gateway will cost them."""
    usecase = summarize(gw)
    caller = Caller(HEADERS["x-business-unit"], HEADERS["x-user-id"])
    run = uuid.uuid4().hex[:8]

    def make(i: int) -> tuple[dict[str, object], int]:
        body: dict[str, object] = {"text": f"Report {run}-{i}. " + SENTENCE * sentences}
        return body, prepare(
            usecase, caller, body, "cost", gw.usecases.calls.groups
        ).request.quota_cost

    return make


async def run(scenario: Scenario, args: argparse.Namespace) -> Measured:
    window = 60.0 / args.time_scale  # one simulated minute, in real seconds
    overload = args.sim_minutes * window
    upstream = [(f"{MODEL}-{region}", MODEL, tpm) for region, tpm in scenario.regions]
    with tempfile.TemporaryDirectory() as data_dir:
        async with (
            simulator_process(upstream, args.time_scale, LATENCY_MS, PER_TOKEN_MS) as sim_url,
            run_local_host(
                scenario_settings(Path(data_dir), scenario, sim_url), simulator_port=None
            ) as host,
            httpx.AsyncClient(base_url=host.base_url, timeout=120, limits=LIMITS) as client,
        ):
            make = request_factory(host.gateway, args.sentences)
            for i in range(3):  # warm up the tokenizer, the SDK and SQLite, then forget it
                await client.post("/api/v1/summarize", json=make(-1 - i)[0], headers=HEADERS)
            await client.post(f"{sim_url}/_sim/reset")
            await use_router(host.gateway, scenario.strategy, window)
            load = LoadResult()
            poller = JobPoller(client, load)
            start, wall_start = time.monotonic(), time.time()
            # Skip the first simulated minute: an empty window admits a burst no steady state can.
            first = asyncio.create_task(snapshot_at(client, sim_url, start + window))
            last = asyncio.create_task(snapshot_at(client, sim_url, start + overload))
            # Every scenario gets the same demand: --overload x the three deployments' TPM.
            rate = args.overload * OFFERED_TPM / window  # quota tokens per real second
            await drive(client, make, rate, overload, load, poller)
            await poller.wait_all(limit_seconds=max(120.0, 8 * overload))
            final = await sim_stats(client, sim_url)
            usecase = summarize(host.gateway)
            defaults = usecase.input_model.model_validate({"text": "x"}).model_dump()
            max_tokens = usecase.max_tokens_for(defaults)  # what each call reserved
            return Measured(
                load, window, max_tokens, await first, await last, final, wall_start + overload
            )


def table(rows: list[Row], time_scale: float) -> str:
    head = (
        "| scenario | utilisation charged (served) | served/charged | client failures "
        "| 429s/1k req | sync p50 | sync p99 | sync 200 | queued | drain time (ideal) |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        sync = [s * 1000 for s in r.load.sync_seconds]
        cuts = statistics.quantiles(sync, n=100) if len(sync) > 1 else [float("nan")] * 99
        fails = sum(r.load.failures.values()) + r.load.unfinished
        drain = r.drain_seconds * time_scale / 60
        ideal = r.ideal_drain_seconds * time_scale / 60
        lines.append(
            f"| {r.name} | {r.charged_util:.3f} ({r.served_util:.3f}) "
            f"| {r.served_util / r.charged_util:.2f} | {fails} "
            f"| {1000 * r.throttled / max(1, r.load.sent):.0f} "
            f"| {cuts[49]:.0f} ms | {cuts[98]:.0f} ms | {len(sync)} | {r.load.queued} "
            f"| {r.drain_seconds:.1f} s = {drain:.1f} sim min ({ideal:.1f}) |"
        )
    return "\n".join(lines)


def detail(r: Row) -> str:
    load = r.load
    to_202 = statistics.median(load.queued_seconds) * 1000 if load.queued_seconds else 0.0
    return (
        f"{r.name}: sent {load.sent} ({load.sent_tokens / max(1, load.sent):.0f} quota "
        f"tokens each), 202 p50 {to_202:.0f} ms, drain utilisation {r.drain_util:.2f}, "
        f"failures {dict(load.failures)}, unfinished jobs {load.unfinished}"
    )


async def main(args: argparse.Namespace) -> None:
    rows = []
    for scenario in SCENARIOS:
        if args.only and args.only not in scenario.name:
            continue
        rows.append(results(scenario.name, scenario.tpm, await run(scenario, args)))
        print(detail(rows[-1]), flush=True)
    print(
        f"\n{args.overload:g}x {OFFERED_TPM:,} TPM offered for {args.sim_minutes:g} simulated "
        f"minutes, clock x{args.time_scale:g}; utilisation over simulated minutes "
        f"1-{args.sim_minutes:g}; drain time in simulated minutes (ideal: the backlog at full "
        f"quota)\n"
    )
    print(table(rows, args.time_scale))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sim-minutes", type=float, default=5.0)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--overload", type=float, default=2.0, help="x 150k TPM")
    parser.add_argument("--sentences", type=int, default=150, help="document length")
    parser.add_argument("--only", default="", help="run the scenarios whose name holds this")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(parser.parse_args()))
