"""Telemetry through the registered functions, with the SDK's in-memory span and metric readers."""

from __future__ import annotations

import logging

import httpx
import pytest
from opentelemetry.trace import SpanKind

from shared.composition.root import Gateway
from shared.settings import Settings
from shared.telemetry import sample_queue, setup
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel
from tests.unit.telemetry.capture import Captured

TEXT = "The quarterly report shows revenue up 12% while costs stayed flat."
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def summarize(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    response = await client.post(
        "/api/v1/summarize", json={"text": TEXT}, headers={**HEADERS, **headers}
    )
    assert response.status_code == 200, response.text
    return response


async def test_one_call_makes_a_request_span_and_a_genai_chat_span(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    body = (await summarize(client)).json()

    server = captured.span(SpanKind.SERVER)
    chat = captured.span(SpanKind.CLIENT)
    assert server.name == "POST /api/v1/{usecase}"
    assert server.attributes is not None and chat.attributes is not None
    assert server.attributes["gateway.request_id"] == body["request_id"]
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["gateway.business_unit"] == "marketing"
    assert server.attributes["gateway.use_case"] == "summarize"
    assert server.attributes["gateway.cache_hit"] is False
    assert chat.parent is not None and chat.parent.span_id == server.context.span_id
    assert chat.name == "chat gpt-4o-mini"
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.system": "azure.ai.openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": body["usage"]["prompt_tokens"],
        "gen_ai.usage.output_tokens": body["usage"]["completion_tokens"],
        "gateway.deployment": "fake-eastus",
        "gateway.region": "eastus",
        "gateway.business_unit": "marketing",
        "gateway.use_case": "summarize",
        "gateway.attempts": 1,
    }
    assert {k: chat.attributes.get(k) for k in expected} == expected
    every = {k for s in captured.spans.get_finished_spans() for k in (s.attributes or {})}
    assert not [k for k in every if "user" in k or "session" in k]


async def test_metrics_count_tokens_and_cache_hits_without_user_dimensions(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    first = (await summarize(client)).json()
    second = (await summarize(client)).json()
    assert second["cached"] is True

    usage = first["usage"]
    by = {"gateway.business_unit": "marketing", "gateway.use_case": "summarize"}
    assert captured.total("gateway.cache.requests", **by) == 2
    assert captured.total("gateway.cache.hits", **by) == 1
    tokens_in = captured.total("gen_ai.client.token.usage", **{"gen_ai.token.type": "input"})
    tokens_out = captured.total("gateway.tokens", **{"gen_ai.token.type": "output"})
    assert (tokens_in, tokens_out) == (usage["prompt_tokens"], usage["completion_tokens"])
    [upstream] = captured.points("gen_ai.client.operation.duration")
    assert upstream.count == 1 and upstream.attributes["gateway.deployment"] == "fake-eastus"
    [latency] = captured.points("http.server.request.duration")
    assert latency.count == 2 and latency.attributes["http.route"] == "/api/v1/{usecase}"
    data = captured.reader.get_metrics_data()
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    keys = " ".join(point.attributes or {})
                    values = " ".join(str(v) for v in (point.attributes or {}).values())
                    assert "user" not in keys and "session" not in keys, metric.name
                    assert "alice" not in values and first["request_id"] not in values


async def test_traceparent_is_continued_and_a_client_request_id_stays_separate(
    client: httpx.AsyncClient, gateway: Gateway, captured: Captured
) -> None:
    response = await summarize(
        client,
        traceparent=f"00-{TRACE_ID}-00f067aa0ba902b7-01",
        **{"x-request-id": "caller-42"},
    )

    server = captured.span(SpanKind.SERVER)
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.attributes is not None
    assert server.attributes["gateway.client_request_id"] == "caller-42"
    request_id = response.headers["x-request-id"]
    assert request_id != "caller-42" and request_id == response.json()["request_id"]
    month = gateway.now().strftime("%Y-%m")
    assert await gateway.stores.ledger.get("marketing", month, request_id) is not None


async def test_logs_carry_the_request_id_and_never_the_prompt(
    client: httpx.AsyncClient, chat: FakeChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    chat.replies = [RuntimeError("boom")]
    caplog.set_level(logging.DEBUG)

    response = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=HEADERS)

    assert response.status_code == 500
    [unhandled] = [r for r in caplog.records if r.name == "gateway.errors"]
    assert unhandled.request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if TEXT in r.getMessage()]


@pytest.mark.parametrize("log_prompts_for", [frozenset({"summarize"})])
async def test_prompts_are_logged_only_for_opted_in_use_cases(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.prompts")

    body = (await summarize(client)).json()

    logged = [r for r in caplog.records if r.name == "gateway.prompts"]
    assert any(TEXT in r.getMessage() for r in logged)
    assert any(body["summary"] in r.getMessage() for r in logged)
    assert all(r.request_id == body["request_id"] for r in logged)  # type: ignore[attr-defined]


async def test_queue_depth_gauge_reads_the_sampled_depth(
    client: httpx.AsyncClient, gateway: Gateway, captured: Captured
) -> None:
    queued = await client.post(
        "/api/v1/summarize",
        json={"text": TEXT},
        headers={**HEADERS, "prefer": "respond-async"},
    )
    assert queued.status_code == 202

    telemetry = setup.active()
    assert telemetry is not None
    assert await sample_queue(gateway.queue, telemetry.instruments) == 1
    [depth] = captured.points("gateway.queue.depth")
    assert depth.value == 1


def test_mode_follows_the_connection_string_unless_set_explicitly() -> None:
    conn = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
    assert setup.choose_mode(Settings()) == "off"
    assert setup.choose_mode(Settings(applicationinsights_connection_string=conn)) == "azure"
    explicit = Settings(applicationinsights_connection_string=conn, gateway_telemetry="console")
    assert setup.choose_mode(explicit) == "console"
    assert setup.choose_mode(Settings(gateway_telemetry="azure")) == "off"


def test_a_failing_setup_leaves_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(mode: str, settings: Settings) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(setup, "_configured", False)
    monkeypatch.setattr(setup, "_active", None)
    monkeypatch.setattr(setup, "_providers", broken)

    assert setup.configure_telemetry(Settings(gateway_telemetry="console")) is None
    assert setup.active() is None


def test_otlp_without_its_package_warns_and_stays_off(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("opentelemetry.sdk")
    try:
        import opentelemetry.exporter.otlp  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the OTLP exporter is installed here")
    assert setup._exporters("otlp") is None
    assert "opentelemetry-exporter-otlp" in caplog.text
