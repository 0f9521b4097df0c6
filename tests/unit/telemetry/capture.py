"""What a telemetry test reads: the spans and metric points the SDK's in-memory readers kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


@dataclass
class Captured:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def span(self, kind: SpanKind) -> ReadableSpan:
        found = [s for s in self.spans.get_finished_spans() if s.kind == kind]
        assert len(found) == 1, found
        return found[0]

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        if data is None:
            return []  # nothing was recorded yet
        return [
            point
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def total(self, name: str, **attrs: Any) -> float:
        points = [p for p in self.points(name) if attrs.items() <= dict(p.attributes).items()]
        return sum(getattr(p, "sum", getattr(p, "value", 0)) for p in points)
