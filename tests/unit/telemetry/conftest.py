"""Telemetry on, with in-memory readers, before each test assembles (and instruments) a gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import activate, deactivate
from tests.unit.telemetry.capture import Captured


@pytest.fixture
def log_prompts_for() -> frozenset[str]:
    return frozenset()  # GATEWAY_LOG_PROMPTS_FOR; a test overrides it with parametrize


@pytest.fixture(autouse=True)
def captured(log_prompts_for: frozenset[str]) -> Iterator[Captured]:
    # Autouse: active before the gateway fixture assembles (and instruments) the gateway.
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    activate(tracer_provider, meter_provider, log_prompts_for=log_prompts_for)
    yield Captured(spans, reader)
    deactivate()
