"""The gateway's metrics: token use and cost by business unit, cache hits, upstream health, queue.

Names follow the OpenTelemetry GenAI and HTTP semantic conventions where one exists
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/,
https://opentelemetry.io/docs/specs/semconv/http/http-metrics/); the rest are ``gateway.*``.
Cardinality is bounded on purpose: business unit, use case, model, deployment and region all come
from configuration. User ids, session ids and request ids are never dimensions (they belong on
spans and the usage ledger), or one busy day would create millions of time series.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from shared.domain.usage import UsageRecord

if TYPE_CHECKING:
    from shared.routing import Router

AttributeMap = Mapping[str, str | int | float | bool]

# Advisory buckets from the GenAI semconv (token counts and operation seconds).
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
SECONDS_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48)
JOB_AGE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 14400, 86400)
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}

PROVIDER = "azure.ai.openai"


def usage_attributes(record: UsageRecord) -> dict[str, str]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": record.model,
        "gen_ai.response.model": record.model,
        "gateway.business_unit": record.business_unit,
        "gateway.use_case": record.use_case,
        "gateway.deployment": record.deployment or "none",
    }


@dataclass
class QueueSample:
    """The last queue depth the sampler read; the gauge callback cannot await, so it reads this."""

    depth: int | None = None


class Instruments:
    def __init__(self, meter: Meter) -> None:
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Input and output tokens per upstream call",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )
        self.operation_duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Upstream chat call duration, failover attempts included",
            explicit_bucket_boundaries_advisory=list(SECONDS_BUCKETS),
        )
        self.tokens = meter.create_counter(
            "gateway.tokens", unit="{token}", description="Tokens metered, for chargeback"
        )
        self.cost = meter.create_counter(
            "gateway.cost", unit="{currency}", description="Upstream cost metered (price table)"
        )
        self.savings = meter.create_counter(
            "gateway.savings", unit="{currency}", description="Cost avoided by cache hits"
        )
        self.cache_requests = meter.create_counter(
            "gateway.cache.requests", unit="{request}", description="Calls of cacheable use cases"
        )
        self.cache_hits = meter.create_counter(
            "gateway.cache.hits", unit="{request}", description="Calls answered from the cache"
        )
        self.upstream_responses = meter.create_counter(
            "gateway.upstream.responses", unit="{response}", description="Upstream HTTP answers"
        )
        self.upstream_throttled = meter.create_counter(
            "gateway.upstream.throttled", unit="{response}", description="Upstream 429 answers"
        )
        self.request_duration = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Gateway request duration",
            explicit_bucket_boundaries_advisory=list(SECONDS_BUCKETS),
        )
        self.job_age = meter.create_histogram(
            "gateway.job.age",
            unit="s",
            description="Queued job age when it finished (created to succeeded/failed)",
            explicit_bucket_boundaries_advisory=list(JOB_AGE_BUCKETS),
        )
        self.queue = QueueSample()
        self._router: weakref.ref[Router] | None = None
        meter.create_observable_gauge(
            "gateway.deployment.breaker_state",
            callbacks=[self._observe_breakers],
            unit="1",
            description="Circuit breaker per deployment: 0 closed, 1 half open, 2 open",
        )
        meter.create_observable_gauge(
            "gateway.deployment.cooling",
            callbacks=[self._observe_cooling],
            unit="s",
            description="Seconds a deployment still cools down after a 429",
        )
        meter.create_observable_gauge(
            "gateway.queue.depth",
            callbacks=[self._observe_queue],
            unit="{message}",
            description="Active messages on the overflow queue (last sample)",
        )

    def watch(self, router: Router | None) -> None:
        """The router the gauges read (weakly: the latest one built in this process)."""
        self._router = weakref.ref(router) if router is not None else None

    # --- recorded on the request path ---------------------------------------------------
    def record_usage(self, record: UsageRecord, *, cacheable: bool) -> None:
        attrs = usage_attributes(record)
        if cacheable:
            cache_attrs = {k: attrs[k] for k in ("gateway.business_unit", "gateway.use_case")}
            self.cache_requests.add(1, cache_attrs)
            if record.cache_hit:
                self.cache_hits.add(1, cache_attrs)
        money = {**attrs, "gateway.currency": record.currency}
        if record.savings:
            self.savings.add(float(record.savings), money)
        if record.cache_hit:
            return  # no upstream call: no tokens, no cost
        self.token_usage.record(record.prompt_tokens, {**attrs, "gen_ai.token.type": "input"})
        self.token_usage.record(record.completion_tokens, {**attrs, "gen_ai.token.type": "output"})
        self.tokens.add(record.prompt_tokens, {**attrs, "gen_ai.token.type": "input"})
        self.tokens.add(record.completion_tokens, {**attrs, "gen_ai.token.type": "output"})
        if record.cost:
            self.cost.add(float(record.cost), money)

    def record_upstream_response(self, deployment: str, status: int) -> None:
        attrs: dict[str, str | int] = {
            "gateway.deployment": deployment,
            "http.response.status_code": status,
        }
        self.upstream_responses.add(1, attrs)
        if status == 429:
            self.upstream_throttled.add(1, {"gateway.deployment": deployment})

    # --- observed on export ---------------------------------------------------------------
    def _snapshot(self) -> list[Any]:
        router = self._router() if self._router else None
        return list(router.snapshot()) if router is not None else []

    def _observe_breakers(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(BREAKER_VALUES.get(h.breaker, 2), _deployment_attrs(h))
            for h in self._snapshot()
        ]

    def _observe_cooling(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(float(h.cooling_for), _deployment_attrs(h)) for h in self._snapshot()]

    def _observe_queue(self, options: CallbackOptions) -> Iterable[Observation]:
        depth = self.queue.depth
        return [] if depth is None else [Observation(depth)]


def _deployment_attrs(health: Any) -> dict[str, str]:
    return {
        "gateway.deployment": str(health.name),
        "gateway.region": str(health.region),
        "gateway.deployment_group": str(health.group),
    }
