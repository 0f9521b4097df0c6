"""Errors that tell a newcomer what to do: where chat lives, the closest use-case names, and
which business unit value was refused."""

from __future__ import annotations

import httpx

from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

TEXT = {"text": "Revenue rose 12% in Q3."}


async def test_posting_to_chat_points_to_the_sessions_endpoint(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    listed = await client.get("/api/v1/usecases", headers=HEADERS)
    response = await client.post("/api/v1/chat", json={"content": "hi"}, headers=HEADERS)

    chat_path = {u["id"]: u["path"] for u in listed.json()["use_cases"]}["chat"]
    error = response.json()["error"]
    assert response.status_code == 404 and error["code"] == "unknown_use_case"
    assert error["details"] == {"use_case": "chat", "path": chat_path}
    assert "POST /api/v1/chat/sessions" in error["message"]
    assert "/api/v1/chat/sessions/{session_id}/messages" in error["message"]
    assert "no use case" not in error["message"]
    assert chat.calls == []


async def test_a_misspelt_use_case_gets_the_closest_names(client: httpx.AsyncClient) -> None:
    typo = await client.post("/api/v1/sumarize", json=TEXT, headers=HEADERS)
    capital = await client.post("/api/v1/Classify", json=TEXT, headers=HEADERS)
    nothing_near = await client.post("/api/v1/translate-everything", json=TEXT, headers=HEADERS)

    assert typo.status_code == capital.status_code == nothing_near.status_code == 404
    assert typo.json()["error"]["details"] == {"suggestions": ["summarize"]}
    assert "did you mean 'summarize'?" in typo.json()["error"]["message"]
    assert capital.json()["error"]["details"] == {"suggestions": ["classify"]}
    far = nothing_near.json()["error"]
    assert far["details"] == {"suggestions": []} and "did you mean" not in far["message"]
    assert "GET /api/v1/usecases" in far["message"]


async def test_suggestions_are_only_use_cases_the_unit_may_run(
    client: httpx.AsyncClient,
) -> None:
    # "chat" is close to "chats" but is not run on this route; nothing else is close.
    response = await client.post("/api/v1/chats", json=TEXT, headers=HEADERS)

    assert response.json()["error"]["details"] == {"suggestions": []}


async def test_an_unknown_business_unit_is_named_and_a_case_slip_gets_the_real_id(
    client: httpx.AsyncClient,
) -> None:
    capital = await client.get(
        "/api/v1/usecases", headers={**HEADERS, "x-business-unit": "Marketing"}
    )
    pirates = await client.get(
        "/api/v1/usecases", headers={**HEADERS, "x-business-unit": "pirates"}
    )

    assert capital.status_code == pirates.status_code == 403
    error = capital.json()["error"]
    assert error["code"] == "unknown_business_unit"
    assert error["details"] == {"business_unit": "Marketing"}
    assert "'Marketing' is not enabled" in error["message"]
    assert "did you mean 'marketing'?" in error["message"]
    other = pirates.json()["error"]
    assert "'pirates' is not enabled" in other["message"] and "did you mean" not in other["message"]
