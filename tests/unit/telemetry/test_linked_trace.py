"""One trace per invocation: under the Functions host, the gateway's spans are the host's children.

The Python worker (PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true) attaches each invocation's
trace context, taken from the host's request span (its traceparent), before it calls the
function: these tests do the same with OpenTelemetry's own propagator, then call the registered
function, and read the in-memory exporter.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import context
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import Settings
from shared.telemetry import setup
from tests.unit.telemetry.capture import Captured
from tests.unit.telemetry.test_telemetry import summarize

HOST_TRACE = "0af7651916cd43dd8448eb211c80319c"
HOST_SPAN = "b7ad6b7169203331"
APIM_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def host_invocation() -> Iterator[None]:
    """What the worker does per invocation (dispatcher.configure_opentelemetry)."""
    carrier = {"traceparent": f"00-{HOST_TRACE}-{HOST_SPAN}-01", "tracestate": ""}
    token = context.attach(TraceContextTextMapPropagator().extract(carrier))
    yield
    context.detach(token)


async def test_an_invocations_spans_are_one_trace_under_the_hosts_request_span(
    client: httpx.AsyncClient, captured: Captured, host_invocation: None
) -> None:
    # The caller's (APIM's) traceparent reaches the worker too; the host's span already
    # descends from it, so it must not start a second line of parentage.
    await summarize(client, traceparent=f"00-{APIM_TRACE}-00f067aa0ba902b7-01")

    spans = captured.spans.get_finished_spans()
    request = next(s for s in spans if s.name == "POST /api/v1/{usecase}")
    assert {f"{s.context.trace_id:032x}" for s in spans} == {HOST_TRACE}
    assert request.parent is not None and f"{request.parent.span_id:016x}" == HOST_SPAN
    assert request.kind == SpanKind.INTERNAL  # the host's span is the request
    by_id = {s.context.span_id: s for s in spans}
    for span in spans:  # every other span descends from the request span, none is a root
        while span is not request:
            assert span.parent is not None, span.name
            span = by_id[span.parent.span_id]


async def test_with_no_host_the_callers_traceparent_parents_a_server_span(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    await summarize(client, traceparent=f"00-{APIM_TRACE}-00f067aa0ba902b7-01")

    request = captured.span(SpanKind.SERVER)
    assert f"{request.context.trace_id:032x}" == APIM_TRACE


def test_under_the_functions_worker_the_gateway_uses_its_pipeline_not_a_second_one() -> None:
    conn = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
    worker = Settings(
        applicationinsights_connection_string=conn, python_applicationinsights_enable_telemetry=True
    )
    assert setup.choose_mode(worker) == "functions"
    assert setup.choose_mode(Settings(applicationinsights_connection_string=conn)) == "azure"


def test_the_auto_instrumentations_left_off_are_the_app_settings() -> None:
    options = setup.disabled_instrumentations(Settings())
    assert set(options) == {
        "fastapi", "httpx", "httpx2", "requests", "urllib", "urllib3", "azure_sdk",
    }  # fmt: skip
    assert all(option == {"enabled": False} for option in options.values())
