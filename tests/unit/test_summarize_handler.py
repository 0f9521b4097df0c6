"""The summarize use case through its registered function, on fakes (no network)."""

from __future__ import annotations

import httpx

from shared.composition.root import Gateway
from shared.domain.upstream import NoCapacity, UpstreamRejected
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

TEXT = "The quarterly report shows revenue up 12% while costs stayed flat."


async def summarize(client: httpx.AsyncClient, body: object, **headers: str) -> httpx.Response:
    return await client.post("/api/v1/summarize", json=body, headers={**HEADERS, **headers})


async def test_miss_calls_model_and_meters_one_record(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    response = await summarize(client, {"text": TEXT, "max_words": 50})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"] == "A short summary."
    assert body["cached"] is False
    assert response.headers["x-request-id"] == body["request_id"]
    assert len(chat.calls) == 1
    request = chat.calls[0]
    assert "at most 50 words" in request.messages[0].content
    # max_tokens is sized from max_words (Azure charges it against TPM): 50 * 1.5 + 16.
    assert request.max_tokens == 91
    assert TEXT in request.messages[1].content
    assert body["usage"]["prompt_tokens"] == request.prompt_tokens > 0
    record = await gateway.stores.ledger.get(
        "marketing", gateway.now().strftime("%Y-%m"), body["request_id"]
    )
    assert record is not None
    assert (record.business_unit, record.user_id, record.use_case) == (
        "marketing",
        "alice@contoso.com",
        "summarize",
    )
    assert record.prompt_tokens == request.prompt_tokens
    assert record.completion_tokens == body["usage"]["completion_tokens"] > 0
    assert (record.deployment, record.region, record.model) == (
        "fake-eastus",
        "eastus",
        "gpt-4o-mini",
    )
    assert record.cache_hit is False and record.outcome == "ok"


async def test_second_identical_call_is_a_cache_hit_with_zero_tokens(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    first = (await summarize(client, {"text": TEXT})).json()
    second_response = await summarize(client, {"text": TEXT})
    second = second_response.json()

    assert second["cached"] is True
    assert second["summary"] == first["summary"]
    assert second["usage"]["prompt_tokens"] == second["usage"]["completion_tokens"] == 0
    assert len(chat.calls) == 1
    month = gateway.now().strftime("%Y-%m")
    hit = await gateway.stores.ledger.get("marketing", month, second["request_id"])
    assert hit is not None and hit.cache_hit and hit.outcome == "cache_hit"
    assert hit.prompt_tokens == hit.completion_tokens == 0


async def test_cache_is_scoped_to_the_business_unit(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    await summarize(client, {"text": TEXT})
    other = await summarize(client, {"text": TEXT}, **{"x-business-unit": "legal"})
    assert other.json()["cached"] is False
    assert len(chat.calls) == 2


async def test_oversize_prompt_is_413_naming_both_numbers(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    response = await summarize(client, {"text": "word " * 40_000})

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "prompt_too_large"
    assert str(error["details"]["limit"]) in error["message"]
    assert str(error["details"]["prompt_tokens"]) in error["message"]
    assert error["details"]["prompt_tokens"] > error["details"]["limit"] == 32000
    assert chat.calls == []


async def test_missing_business_unit_is_401_and_unknown_is_403(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    missing = await client.post(
        "/api/v1/summarize", json={"text": TEXT}, headers={"x-user-id": "a"}
    )
    unknown = await summarize(client, {"text": TEXT}, **{"x-business-unit": "pirates"})

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_business_unit"
    assert unknown.status_code == 403
    assert unknown.json()["error"]["code"] == "unknown_business_unit"
    assert chat.calls == []


async def test_malformed_json_is_400_and_bad_field_names_the_field(
    client: httpx.AsyncClient,
) -> None:
    broken = await client.post(
        "/api/v1/summarize",
        content=b'{"text": ',
        headers={**HEADERS, "content-type": "application/json"},
    )
    bad_field = await summarize(client, {"text": TEXT, "max_words": 3})
    unknown_field = await summarize(client, {"text": TEXT, "temperature": 2})

    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_json"
    assert bad_field.status_code == 400
    details = bad_field.json()["error"]["details"]
    assert details[0]["loc"] == ["max_words"]
    assert unknown_field.status_code == 400
    assert unknown_field.json()["error"]["details"][0]["loc"] == ["temperature"]


async def test_every_error_has_the_standard_shape(client: httpx.AsyncClient) -> None:
    responses = [
        await summarize(client, {"text": ""}),
        await client.get("/api/v1/nope", headers=HEADERS),
        await client.post("/api/v1/unknown-usecase", json={"text": "x"}, headers=HEADERS),
    ]
    for response in responses:
        assert response.status_code >= 400
        error = response.json()["error"]
        assert set(error) == {"code", "message", "request_id", "details"}
        assert error["request_id"]


async def test_content_filter_is_400_and_unexpected_error_is_500_without_its_text(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    chat.replies = [
        UpstreamRejected("x", reason="content_filter"),
        RuntimeError("secret db password"),
    ]
    filtered = await summarize(client, {"text": "one"})
    crashed = await summarize(client, {"text": "two"})

    assert filtered.status_code == 400
    assert filtered.json()["error"]["code"] == "content_filtered"
    assert crashed.status_code == 500
    assert "secret" not in crashed.text
    assert crashed.json()["error"]["request_id"] == crashed.headers["x-request-id"]


async def test_no_capacity_queues_async_capable_use_case_as_202(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.replies = [NoCapacity("busy", retry_after=7.0)]
    response = await summarize(client, {"text": TEXT})

    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"
    assert response.headers["retry-after"] == "7"
    assert await gateway.queue.depth() == 1
    job = await client.get(f"/api/v1/jobs/{job_id}", headers=HEADERS)
    assert job.json()["status"] == "queued"


async def test_output_budget_is_capped_by_the_use_case_max(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    await summarize(client, {"text": TEXT, "max_words": 1000})
    assert chat.calls[0].max_tokens == 512
