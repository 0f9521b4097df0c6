"""From measured figures to Flex Consumption's three knobs (docs/sizing.md has the reasoning).

Pure arithmetic over what bench/sizing.py measured and a few stated assumptions, so the choice
can be recomputed for another model latency or quota without rerunning the bench.

Platform facts (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan):
instance sizes 512 / 2048 / 4096 MB with 0.25 / 1 / 2 cores; maximumInstanceCount 40-1000;
one Python worker process per instance (FUNCTIONS_WORKER_PROCESS_COUNT is not valid on Flex),
so the gateway's Python process can use one core at most, whatever the size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CORES_BY_MEMORY_MB = {512: 0.25, 2048: 1.0, 4096: 2.0}
MIN_MAX_INSTANCES = 40  # the lowest maximumInstanceCount Flex accepts
# perInstanceConcurrency is rounded down to a multiple of this, so that the run-to-run spread of
# the CPU figure (±15%) does not move the setting with every run.
CONCURRENCY_STEP = 8
MAX_MAX_INSTANCES = 1000


@dataclass(frozen=True)
class Measured:
    """What bench/sizing.py read from the gateway process under load."""

    miss_cpu_ms: float  # CPU per cache miss (median over the concurrency levels)
    hit_cpu_ms: float  # CPU per cache hit
    base_rss_mb: float  # the process after warm-up, nothing in flight
    rss_at_concurrency_mb: float  # peak RSS with `concurrency` misses in flight
    concurrency: int  # the in-flight level the RSS was read at
    model_latency_s: float  # the simulator's model-like answer time (direct p50)


@dataclass(frozen=True)
class Assumptions:
    """What the bench cannot measure here; each one stated in docs/sizing.md."""

    worker_cpu_share: float = 0.6  # of the instance's core, left to our worker by the host
    # The Functions host (.NET) and the worker's own runtime. Flex adds 272 MB beyond the
    # instance size for the platform's processes; this counts the host against our size anyway.
    host_memory_mb: float = 300.0
    memory_headroom: float = 0.5  # of the instance memory kept free (spikes, large bodies)
    hit_ratio: float = 0.0  # sizing for misses only: a cold cache is the worst case
    tokens_per_call: int = 1500  # quota cost of an average call (prompt + max_tokens)
    quota_tpm: int = 3 * 450_000  # all deployments of the group together
    # A slow call (a long answer: 512 tokens at ~90 tokens/s): the instance count is sized so
    # the quota can be spent even when calls are this slow, and so stay in flight this long.
    slow_call_s: float = 6.0


@dataclass(frozen=True)
class Sizing:
    instance_memory_mb: int
    per_instance_concurrency: int
    maximum_instance_count: int
    # The figures each choice came from.
    cpu_ms_per_request: float
    requests_per_second_per_instance: float
    concurrency_cpu_bound: float
    memory_per_inflight_mb: float
    concurrency_memory_bound: float
    quota_requests_per_second: float
    instances_for_quota: float


def blended_cpu_ms(measured: Measured, assumptions: Assumptions) -> float:
    hits = assumptions.hit_ratio
    return (1 - hits) * measured.miss_cpu_ms + hits * measured.hit_cpu_ms


def choose(
    measured: Measured, assumptions: Assumptions, memory_mb: int = 2048, router_cap: int = 256
) -> Sizing:
    """perInstanceConcurrency: as many calls in flight as the worker's CPU share can serve at
    the model's latency (Little's law), capped by memory and by the router's own in-flight cap.
    maximumInstanceCount: enough instances to spend the whole Azure OpenAI quota, never less
    than Flex's minimum; more would only collect 429s."""
    cores = min(CORES_BY_MEMORY_MB[memory_mb], 1.0)  # one Python process: one core at most
    cpu_ms = blended_cpu_ms(measured, assumptions)
    rps = cores * assumptions.worker_cpu_share * 1000.0 / cpu_ms
    cpu_bound = rps * measured.model_latency_s
    inflight = max(0.0, measured.rss_at_concurrency_mb - measured.base_rss_mb)
    per_call_mb = inflight / max(1, measured.concurrency)
    budget_mb = memory_mb * (1 - assumptions.memory_headroom) - assumptions.host_memory_mb
    heap_room = budget_mb - measured.base_rss_mb
    memory_bound = heap_room / per_call_mb if per_call_mb > 0 else math.inf
    limit = min(cpu_bound, memory_bound, router_cap - 1)
    # 0: the size does not fit the process at all (its memory budget is below the base heap).
    step = CONCURRENCY_STEP if limit >= CONCURRENCY_STEP else 1
    concurrency = max(0, int(limit) // step * step)
    quota_rps = assumptions.quota_tpm / assumptions.tokens_per_call / 60.0
    # In flight across the app when the quota is fully used by slow calls.
    instances = quota_rps * assumptions.slow_call_s / max(1, concurrency)
    maximum = min(MAX_MAX_INSTANCES, max(MIN_MAX_INSTANCES, math.ceil(instances)))
    return Sizing(
        instance_memory_mb=memory_mb,
        per_instance_concurrency=concurrency,
        maximum_instance_count=maximum,
        cpu_ms_per_request=cpu_ms,
        requests_per_second_per_instance=rps,
        concurrency_cpu_bound=cpu_bound,
        memory_per_inflight_mb=per_call_mb,
        concurrency_memory_bound=memory_bound,
        quota_requests_per_second=quota_rps,
        instances_for_quota=instances,
    )
