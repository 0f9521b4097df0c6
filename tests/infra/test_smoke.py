"""The smoke check, run against the app served in process (trusted-headers mode stands in for
APIM's identity headers; the bearer token and subscription key are sent and ignored here)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from scripts.smoke import smoke
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel


@pytest.fixture
async def caller(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    headers = {**HEADERS, "authorization": "Bearer x", "ocp-apim-subscription-key": "k"}
    yield httpx.AsyncClient(transport=client._transport, base_url="http://gateway", headers=headers)


async def test_a_healthy_deployment_passes_and_says_what_it_checked(
    caller: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await smoke(caller) == 0
    out = capsys.readouterr().out
    for line in ("GET /api/health: 200", "GET /api/health/ready: 200", "POST /api/v1/summarize"):
        assert f"ok   {line}" in out
    assert "ok   the call is on the chargeback report" in out
    assert "FAIL" not in out


async def test_a_failing_use_case_fails_the_check(
    caller: httpx.AsyncClient, chat: FakeChatModel, capsys: pytest.CaptureFixture[str]
) -> None:
    chat.replies = [RuntimeError("the model is down")]
    assert await smoke(caller) == 1
    out = capsys.readouterr().out
    assert "ok   GET /api/health: 200" in out
    assert "FAIL POST /api/v1/summarize: 500" in out
