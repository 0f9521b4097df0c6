"""Chat sessions through the registered functions, on the embedded store and a fake model."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.composition.root import Gateway, use_gateway
from shared.deployment_groups import DeploymentGroups
from shared.domain.upstream import NoCapacity, UpstreamUnavailable
from shared.settings import ModelConfig
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

SESSIONS = "/api/v1/chat/sessions"


def rewire_chat(gateway: Gateway, **changes: Any) -> None:
    """Install the gateway with its chat dependencies changed (the records are frozen)."""
    use_gateway(dataclasses.replace(gateway, chat=dataclasses.replace(gateway.chat, **changes)))


BOB = {**HEADERS, "x-user-id": "bob@contoso.com"}
LEGAL = {**HEADERS, "x-business-unit": "legal"}


async def new_session(client: httpx.AsyncClient) -> str:
    response = await client.post(SESSIONS, headers=HEADERS)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


async def say(
    client: httpx.AsyncClient, session_id: str, body: object, headers: dict[str, str] = HEADERS
) -> httpx.Response:
    return await client.post(f"{SESSIONS}/{session_id}/messages", json=body, headers=headers)


async def records(gateway: Gateway, business_unit: str = "marketing") -> int:
    month = gateway.now().strftime("%Y-%m")
    return len(await gateway.stores.ledger.list_partition(business_unit, month))


async def test_create_gives_an_unguessable_id_and_an_expiry(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    before = gateway.now()
    response = await client.post(SESSIONS, headers=HEADERS)
    other = await client.post(SESSIONS, headers=HEADERS)

    body = response.json()
    assert response.status_code == 201
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", body["session_id"])
    assert body["session_id"] != other.json()["session_id"]
    assert response.headers["location"] == f"{SESSIONS}/{body['session_id']}"
    ttl = timedelta(seconds=gateway.settings.gateway_session_ttl_seconds)
    assert datetime.fromisoformat(body["expires_at"]) - before >= ttl


async def test_a_turn_is_answered_metered_and_stored_with_its_usage(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.replies = ["First answer.", "Second answer."]
    session_id = await new_session(client)

    first = await say(client, session_id, {"content": "What is a budget?"})
    second = await say(client, session_id, {"content": "And a forecast?"})
    history = await client.get(f"{SESSIONS}/{session_id}", headers=HEADERS)

    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["reply"], body["turn"], body["turns_dropped"]) == ("First answer.", 1, 0)
    assert body["request_id"] == first.headers["x-request-id"]
    assert second.json()["turn"] == 2
    # The second prompt carries the first turn: system, user, assistant, user.
    assert [m.role for m in chat.calls[1].messages] == ["system", "user", "assistant", "user"]
    assert chat.calls[1].messages[2].content == "First answer."
    month = gateway.now().strftime("%Y-%m")
    record = await gateway.stores.ledger.get("marketing", month, body["request_id"])
    assert record is not None and record.use_case == "chat" and record.outcome == "ok"
    assert record.prompt_tokens == body["usage"]["prompt_tokens"] == chat.calls[0].prompt_tokens
    assert await records(gateway) == 2
    turns = history.json()["turns"]
    assert [(t["turn"], t["user"], t["assistant"]) for t in turns] == [
        (1, "What is a budget?", "First answer."),
        (2, "And a forecast?", "Second answer."),
    ]
    assert turns[0]["usage"] == body["usage"]


async def test_another_user_or_business_unit_gets_404_not_403(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    session_id = await new_session(client)
    path = f"{SESSIONS}/{session_id}"

    answers = [
        await client.get(path, headers=BOB),
        await client.get(path, headers=LEGAL),
        await say(client, session_id, {"content": "hi"}, BOB),
        await client.delete(path, headers=LEGAL),
    ]

    assert [r.status_code for r in answers] == [404] * 4
    assert {r.json()["error"]["code"] for r in answers} == {"session_not_found"}
    assert chat.calls == []
    assert (await client.get(path, headers=HEADERS)).status_code == 200


async def test_delete_is_204_then_404(client: httpx.AsyncClient) -> None:
    session_id = await new_session(client)
    path = f"{SESSIONS}/{session_id}"

    deleted = await client.delete(path, headers=HEADERS)

    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(path, headers=HEADERS)).status_code == 404
    assert (await client.delete(path, headers=HEADERS)).status_code == 404


async def test_idle_sessions_expire_and_each_write_pushes_the_expiry(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    start = gateway.now()
    ttl = timedelta(seconds=gateway.settings.gateway_session_ttl_seconds)
    kept, idle = await new_session(client), await new_session(client)
    now = [start + ttl / 2]
    rewire_chat(gateway, calls=dataclasses.replace(gateway.chat.calls, now=lambda: now[0]))
    reply = await say(client, kept, {"content": "still here"})
    now[0] = start + ttl + timedelta(seconds=1)

    assert datetime.fromisoformat(reply.json()["expires_at"]) == start + ttl / 2 + ttl
    assert (await client.get(f"{SESSIONS}/{kept}", headers=HEADERS)).status_code == 200
    expired = await client.get(f"{SESSIONS}/{idle}", headers=HEADERS)
    assert expired.status_code == 404
    assert (await say(client, idle, {"content": "hello?"})).status_code == 404


async def test_a_full_session_is_409_before_the_model_is_called(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    rewire_chat(gateway, max_turns=2)
    session_id = await new_session(client)
    for n in range(2):
        assert (await say(client, session_id, {"content": f"m{n}"})).status_code == 200

    full = await say(client, session_id, {"content": "one more"})

    assert full.status_code == 409
    error = full.json()["error"]
    assert error["code"] == "session_full"
    assert "2 turns" in error["message"] and error["details"] == {"turns": 2, "limit": 2}
    assert len(chat.calls) == 2


async def test_bad_ids_messages_and_bodies_are_400_or_413_with_field_errors(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    session_id = await new_session(client)
    limit = gateway.settings.gateway_max_body_bytes

    bad_id = await say(client, "short!", {"content": "hi"})
    empty = await say(client, session_id, {"content": ""})
    too_long = await say(client, session_id, {"content": "x" * 32_001})
    extra = await say(client, session_id, {"content": "hi", "role": "system"})
    huge = await say(client, session_id, {"content": "x" * (limit + 1)})
    bad_stream = await say(client, session_id, {"content": "hi", "stream": "yes"})

    assert bad_id.status_code == 400 and bad_id.json()["error"]["code"] == "invalid_session_id"
    for response, loc in ((empty, "content"), (too_long, "content"), (extra, "role")):
        assert response.status_code == 400
        assert response.json()["error"]["details"][0]["loc"] == [loc]
    assert bad_stream.status_code == 400
    assert bad_stream.json()["error"]["details"][0]["loc"] == ["stream"]
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    assert chat.calls == []


async def test_history_beyond_the_window_is_dropped_and_reported(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    # A 1,400-token window minus 1,024 reserved for the reply leaves 376 tokens per prompt.
    small = {**gateway.settings.aoai_models, "gpt-4o-mini": ModelConfig(context_window=1_400)}
    groups = DeploymentGroups.from_settings(
        gateway.settings.model_copy(update={"aoai_models": small})
    )
    rewire_chat(gateway, calls=dataclasses.replace(gateway.chat.calls, groups=groups))
    chat.replies = ["word " * 60]
    session_id = await new_session(client)

    dropped = [
        (await say(client, session_id, {"content": "word " * 60})).json()["turns_dropped"]
        for _ in range(4)
    ]
    too_big = await say(client, session_id, {"content": "word " * 1_000})

    assert dropped[0] == 0 and dropped[-1] > 0 and dropped == sorted(dropped)
    assert all(call.prompt_tokens <= 376 for call in chat.calls)
    assert too_big.status_code == 413
    error = too_big.json()["error"]
    assert error["code"] == "message_too_large" and error["details"]["limit"] == 376
    assert str(error["details"]["prompt_tokens"]) in error["message"]


async def test_a_failed_model_call_stores_no_turn_and_writes_no_usage(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.replies = [UpstreamUnavailable("down")]
    session_id = await new_session(client)

    failed = await say(client, session_id, {"content": "hi"})

    assert failed.status_code == 503
    history = await client.get(f"{SESSIONS}/{session_id}", headers=HEADERS)
    assert history.json()["turns"] == []
    assert await records(gateway) == 0


async def test_chat_is_not_a_one_shot_use_case(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/chat", json={"content": "hi"}, headers=HEADERS)
    unknown = await client.post(SESSIONS, json={"use_case": "summarize"}, headers=HEADERS)

    assert response.status_code == 404
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_use_case"


async def test_a_sync_only_turn_under_overload_is_429_with_retry_after_and_not_metered(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    session_id = await new_session(client)
    chat.replies = [NoCapacity("busy", retry_after=4.2)]
    busy = await say(client, session_id, {"content": "Anyone there?"})

    assert busy.status_code == 429
    assert busy.json()["error"]["code"] == "capacity_exhausted"
    assert busy.headers["retry-after"] == "5"  # rounded up: never retry before quota frees
    assert await records(gateway) == 0
    history = (await client.get(f"{SESSIONS}/{session_id}", headers=HEADERS)).json()
    assert history["turns"] == []
