"""Streaming in the chat.completion.chunk format, and which tokens count as served."""

from __future__ import annotations

import json
from typing import Any

import httpx

from simulator.content import Reply
from simulator.streaming import event_stream, split_pieces
from simulator.testing import chat_path

BODY = {"messages": [{"role": "user", "content": "Tell me about queues."}], "max_tokens": 500}


def _events(text: str) -> list[Any]:
    frames = [f for f in text.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    assert frames[-1] == "data: [DONE]"
    return [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]


async def _stream(client: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    return await client.post(chat_path("sim"), json={**BODY, "stream": True, **extra})


async def test_stream_chunks_and_usage_match_the_plain_response(client: httpx.AsyncClient) -> None:
    plain = (await client.post(chat_path("sim"), json=BODY)).json()

    response = await _stream(client, stream_options={"include_usage": True})

    assert response.headers["content-type"].startswith("text/event-stream")
    assert "x-ratelimit-remaining-tokens" in response.headers
    events = _events(response.text)
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    content_chunks = [e for e in events[1:-2] if e["choices"][0]["delta"].get("content")]
    assert len(content_chunks) > 1
    text = "".join(e["choices"][0]["delta"]["content"] for e in content_chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["choices"] == []
    assert events[-1]["usage"] == plain["usage"]


async def test_no_usage_chunk_unless_asked(client: httpx.AsyncClient) -> None:
    events = _events((await _stream(client)).text)

    assert all("usage" not in e for e in events)
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


async def test_stats_count_only_served_tokens(client: httpx.AsyncClient) -> None:
    plain = (await client.post(chat_path("sim"), json=BODY)).json()
    await _stream(client, stream_options={"include_usage": True})
    await client.post(chat_path("sim"), json=BODY, headers={"x-sim-fault": "500"})
    await client.post(chat_path("sim"), json=BODY, headers={"x-sim-fault": "429"})
    await client.post(chat_path("sim"), json={"messages": []})

    stats = (await client.get("/_sim/stats")).json()["sim"]

    assert stats == {
        "requests": 5,
        "ok": 2,
        "throttled": 1,
        "faults": 1,
        "bad_requests": 1,
        "prompt_tokens": 2 * plain["usage"]["prompt_tokens"],
        "completion_tokens": 2 * plain["usage"]["completion_tokens"],
    }
    await client.post("/_sim/reset")
    assert set((await client.get("/_sim/stats")).json()["sim"].values()) == {0}


async def test_an_unfinished_stream_is_not_counted() -> None:
    served: list[bool] = []
    reply = Reply("one two three four five six seven", 7, "stop")
    stream = event_stream(
        "id", 0, "m", reply, None, pause_per_token=1e-6, on_complete=lambda: served.append(True)
    )

    await anext(stream)
    await anext(stream)
    await stream.aclose()  # the client went away

    assert served == []


def test_pieces_join_back_to_the_text() -> None:
    for text in ["", "one", " lead and trail ", "a b c d e f g", '{"k": "v w", "n": 1}']:
        assert "".join(split_pieces(text)) == text
    assert len(split_pieces("a b c d e f g")) == 3
