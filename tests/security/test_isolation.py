"""Business units stay apart: another unit's (or user's) job, session, cache entry or usage is
invisible, and "not yours" looks exactly like "does not exist" (404, same code)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devhost.host import indexed_app
from shared.composition.root import Gateway
from shared.domain.upstream import NoCapacity
from shared.handlers.prepare import cache_key
from tests.fakes import FakeChatModel

ALICE = {"x-business-unit": "marketing", "x-user-id": "alice@contoso.com"}
BOB = {"x-business-unit": "marketing", "x-user-id": "bob@contoso.com"}
# Same user id in another unit: isolation is by unit first, not by user name.
ALICE_IN_LEGAL = {"x-business-unit": "legal", "x-user-id": "alice@contoso.com"}
OUTSIDERS = [BOB, ALICE_IN_LEGAL]
TEXT = "Quarterly revenue rose 12% while costs stayed flat."


def has_route(fragment: str) -> bool:
    return any(fragment in fn.route for fn in indexed_app().http)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_jobs_of_another_unit_or_user_are_404(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    chat.replies = [NoCapacity("busy", retry_after=5.0)]
    queued = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=ALICE)
    assert queued.status_code == 202
    url = queued.headers["location"]

    assert (await client.get(url, headers=ALICE)).status_code == 200
    missing = await client.get("/api/v1/jobs/0123456789abcdef0123456789abcdef", headers=ALICE)
    for outsider in OUTSIDERS:
        other = await client.get(url, headers=outsider)
        assert other.status_code == 404
        assert error_code(other) == error_code(missing) == "job_not_found"
        assert other.json()["error"]["message"] == missing.json()["error"]["message"]


@pytest.mark.skipif(not has_route("chat/sessions"), reason="chat sessions not built yet")
async def test_chat_sessions_of_another_unit_or_user_are_404(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    created = await client.post("/api/v1/chat/sessions", headers=ALICE)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    said = await client.post(f"{url}/messages", json={"content": "secret plan"}, headers=ALICE)
    assert said.status_code == 200, said.text
    calls = len(chat.calls)

    for outsider in OUTSIDERS:
        read = await client.get(url, headers=outsider)
        write = await client.post(f"{url}/messages", json={"content": "hi"}, headers=outsider)
        delete = await client.delete(url, headers=outsider)
        for response in (read, write, delete):
            assert response.status_code == 404, response.text
            assert error_code(response) == "session_not_found"
            assert "secret plan" not in response.text
    assert len(chat.calls) == calls  # no outsider turn reached the model
    still = await client.get(url, headers=ALICE)
    assert still.status_code == 200 and len(still.json()["turns"]) == 1


async def test_same_text_from_another_unit_is_not_a_cache_hit(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    first = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=ALICE)
    again = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=BOB)
    other = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=ALICE_IN_LEGAL)

    assert first.json()["cached"] is False
    assert again.json()["cached"] is True  # the cache is per unit, shared by its users
    assert other.json()["cached"] is False
    assert len(chat.calls) == 2


def test_cache_key_includes_the_unit_unless_the_use_case_is_shareable(gateway: Gateway) -> None:
    usecase = gateway.catalog.get("summarize")
    assert usecase is not None and not usecase.cache.shareable
    shared = usecase.model_copy(
        update={"cache": usecase.cache.model_copy(update={"shareable": True})}
    )
    args: tuple[Any, ...] = ("gpt-4o-mini", (), None)

    assert cache_key(usecase, "marketing", *args) != cache_key(usecase, "legal", *args)
    assert cache_key(shared, "marketing", *args) == cache_key(shared, "legal", *args)


async def test_usage_is_recorded_under_the_callers_unit_only(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    response = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=ALICE)
    request_id = response.json()["request_id"]
    month = gateway.now().strftime("%Y-%m")

    assert await gateway.stores.ledger.get("marketing", month, request_id) is not None
    assert await gateway.stores.ledger.get("legal", month, request_id) is None
    assert await gateway.stores.ledger.list_partition("legal", month) == []


@pytest.mark.skipif(not has_route("reports/chargeback"), reason="reports not built yet")
async def test_a_units_chargeback_never_includes_another_unit(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    await client.post("/api/v1/summarize", json={"text": TEXT}, headers=ALICE)
    await client.post("/api/v1/summarize", json={"text": TEXT + " legal"}, headers=ALICE_IN_LEGAL)
    today = gateway.now().date().isoformat()
    query = f"from={today}&to={today}&refresh=true&group_by=business_unit,use_case"

    own = await client.get(f"/api/v1/reports/chargeback?{query}", headers=ALICE)
    assert own.status_code == 200, own.text
    report = own.json()
    assert report["business_units"] == ["marketing"]
    assert {row["business_unit"] for row in report["rows"]} == {"marketing"}
    assert report["totals"]["calls"] == 1
    for variant in (f"{query}&format=csv", query):
        path = "chargeback" if "csv" in variant else "chargeback.html"
        rendered = await client.get(f"/api/v1/reports/{path}?{variant}", headers=ALICE)
        assert rendered.status_code == 200 and "legal" not in rendered.text.lower()

    asked = await client.get(
        f"/api/v1/reports/chargeback?{query}&business_unit=legal", headers=ALICE
    )
    assert asked.status_code == 403
    assert error_code(asked) == "report_forbidden"
