"""What the gateway adds over the simulator: latency, throughput, memory. ``python -m bench``.

Three processes on loopback: the simulator (``python -m simulator``), the gateway
(``python -m devhost``, embedded SQLite store) and this one, which only runs wrk. For each number
of concurrent callers, wrk sends the summarize use case through the gateway (a unique text per
request: the cache-miss path; one text: the cache-hit path) and the very chat-completions request
the gateway would send straight to the simulator. Added latency = gateway percentile minus direct
percentile at the same concurrency (a difference of percentiles, not a percentile of differences).
Quota is taken out of the picture: every deployment gets 10^9 TPM (bench/servers.py).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path

import httpx

from bench.report import Row, SimLatency, print_report
from bench.servers import DEPLOYMENTS, Server, gateway, simulator
from bench.wrk_load import TEXT_MARK, Target, WrkResult, run_wrk
from shared.catalog import Catalog
from shared.settings import Settings

HEADERS = {"x-business-unit": "marketing", "x-user-id": "bench@contoso.com"}
FILLER = (
    "The quarterly report shows revenue up 12% while costs stayed flat. Operating margin rose "
    "to 18%, driven by the services business; hardware sales slipped in two regions. The board "
    "approved the buyback and asked for a plan to enter the Nordic market next year."
)


def targets(gateway_url: str, simulator_url: str) -> tuple[Target, Target]:
    usecase = Catalog.load().get("summarize")
    assert usecase is not None
    text = f"{TEXT_MARK} {FILLER}"
    through = Target(gateway_url, "/api/v1/summarize", json.dumps({"text": text}), HEADERS)
    # Exactly what the gateway's openai client sends upstream for the same text.
    payload = usecase.input_model.model_validate({"text": text}).model_dump()
    body = {
        "messages": [{"role": m.role, "content": m.content} for m in usecase.render(payload)],
        "model": DEPLOYMENTS[0][0],
        "max_tokens": usecase.max_output_tokens,
        "temperature": usecase.temperature,
    }
    api_version = Settings().aoai_api_version
    path = f"/openai/deployments/{DEPLOYMENTS[0][0]}/chat/completions?api-version={api_version}"
    direct = Target(simulator_url, path, json.dumps(body), {"api-key": "local-simulator"})
    return through, direct


def set_latency(sim: Server, latency: SimLatency) -> None:
    body = {"latency_ms": latency.fixed_ms, "latency_per_token_ms": latency.per_token_ms}
    for name, _ in DEPLOYMENTS:
        response = httpx.post(f"{sim.url}/_sim/deployments/{name}", json=body)
        response.raise_for_status()


class Bench:
    def __init__(self, workdir: Path, seconds: float) -> None:
        self.workdir = workdir
        self.seconds = seconds
        self.run_id = uuid.uuid4().hex[:12]

    def load(self, target: Target, callers: int, *, fixed: bool, seconds: float = 0) -> WrkResult:
        prefix = f"hit-{self.run_id}" if fixed else f"{self.run_id}-{uuid.uuid4().hex[:6]}"
        return run_wrk(
            target,
            self.workdir,
            connections=callers,
            seconds=seconds or self.seconds,
            prefix=prefix,
            fixed=fixed,
        )

    def measure(
        self, gw: Server, through: Target, direct: Target, callers: int, latency: SimLatency
    ) -> list[Row]:
        base = self.load(direct, callers, fixed=False)
        cpu = gw.cpu_seconds()
        miss = self.load(through, callers, fixed=False)
        miss_cpu = (gw.cpu_seconds() - cpu) / max(1, miss.requests) * 1000
        miss_rss = gw.rss_mb()
        self.load(through, 1, fixed=True, seconds=1)  # fill the cache for the fixed text
        cpu = gw.cpu_seconds()
        hit = self.load(through, callers, fixed=True)
        hit_cpu = (gw.cpu_seconds() - cpu) / max(1, hit.requests) * 1000
        hit_rss = gw.rss_mb()
        return [
            Row("miss", latency, callers, miss, base, miss_cpu, miss_rss),
            Row("hit", latency, callers, hit, base, hit_cpu, hit_rss),
        ]

    def soak(self, gw: Server, through: Target, total: int) -> list[tuple[int, float]]:
        """Cache misses at 50 callers until ``total`` requests, ~10k per chunk; RSS after each."""
        done, rate, curve = 0, 500.0, [(0, gw.rss_mb())]
        while done < total:
            seconds = min(20.0, max(2.0, min(10_000, total - done) / rate))
            result = self.load(through, 50, fixed=False, seconds=seconds)
            done += result.requests
            rate = max(50.0, result.rps)
            curve.append((done, gw.rss_mb()))
        return curve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--callers", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=20_000,
        help="cache-miss requests for the memory check (0 skips it; 100000 for the issue figure)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write a py-spy profile of the gateway (misses) here",
    )
    parser.add_argument(
        "--telemetry",
        default="off",
        choices=["off", "console"],
        help="GATEWAY_TELEMETRY for the gateway process",
    )
    parser.add_argument(
        "--latency",
        type=SimLatency.parse,
        nargs="*",
        default=[SimLatency(20.0), SimLatency(100.0, 2.0)],
        metavar="MS[+MS_PER_TOKEN]",
        help="simulator latencies also measured at 10 callers (default: 20 and 100+2, a short "
        "model answer: 140-260 ms for summarize's 20-80 tokens)",
    )
    args = parser.parse_args(argv)
    extra = {"GATEWAY_TELEMETRY": args.telemetry}
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        workdir = Path(tmp)
        bench = Bench(workdir, args.seconds)
        with (
            simulator(workdir, 0.0) as sim,
            gateway(workdir, sim.url, HEADERS, extra) as gw,
        ):
            through, direct = targets(gw.url, sim.url)
            bench.load(through, 10, fixed=False, seconds=3)  # warm up: imports, SQLite, pools
            bench.load(direct, 10, fixed=False, seconds=2)
            rows: list[Row] = []
            for callers in args.callers:
                rows += bench.measure(gw, through, direct, callers, SimLatency(0.0))
            if args.profile is not None:
                from bench.profile import profile_gateway

                profile_gateway(
                    gw, lambda: bench.load(through, 10, fixed=False), args.profile, args.seconds
                )
            for latency in args.latency:
                set_latency(sim, latency)
                rows += bench.measure(gw, through, direct, 10, latency)
            set_latency(sim, SimLatency(0.0))
            curve = bench.soak(gw, through, args.memory_requests) if args.memory_requests else []
            print_report(rows, curve, gw.peak_rss_mb())
    return 0
