"""End to end: the local host and the simulator on loopback, called as a frontend would."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from devhost.host import run_local_host
from shared.settings import Settings

pytestmark = pytest.mark.e2e

HEADERS = {"x-business-unit": "marketing", "x-user-id": "alice@contoso.com"}
TEXT = "The board approved the plan after revenue rose 12% and costs stayed flat in Q3."


async def test_summarize_twice_second_is_a_cache_hit(tmp_path: Path) -> None:
    async with (
        run_local_host(Settings(gateway_data_dir=tmp_path), port=0, simulator_port=0) as local,
        httpx.AsyncClient(base_url=local.base_url, timeout=10) as client,
    ):
        first = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=HEADERS)
        second = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=HEADERS)
        stats = (await client.get(f"{local.simulator_url}/_sim/stats")).json()
        month = local.gateway.now().strftime("%Y-%m")
        miss_record = await local.gateway.stores.ledger.get(
            "marketing", month, first.json()["request_id"]
        )

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    a, b = first.json(), second.json()
    assert a["cached"] is False and b["cached"] is True
    assert a["summary"] and b["summary"] == a["summary"]
    served = [d for d in stats.values() if d["ok"]]
    assert sum(d["ok"] for d in served) == 1  # the hit never reached Azure OpenAI
    assert sum(d["prompt_tokens"] for d in served) == a["usage"]["prompt_tokens"]
    assert sum(d["completion_tokens"] for d in served) == a["usage"]["completion_tokens"]
    assert miss_record is not None and miss_record.deployment.startswith("gpt-4o-mini-")


async def test_unknown_route_and_method_answer_json_errors(tmp_path: Path) -> None:
    async with (
        run_local_host(Settings(gateway_data_dir=tmp_path), port=0, simulator_port=None) as local,
        httpx.AsyncClient(base_url=local.base_url, timeout=10) as client,
    ):
        missing = await client.get("/api/nothing/here", headers=HEADERS)
        wrong_method = await client.delete("/api/v1/usecases", headers=HEADERS)

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["allow"]
