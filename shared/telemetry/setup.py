"""Telemetry setup, once per process: Azure Monitor, OTLP, console, or off. Never raises.

* ``APPLICATIONINSIGHTS_CONNECTION_STRING`` and ``PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY``
  set (Azure): the Functions Python worker has configured the Azure Monitor distro; its global
  providers are used as they are (docs/telemetry.md: one pipeline, linked traces).
* ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set alone (and ``GATEWAY_TELEMETRY`` not set to
  something else): the distro, ``configure_azure_monitor()``, set up here
  (https://learn.microsoft.com/azure/azure-monitor/app/opentelemetry-enable?tabs=python).
* ``GATEWAY_TELEMETRY=otlp``: OTLP exporters (``OTEL_EXPORTER_OTLP_ENDPOINT``), when the
  ``opentelemetry-exporter-otlp`` package is installed; otherwise a warning, and off.
* ``GATEWAY_TELEMETRY=console``: spans and metrics printed to stdout, for local debugging.
* otherwise off: no providers, no wrappers, nothing on the request path but two context lookups.

Telemetry is an aid, never a dependency: any failure here is logged and telemetry stays off.
Tests call :func:`activate` with in-memory readers instead of touching the global providers.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from shared.settings import Settings
from shared.telemetry.logs import install_log_context
from shared.telemetry.metrics import Instruments

log = logging.getLogger("gateway.telemetry")

SCOPE = "genai-gateway"
SERVICE_NAME = "genai-gateway"
EXPORT_INTERVAL_MS = 60_000  # Azure Monitor's own metric export interval


@dataclass(frozen=True)
class Telemetry:
    mode: str
    tracer: Tracer
    instruments: Instruments
    log_prompts_for: frozenset[str] = frozenset()


_active: Telemetry | None = None
_configured = False
_lock = threading.Lock()


def active() -> Telemetry | None:
    return _active


def activate(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    *,
    mode: str = "custom",
    log_prompts_for: frozenset[str] = frozenset(),
) -> Telemetry:
    """Make these providers the gateway's telemetry (tests pass in-memory ones)."""
    global _active
    install_log_context()
    _active = Telemetry(
        mode,
        tracer_provider.get_tracer(SCOPE),
        Instruments(meter_provider.get_meter(SCOPE)),
        log_prompts_for,
    )
    return _active


def deactivate() -> None:
    global _active
    _active = None


def choose_mode(settings: Settings) -> str:
    explicit = "gateway_telemetry" in settings.model_fields_set
    if explicit and settings.gateway_telemetry != "azure":
        return settings.gateway_telemetry
    if settings.applicationinsights_connection_string:
        # Under the Functions host the worker has configured Azure Monitor (the one pipeline,
        # docs/telemetry.md); configuring it a second time would export everything twice.
        return "functions" if settings.python_applicationinsights_enable_telemetry else "azure"
    if explicit:
        log.warning("GATEWAY_TELEMETRY=azure needs APPLICATIONINSIGHTS_CONNECTION_STRING; off")
    return "off"


def configure_telemetry(settings: Settings) -> Telemetry | None:
    """Set up exporters the first time it is called in a process; later calls change nothing."""
    global _configured
    with _lock:
        if _configured:
            return _active
        _configured = True
        install_log_context()
        mode = choose_mode(settings)
        if mode == "off" or _active is not None:
            return _active
        try:
            providers = _providers(mode, settings)
        except Exception:
            log.warning("telemetry setup (%s) failed; telemetry is off", mode, exc_info=True)
            return None
        if providers is None:
            return None
        tracer_provider, meter_provider = providers
        telemetry = activate(
            tracer_provider,
            meter_provider,
            mode=mode,
            log_prompts_for=frozenset(settings.gateway_log_prompts_for),
        )
        log.info("telemetry: %s", mode)
        return telemetry


def disabled_instrumentations(settings: Settings) -> dict[str, dict[str, bool]]:
    names = settings.otel_python_disabled_instrumentations.split(",")
    return {name.strip(): {"enabled": False} for name in names if name.strip()}


def _providers(mode: str, settings: Settings) -> tuple[TracerProvider, MeterProvider] | None:
    if mode == "functions":
        # The worker called configure_azure_monitor() at its start, with the same logger name
        # and disabled instrumentations (App Settings), and attaches each invocation's trace
        # context from the host: the global providers are that pipeline.
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

        tracer_provider = trace.get_tracer_provider()
        if not isinstance(tracer_provider, SdkTracerProvider):
            log.warning(
                "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY is set but no Functions worker set "
                "up Azure Monitor in this process; telemetry is off"
            )
            return None
        return tracer_provider, metrics.get_meter_provider()
    if mode == "azure":
        from azure.monitor.opentelemetry import configure_azure_monitor

        # The same choices the worker reads from the App Settings in Azure (docs/telemetry.md).
        configure_azure_monitor(
            connection_string=settings.applicationinsights_connection_string,
            logger_name=settings.python_applicationinsights_logger_name,
            instrumentation_options=disabled_instrumentations(settings),
        )
        # The exporter's own HTTP calls are logged at INFO by azure-core: one line per export.
        logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(
            logging.WARNING
        )
        return trace.get_tracer_provider(), metrics.get_meter_provider()
    exporters = _exporters(mode)
    if exporters is None:
        return None
    span_exporter, metric_exporter = exporters
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME, when set, is the operator's choice and wins.
    name = os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME
    resource = Resource.create({"service.name": name})
    tracer_provider = SdkTracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    reader = PeriodicExportingMetricReader(
        metric_exporter, export_interval_millis=EXPORT_INTERVAL_MS
    )
    meter_provider = SdkMeterProvider(resource=resource, metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def _exporters(mode: str) -> tuple[Any, Any] | None:
    if mode == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(), ConsoleMetricExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[import-not-found, unused-ignore]
            OTLPMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError:
        log.warning(
            "GATEWAY_TELEMETRY=otlp needs the opentelemetry-exporter-otlp-proto-http package, "
            "which is not installed; telemetry is off"
        )
        return None
    return OTLPSpanExporter(), OTLPMetricExporter()
