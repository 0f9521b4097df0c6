"""Bodies that used to reach a 500 (a 5,000-digit integer, a 100,000-deep array under the body
cap) and bodies in another charset: each is a 4xx in the one error shape, logged as one line
with no trace, and the model is never called. Fuzzed over nesting depth and number length."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.composition.root import Gateway
from shared.json_limits import MAX_JSON_DEPTH, MAX_JSON_NUMBER_CHARS
from tests.fakes import FakeChatModel

HEADERS = {
    "x-business-unit": "marketing",
    "x-user-id": "alice@contoso.com",
    "content-type": "application/json",
}
SUMMARIZE = "/api/v1/summarize"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    assert response.headers["x-request-id"] == error["request_id"]
    return error


def deep_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"text": "t", "max_words": ' + b"9" * 5000 + b"}", "json_number_too_long"),
        (b'{"text": "t", "max_words": 1' + b"0" * 4299 + b"}", "json_number_too_long"),
        (b'{"text": "t", "x": ' + deep_array(100_000) + b"}", "json_too_deep"),
        (b'{"text": "t", "x": ' + deep_array(1_000) + b"}", "json_too_deep"),
        (b'{"text": "t", "x": ' + b"[" * 100_000 + b"}", "json_too_deep"),
        (b'{"text": "t", "max_words": NaN}', "invalid_json"),
        (json.dumps({"text": "t"}).encode("utf-16"), "invalid_json"),
    ],
    ids=["5000-digits", "4300-digits", "100000-deep", "1000-deep", "unclosed", "nan", "utf-16"],
)
async def test_pathological_bodies_are_400_with_one_log_line(
    client: httpx.AsyncClient,
    gateway: Gateway,
    chat: FakeChatModel,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    code: str,
) -> None:
    assert len(body) < gateway.settings.gateway_max_body_bytes  # under the cap: parsed
    with caplog.at_level(logging.INFO, logger="gateway"):
        response = await client.post(SUMMARIZE, content=body, headers=HEADERS)
    assert error_of(response, 400)["code"] == code
    assert chat.calls == []
    lines = [r for r in caplog.records if r.name.startswith("gateway")]
    assert [(r.levelno, r.exc_info) for r in lines] == [(logging.INFO, None)]
    assert code in lines[0].getMessage()


async def test_a_chat_message_body_has_the_same_limits(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    created = await client.post("/api/v1/chat/sessions", headers=HEADERS)
    path = f"/api/v1/chat/sessions/{created.json()['session_id']}/messages"
    body = b'{"content": "hi", "x": ' + deep_array(50_000) + b"}"
    response = await client.post(path, content=body, headers=HEADERS)
    assert error_of(response, 400)["code"] == "json_too_deep"
    assert chat.calls == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=latin-1",
        "application/json; charset=ISO-8859-1",
        'application/json; charset="utf-16"',
        "application/json;charset=windows-1252",
    ],
)
async def test_a_charset_other_than_utf8_is_415(
    client: httpx.AsyncClient, chat: FakeChatModel, content_type: str
) -> None:
    body = json.dumps({"text": "Grüße aus Köln"}, ensure_ascii=False).encode("latin-1")
    response = await client.post(
        SUMMARIZE, content=body, headers={**HEADERS, "content-type": content_type}
    )
    error = error_of(response, 415)
    assert error["code"] == "unsupported_charset"
    assert chat.calls == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json;charset=utf8",
        "application/merge-patch+json; charset=utf-8",
    ],
)
async def test_utf8_is_read_as_utf8(
    client: httpx.AsyncClient, chat: FakeChatModel, content_type: str
) -> None:
    body = json.dumps({"text": "Grüße aus Köln"}, ensure_ascii=False).encode("utf-8")
    response = await client.post(
        SUMMARIZE, content=body, headers={**HEADERS, "content-type": content_type}
    )
    assert response.status_code == 200, response.text
    assert "Grüße aus Köln" in chat.calls[0].messages[-1].content


async def test_a_utf8_byte_order_mark_is_accepted(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    body = b"\xef\xbb\xbf" + json.dumps({"text": "hello"}).encode()
    response = await client.post(SUMMARIZE, content=body, headers=HEADERS)
    assert response.status_code == 200, response.text


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    depth=st.integers(0, 2 * MAX_JSON_DEPTH) | st.integers(0, 100_000),
    digits=st.integers(1, 2 * MAX_JSON_NUMBER_CHARS) | st.integers(1, 20_000),
    spaced=st.booleans(),
)
async def test_fuzz_depth_and_number_length_never_reach_a_500(
    client: httpx.AsyncClient, chat: FakeChatModel, depth: int, digits: int, spaced: bool
) -> None:
    gap = b" " if spaced else b""
    number = b"1" + b"0" * (digits - 1)
    nested = (b"[" + gap) * depth + number + (gap + b"]") * depth
    body = b'{"text": "t", "max_words": ' + nested + b"}"
    calls_before = len(chat.calls)
    response = await client.post(SUMMARIZE, content=body, headers=HEADERS)
    if len(body) > 256 * 1024:
        assert error_of(response, 413)["code"] == "body_too_large"
    elif depth + 1 > MAX_JSON_DEPTH:  # the object around it is one level more
        assert error_of(response, 400)["code"] == "json_too_deep"
    elif digits > MAX_JSON_NUMBER_CHARS:
        assert error_of(response, 400)["code"] == "json_number_too_long"
    elif depth == 0 and 10 <= int(number) <= 1000:
        assert response.status_code == 200, response.text
    else:
        assert error_of(response, 400)["code"] == "validation_failed"
    if response.status_code != 200:
        assert len(chat.calls) == calls_before
