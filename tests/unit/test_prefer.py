"""Prefer: respond-async (RFC 7240) in every form a client may send it, and Preference-Applied
on the 202 that honours it; any other preference is ignored (a sync answer, no such header)."""

from __future__ import annotations

import httpx
import pytest
from starlette.datastructures import Headers

from shared.composition.root import Gateway
from shared.http.request import preferences
from tests.fakes import FakeChatModel

HEADERS = {"x-business-unit": "marketing", "x-user-id": "alice@contoso.com"}


@pytest.mark.parametrize(
    "prefer",
    [
        "respond-async",
        "respond-async; wait=1",
        "respond-async;wait=10",
        "respond-async, wait=1",
        "wait=5, respond-async",
        "RESPOND-ASYNC",
        'handling=lenient, foo="a,b;c", respond-async',
    ],
)
async def test_respond_async_is_honoured_and_says_so(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel, prefer: str
) -> None:
    response = await client.post(
        "/api/v1/summarize", json={"text": "Queue me."}, headers={**HEADERS, "prefer": prefer}
    )
    assert response.status_code == 202, response.text
    assert response.headers["preference-applied"] == "respond-async"
    assert chat.calls == []
    assert await gateway.queue.depth() == 1


@pytest.mark.parametrize(
    "prefer",
    ["wait=1", "handling=strict", 'foo="respond-async"', "respond-asynchronous", "return=minimal"],
)
async def test_other_preferences_are_ignored(
    client: httpx.AsyncClient, chat: FakeChatModel, prefer: str
) -> None:
    response = await client.post(
        "/api/v1/summarize", json={"text": "Answer me."}, headers={**HEADERS, "prefer": prefer}
    )
    assert response.status_code == 200, response.text
    assert "preference-applied" not in response.headers
    assert len(chat.calls) == 1


async def test_a_streamed_call_ignores_respond_async(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    headers = {**HEADERS, "prefer": "respond-async; wait=1"}
    body = {"text": "Stream me.", "stream": True}
    response = await client.post("/api/v1/summarize", json=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "preference-applied" not in response.headers


def test_preferences_from_every_prefer_header_line() -> None:
    headers = Headers(raw=[(b"prefer", b"wait=3"), (b"prefer", b"Respond-Async ; foo=bar")])
    assert preferences(headers) == {"wait", "respond-async"}
    assert preferences(Headers({"prefer": ' ; , =x, a="\\"b,c"'})) == {"a"}
    assert preferences(Headers({})) == frozenset()
