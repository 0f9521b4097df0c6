"""Streaming as server-sent events over HTTP: frames, metering, caching and errors.

Streams the client stops early are in test_chat_stream_cancel.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.composition.root import Gateway
from shared.domain.chat import (
    ChatRequest,
    ChatResult,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    TokenUsage,
)
from shared.domain.upstream import NoCapacity, UpstreamUnavailable
from shared.domain.usage import UsageRecord
from shared.http.sse import wants_stream
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

SSE = {**HEADERS, "accept": "text/event-stream"}
PIECES = ["The ", "quarterly ", "numbers ", "look ", "fine."]
TEXT = "Revenue grew while costs stayed flat across every region this quarter."


@dataclass
class StepChatModel(FakeChatModel):
    """Streams PIECES; can fail at one, or report estimated usage (upstream sent none)."""

    fail_at: int | None = None
    estimated: bool = False

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self._next(request)  # records the call and raises a scripted exception
        for n, piece in enumerate(PIECES):
            if n == self.fail_at:
                raise UpstreamUnavailable("connection reset mid-stream")
            yield StreamDelta(piece)
        content = "".join(PIECES)
        usage = TokenUsage(
            request.prompt_tokens, self.tokenizer.count(content), estimated=self.estimated
        )
        yield StreamEnd(ChatResult(content, usage, "gpt-4o-mini", "fake-eastus", "eastus"))


@pytest.fixture
def chat() -> StepChatModel:
    return StepChatModel()


def events(body: str) -> list[tuple[str, dict[str, Any]]]:
    parsed = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


async def ledger(gateway: Gateway) -> list[UsageRecord]:
    month = gateway.now().strftime("%Y-%m")
    return list(await gateway.stores.ledger.list_partition("marketing", month))


async def summarize(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post("/api/v1/summarize", json=body, headers=headers)


async def new_session(client: httpx.AsyncClient) -> str:
    session_id: str = (await client.post("/api/v1/chat/sessions", headers=HEADERS)).json()[
        "session_id"
    ]
    return session_id


async def test_chat_message_streams_deltas_then_done_and_stores_the_turn(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    session_id = await new_session(client)
    path = f"/api/v1/chat/sessions/{session_id}"

    response = await client.post(f"{path}/messages", json={"content": "How are we?"}, headers=SSE)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = events(response.text)
    assert [e for e, _ in frames] == ["delta"] * len(PIECES) + ["done"]
    assert "".join(d["text"] for e, d in frames if e == "delta") == "".join(PIECES)
    done = frames[-1][1]
    assert done["request_id"] == response.headers["x-request-id"]
    assert (done["turn"], done["turns_dropped"]) == (1, 0)
    [record] = await ledger(gateway)
    assert record.request_id == done["request_id"]
    assert (record.outcome, record.use_case) == ("ok", "chat")
    assert record.completion_tokens == done["usage"]["completion_tokens"] > 0
    assert record.estimated is False
    turns = (await client.get(path, headers=HEADERS)).json()["turns"]
    assert turns[0]["assistant"] == "".join(PIECES) and turns[0]["usage"] == done["usage"]


async def test_summarize_streams_with_stream_true_and_the_cache_replays_it(
    client: httpx.AsyncClient, gateway: Gateway, chat: StepChatModel
) -> None:
    body = {"text": TEXT, "stream": True}
    first = await summarize(client, body, HEADERS)
    again = await summarize(client, {"text": TEXT}, SSE)

    first_frames, again_frames = events(first.text), events(again.text)
    assert first_frames[-1][0] == again_frames[-1][0] == "done"
    assert first_frames[-1][1]["cached"] is False and again_frames[-1][1]["cached"] is True
    assert again_frames[0] == ("delta", {"text": "".join(PIECES)})
    assert len(chat.calls) == 1
    outcomes = sorted(r.outcome for r in await ledger(gateway))
    assert outcomes == ["cache_hit", "ok"]


async def test_estimated_usage_from_upstream_keeps_its_flag(
    client: httpx.AsyncClient, gateway: Gateway, chat: StepChatModel
) -> None:
    chat.estimated = True  # what the adapter reports when upstream sent no usage chunk
    response = await summarize(client, {"text": TEXT, "stream": True}, HEADERS)

    done = events(response.text)[-1][1]
    assert done["usage"]["estimated"] is True and done["usage"]["completion_tokens"] > 0
    [record] = await ledger(gateway)
    assert record.estimated is True and record.completion_tokens > 0


async def test_errors_before_the_first_byte_are_plain_json_with_their_status(
    client: httpx.AsyncClient, gateway: Gateway, chat: StepChatModel
) -> None:
    too_big = await summarize(client, {"text": "word " * 40_000}, SSE)
    label = await client.post(
        "/api/v1/classify", json={"text": TEXT, "stream": True}, headers=HEADERS
    )
    chat.replies = [NoCapacity("busy", retry_after=3.0)]
    busy = await summarize(client, {"text": TEXT}, SSE)

    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "prompt_too_large")
    assert (label.status_code, label.json()["error"]["code"]) == (400, "stream_not_supported")
    assert busy.status_code == 429 and busy.headers["retry-after"] == "3"
    assert busy.headers["content-type"] == "application/json"
    assert await ledger(gateway) == []  # the refused call was released, not metered


async def test_upstream_failing_mid_stream_ends_with_an_error_event(
    client: httpx.AsyncClient, gateway: Gateway, chat: StepChatModel
) -> None:
    chat.fail_at = 2
    session_id = await new_session(client)

    path = f"/api/v1/chat/sessions/{session_id}"
    response = await client.post(f"{path}/messages", json={"content": "hi"}, headers=SSE)

    frames = events(response.text)
    assert [e for e, _ in frames] == ["delta", "delta", "error"]
    error = frames[-1][1]["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    assert error["code"] == "upstream_unavailable"
    [record] = await ledger(gateway)
    assert (record.outcome, record.estimated) == ("error", True)
    assert record.completion_tokens == chat.tokenizer.count("".join(PIECES[:2]))
    assert (await client.get(path, headers=HEADERS)).json()["turns"] == []


def test_stream_flag_and_accept_header() -> None:
    body: dict[str, Any] = {"text": "x", "stream": False}
    assert wants_stream(body, "text/event-stream") is False
    assert body == {"text": "x"}
    assert wants_stream({}, "application/json, text/event-stream;q=0.9") is True
    assert wants_stream({}, "application/json") is False
