"""Every answer says why the model stopped (``finish_reason``) and whether it was cut short
(``truncated``): sync, cache hit, async job, chat turn and stream. A cut label or JSON answer
is an invalid output (502), never a success, and is not retried or cached."""

from __future__ import annotations

import json
from typing import Any

import httpx

from shared.composition.root import Gateway
from shared.handlers.job_worker import process_job
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

TEXT = "The quarterly report shows revenue up 12% while costs stayed flat."


async def run(client: httpx.AsyncClient, usecase: str, **extra: Any) -> httpx.Response:
    headers = {**HEADERS, **extra.pop("headers", {})}
    return await client.post(f"/api/v1/{usecase}", json={"text": TEXT, **extra}, headers=headers)


async def ledger_outcomes(gateway: Gateway) -> list[str]:
    month = gateway.now().strftime("%Y-%m")
    return [r.outcome for r in await gateway.stores.ledger.list_partition("marketing", month)]


async def test_a_complete_answer_says_stop_and_not_truncated(client: httpx.AsyncClient) -> None:
    body = (await run(client, "summarize")).json()

    assert (body["finish_reason"], body["truncated"]) == ("stop", False)


async def test_a_cut_summary_is_a_200_that_says_truncated_and_its_cache_hit_too(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    chat.replies = ["Revenue rose while costs"]
    chat.finish_reason = "length"

    miss = await run(client, "summarize", max_words=10)
    hit = await run(client, "summarize", max_words=10)

    assert miss.status_code == hit.status_code == 200
    assert (miss.json()["finish_reason"], miss.json()["truncated"]) == ("length", True)
    assert hit.json()["cached"] is True and len(chat.calls) == 1
    assert (hit.json()["finish_reason"], hit.json()["truncated"]) == ("length", True)


async def test_a_cut_label_is_an_invalid_output_not_retried_nor_cached(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.replies = ["billing"]  # a valid label, but the model was cut off
    chat.finish_reason = "length"

    first = await run(client, "classify")
    again = await run(client, "classify")

    assert first.status_code == again.status_code == 502
    error = first.json()["error"]
    assert error["code"] == "invalid_model_output"
    assert error["details"]["finish_reason"] == "length"
    assert "cut at max_tokens" in error["message"]
    assert len(chat.calls) == 2  # one call per request: no retry, and no cache entry to hit
    assert await ledger_outcomes(gateway) == ["error", "error"]  # both calls are on the books


async def test_a_cut_json_answer_that_still_parses_is_invalid(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    document = {"parties": ["Contoso"], "dates": [], "total_amount": 1250.0, "currency": "EUR"}
    chat.replies = [json.dumps(document)]  # valid for the schema either way

    complete = await run(client, "extract")
    chat.finish_reason = "length"
    cut = await client.post("/api/v1/extract", json={"text": "Invoice 43"}, headers=HEADERS)

    assert complete.status_code == 200, complete.text
    assert complete.json()["data"] == document and complete.json()["truncated"] is False
    assert cut.status_code == 502
    assert cut.json()["error"]["code"] == "invalid_model_output"


async def test_an_async_job_result_carries_finish_reason_and_truncated(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.finish_reason = "length"
    queued = await run(client, "summarize", headers={"prefer": "respond-async"})
    assert queued.status_code == 202
    job_id = queued.json()["job_id"]

    assert await process_job(
        gateway.usecases, {"job_id": job_id, "business_unit": "marketing"}, 1
    ) == ("complete")
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=HEADERS)).json()

    assert job["status"] == "succeeded"
    assert (job["result"]["finish_reason"], job["result"]["truncated"]) == ("length", True)


async def test_a_chat_turn_and_a_stream_say_truncated(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    chat.finish_reason = "length"
    session = (await client.post("/api/v1/chat/sessions", headers=HEADERS)).json()
    messages = f"/api/v1/chat/sessions/{session['session_id']}/messages"

    turn = await client.post(messages, json={"content": "Hello"}, headers=HEADERS)
    stream = await client.post(
        "/api/v1/summarize", json={"text": TEXT, "stream": True}, headers=HEADERS
    )

    assert (turn.json()["finish_reason"], turn.json()["truncated"]) == ("length", True)
    done = [line for line in stream.text.splitlines() if line.startswith("data:")][-1]
    assert json.loads(done.removeprefix("data:"))["truncated"] is True
