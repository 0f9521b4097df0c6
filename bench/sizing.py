"""The figures that size Flex Consumption: ``python -m bench.sizing``. Not part of the tests.

The same three processes as ``python -m bench`` (simulator, gateway under the local host, wrk),
with the simulator answering as a model does (default 100 ms + 2 ms per completion token:
140-260 ms for summarize, the fast end of real completions). For each number of callers
(requests in flight), wrk sends cache misses through the gateway and the same requests straight
to the simulator; then cache hits at the first level. Per level it reads the gateway process's
CPU per request, the share of one core it used, its RSS and its peak RSS. Then
bench/sizing_model.py turns the median CPU per miss, the simulator's answer time and the memory
at ``--choose-at`` callers into perInstanceConcurrency, instanceMemoryMB and
maximumInstanceCount; docs/sizing.md explains each step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.overhead import FILLER, HEADERS, set_latency, targets
from bench.report import SimLatency
from bench.servers import Server, gateway, simulator
from bench.sizing_model import CORES_BY_MEMORY_MB, Assumptions, Measured, Sizing, choose
from bench.wrk_load import TEXT_MARK, Target, WrkResult, run_wrk


@dataclass(frozen=True)
class Level:
    path: str  # "miss" | "hit"
    callers: int
    gateway: WrkResult
    direct_p50_ms: float
    direct_p99_ms: float
    cpu_ms: float  # gateway CPU per request
    core_share: float  # gateway CPU seconds per wall second during the run
    rss_mb: float
    peak_rss_mb: float


def with_text_size(target: Target, text_bytes: int) -> Target:
    """The same request with a text of about ``text_bytes`` (summarize inputs are pages)."""
    repeats = max(1, text_bytes // len(FILLER))
    text = f"{TEXT_MARK} {' '.join([FILLER] * repeats)}"
    template = target.template.replace(f"{TEXT_MARK} {FILLER}", text)
    return Target(target.base_url, target.path, template, target.headers)


class Runner:
    def __init__(self, workdir: Path, seconds: float) -> None:
        self.workdir, self.seconds, self.run_id = workdir, seconds, uuid.uuid4().hex[:10]

    def load(self, target: Target, callers: int, *, fixed: bool, seconds: float) -> WrkResult:
        prefix = f"hit-{self.run_id}" if fixed else f"{self.run_id}-{uuid.uuid4().hex[:6]}"
        return run_wrk(
            target, self.workdir, connections=callers, seconds=seconds, prefix=prefix, fixed=fixed
        )

    def level(
        self, gw: Server, through: Target, direct: Target, callers: int, *, hit: bool
    ) -> Level:
        if hit:  # no upstream: no direct baseline; the cache first holds the fixed text
            base = self.load(through, 1, fixed=True, seconds=1)
        else:
            base = self.load(direct, callers, fixed=False, seconds=self.seconds)
        cpu, started = gw.cpu_seconds(), time.monotonic()
        result = self.load(through, callers, fixed=hit, seconds=self.seconds)
        used, wall = gw.cpu_seconds() - cpu, time.monotonic() - started
        return Level(
            "hit" if hit else "miss",
            callers,
            result,
            base.p50_ms,
            base.p99_ms,
            used / max(1, result.requests) * 1000,
            used / wall,
            gw.rss_mb(),
            gw.peak_rss_mb(),
        )


def print_levels(levels: list[Level]) -> None:
    head = (
        f"{'path':5} {'callers':>7} | {'gw p50/p99 ms':>16} | {'direct p50/p99':>16} | "
        f"{'rps':>6} | {'cpu ms/req':>10} | {'core':>5} | {'rss MB':>6} | {'peak MB':>7} | errors"
    )
    print(head)
    print("-" * len(head))
    for lv in levels:
        g = lv.gateway
        print(
            f"{lv.path:5} {lv.callers:7d} | {g.p50_ms:7.1f} /{g.p99_ms:7.1f} | "
            f"{lv.direct_p50_ms:7.1f} /{lv.direct_p99_ms:7.1f} | {g.rps:6.0f} | "
            f"{lv.cpu_ms:10.2f} | {lv.core_share:5.2f} | {lv.rss_mb:6.0f} | "
            f"{lv.peak_rss_mb:7.0f} | {g.errors + g.status_errors}"
        )


def print_sizing(sizing: Sizing, measured: Measured, assumptions: Assumptions) -> None:
    print()
    print(f"measured: {json.dumps(asdict(measured))}")
    print(f"assumed: {json.dumps(asdict(assumptions))}")
    print(
        f"CPU: {sizing.cpu_ms_per_request:.2f} ms/request -> "
        f"{sizing.requests_per_second_per_instance:.0f} requests/s per instance at "
        f"{assumptions.worker_cpu_share:.0%} of a core -> "
        f"{sizing.concurrency_cpu_bound:.0f} in flight at {measured.model_latency_s * 1000:.0f} "
        "ms per call"
    )
    print(
        f"memory: {sizing.memory_per_inflight_mb:.2f} MB per call in flight (upper bound) -> "
        f"{sizing.concurrency_memory_bound:.0f} in flight fit in {sizing.instance_memory_mb} MB"
    )
    print(
        f"quota: {sizing.quota_requests_per_second:.1f} requests/s -> "
        f"{sizing.instances_for_quota:.1f} instances at {assumptions.slow_call_s:g} s per call"
    )
    print(
        f"=> instanceMemoryMB={sizing.instance_memory_mb} "
        f"perInstanceConcurrency={sizing.per_instance_concurrency} "
        f"maximumInstanceCount={sizing.maximum_instance_count}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--callers", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--choose-at", type=int, default=64, help="level whose figures decide")
    parser.add_argument("--latency", type=SimLatency.parse, default=SimLatency(100.0, 2.0))
    parser.add_argument("--text-bytes", type=int, default=4000, help="summarize input size")
    parser.add_argument("--quota-tpm", type=int, default=Assumptions.quota_tpm)
    parser.add_argument("--json", type=Path, default=None, help="also write the levels here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.choose_at not in args.callers:
        raise SystemExit("--choose-at must be one of --callers")
    with tempfile.TemporaryDirectory(prefix="gateway-sizing-") as tmp:
        workdir = Path(tmp)
        runner = Runner(workdir, args.seconds)
        with simulator(workdir, 0.0) as sim, gateway(workdir, sim.url, HEADERS, {}) as gw:
            through, direct = (with_text_size(t, args.text_bytes) for t in targets(gw.url, sim.url))
            set_latency(sim, args.latency)
            runner.load(through, 16, fixed=False, seconds=3)  # warm up: imports, pools, SQLite
            base_rss = gw.rss_mb()
            levels = [runner.level(gw, through, direct, c, hit=False) for c in args.callers]
            levels.append(runner.level(gw, through, direct, args.callers[0], hit=True))
    print(f"simulator latency {args.latency.label}, text ~{args.text_bytes} bytes")
    print_levels(levels)
    misses = [lv for lv in levels if lv.path == "miss"]
    chosen = next(lv for lv in misses if lv.callers == args.choose_at)
    measured = Measured(
        # The median over the levels: one 8-10 s reading moves ±15% on a shared machine.
        miss_cpu_ms=statistics.median(lv.cpu_ms for lv in misses),
        hit_cpu_ms=levels[-1].cpu_ms,
        base_rss_mb=base_rss,
        rss_at_concurrency_mb=chosen.peak_rss_mb,
        concurrency=chosen.callers,
        # The least contended reading of the simulator's own answer time.
        model_latency_s=min(lv.direct_p50_ms for lv in misses) / 1000,
    )
    assumptions = Assumptions(quota_tpm=args.quota_tpm)
    print_sizing(choose(measured, assumptions), measured, assumptions)
    for memory_mb in CORES_BY_MEMORY_MB:
        other = choose(measured, assumptions, memory_mb)
        print(
            f"   {memory_mb:>4} MB: {CORES_BY_MEMORY_MB[memory_mb]:g} core(s), "
            f"{other.requests_per_second_per_instance:.0f} requests/s, "
            f"perInstanceConcurrency {other.per_instance_concurrency or 'does not fit'}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(lv) for lv in levels], indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
