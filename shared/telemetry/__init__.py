"""Operations telemetry: OpenTelemetry traces, metrics and request-scoped logs.

``instrument(gateway)`` (called by the composition root) configures exporters once per process
and wraps the gateway's ports; ``observe_request`` frames each HTTP request (functions/http_frame).
"""

from shared.telemetry.instrument import instrument, sample_queue
from shared.telemetry.logs import RequestContext, current_request_id, request_context
from shared.telemetry.setup import Telemetry, activate, active, configure_telemetry, deactivate
from shared.telemetry.tracing import observe_request

__all__ = [
    "RequestContext",
    "Telemetry",
    "activate",
    "active",
    "configure_telemetry",
    "current_request_id",
    "deactivate",
    "instrument",
    "observe_request",
    "request_context",
    "sample_queue",
]
