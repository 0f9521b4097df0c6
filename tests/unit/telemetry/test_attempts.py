"""One span per upstream attempt, under the chat span; answers counted per deployment and status."""

from __future__ import annotations

import random

import pytest

from shared.domain.chat import StreamEnd
from shared.domain.upstream import UpstreamUnavailable
from shared.routing import Router
from shared.telemetry import setup
from shared.telemetry.attempts import TracedDeployment
from shared.telemetry.tracing import TracedChatModel
from tests.unit.routing.fakes import FakeClock, FakeDeployment, throttled
from tests.unit.routing.fakes import chat as routing_chat
from tests.unit.telemetry.capture import Captured


async def test_each_attempt_is_a_child_span_and_429s_are_counted_per_deployment(
    captured: Captured,
) -> None:
    # A real router over two deployments: the first answers 429, the call fails over.
    first = FakeDeployment("a").then(throttled(2.0), throttled(2.0))
    second = FakeDeployment("b")
    clock = FakeClock()
    router = Router([first, second], clock=clock, rng=random.Random(1))
    telemetry = setup.active()
    assert telemetry is not None
    router.wrap_deployments(lambda d: TracedDeployment(d, telemetry))
    chat_model = TracedChatModel(router, telemetry, groups=None)

    result = await chat_model.complete(routing_chat())
    clock.advance(3.0)  # a's cooldown (its Retry-After) is over: the stream tries it again
    streamed = [e async for e in chat_model.stream(routing_chat())]

    assert result.deployment == "b" and result.attempts == 2
    assert isinstance(streamed[-1], StreamEnd) and streamed[-1].result.deployment == "b"
    spans = captured.spans.get_finished_spans()
    chats = [s for s in spans if s.name.startswith("chat ")]
    attempts = [s for s in spans if s.name.startswith("attempt ")]
    assert len(chats) == 2
    seen = [
        (s.name, dict(s.attributes or {}).get("gateway.attempt"), s.parent.span_id)
        for s in attempts
        if s.parent is not None
    ]
    chat_ids = [c.context.span_id for c in chats]
    # Per call: attempt 1 on a (429), attempt 2 on b (200), both children of that call's span.
    assert seen == [
        ("attempt a", 1, chat_ids[0]),
        ("attempt b", 2, chat_ids[0]),
        ("attempt a", 1, chat_ids[1]),
        ("attempt b", 2, chat_ids[1]),
    ]
    statuses = [dict(s.attributes or {}).get("http.response.status_code") for s in attempts]
    assert statuses == [429, 200, 429, 200]
    assert dict(attempts[0].attributes or {})["gateway.region"] == "region-a"
    assert captured.total("gateway.upstream.throttled", **{"gateway.deployment": "a"}) == 2
    assert captured.total("gateway.upstream.throttled", **{"gateway.deployment": "b"}) == 0
    ok = {"gateway.deployment": "b", "http.response.status_code": 200}
    assert captured.total("gateway.upstream.responses", **ok) == 2


async def test_a_timed_out_attempt_has_an_error_type_and_no_status(captured: Captured) -> None:
    telemetry = setup.active()
    assert telemetry is not None
    timeout = UpstreamUnavailable("upstream timeout", deployment="a", kind="timeout")
    traced = TracedDeployment(FakeDeployment("a").then(timeout), telemetry)

    with pytest.raises(UpstreamUnavailable):
        await traced.complete(routing_chat())

    [span] = captured.spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "timeout"
    assert "http.response.status_code" not in attributes
    assert captured.points("gateway.upstream.responses") == []
