"""TPM/RPM over HTTP: Azure's 429 with exact retry hints, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from shared.domain.chat import Message
from shared.tokenizer import Tokenizer
from simulator.testing import FakeClock, chat_path

MESSAGES = [{"role": "user", "content": "Count to three."}]
PROMPT = Tokenizer("o200k_base").count_messages([Message("user", "Count to three.")])


async def _chat(client: httpx.AsyncClient, max_tokens: int = 400) -> httpx.Response:
    return await client.post(
        chat_path("sim"), json={"messages": MESSAGES, "max_tokens": max_tokens}
    )


async def test_token_quota_exhaustion_gives_azures_429(
    make_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    client = make_client(tpm=1000)
    cost = PROMPT + 400
    assert (await _chat(client)).status_code == 200
    clock.advance(10)
    assert (await _chat(client)).status_code == 200
    clock.advance(10)

    refused = await _chat(client)

    assert refused.status_code == 429
    # The first charge (made 20 s ago) frees its tokens 40 s from now.
    assert refused.headers["retry-after-ms"] == "40000"
    assert refused.headers["retry-after"] == "40"
    assert refused.headers["x-ratelimit-remaining-tokens"] == str(1000 - 2 * cost)
    assert refused.headers["x-ratelimit-remaining-requests"] == str(6 - 2)
    error = refused.json()["error"]
    assert error["code"] == "429"
    assert "exceeded token rate limit" in error["message"]
    assert "API version 2024-10-21" in error["message"]
    assert "Please retry after 40 seconds" in error["message"]


async def test_waiting_retry_after_ms_is_exactly_enough(
    make_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    client = make_client(tpm=1000)
    await _chat(client)
    clock.advance(7.5)
    await _chat(client)
    refused = await _chat(client)
    wait_ms = int(refused.headers["retry-after-ms"])
    assert wait_ms == 52_500

    clock.advance(wait_ms / 1000 - 0.001)
    assert (await _chat(client)).status_code == 429
    clock.advance(0.001)
    assert (await _chat(client)).status_code == 200


async def test_window_slides_and_quota_comes_back(
    make_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    client = make_client(tpm=1000)
    await _chat(client)
    await _chat(client)
    assert (await _chat(client)).status_code == 429

    clock.advance(60)
    back = await _chat(client)

    assert back.status_code == 200
    assert back.headers["x-ratelimit-remaining-tokens"] == str(1000 - PROMPT - 400)


async def test_retry_after_is_in_real_time_under_a_compressed_clock(
    make_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    client = make_client(tpm=1000, time_scale=60.0)  # one real second is a simulated minute
    await _chat(client)
    clock.advance(0.25)  # 15 simulated seconds
    await _chat(client)

    refused = await _chat(client)

    assert refused.headers["retry-after-ms"] == "750"  # 45 simulated s = 0.75 real s
    assert refused.headers["retry-after"] == "1"
    clock.advance(0.75)
    assert (await _chat(client)).status_code == 200


async def test_rpm_limit(make_client: Callable[..., httpx.AsyncClient], clock: FakeClock) -> None:
    client = make_client(tpm=1_000_000, rpm=2)
    await _chat(client, max_tokens=1)
    clock.advance(1)
    ok = await _chat(client, max_tokens=1)
    assert ok.headers["x-ratelimit-remaining-requests"] == "0"

    refused = await _chat(client, max_tokens=1)

    assert refused.status_code == 429
    assert "call rate limit" in refused.json()["error"]["message"]
    assert refused.headers["retry-after-ms"] == "59000"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


async def test_default_rpm_is_six_per_thousand_tpm(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(tpm=1000)  # 6 RPM

    statuses = [(await _chat(client, max_tokens=1)).status_code for _ in range(7)]

    assert statuses == [200] * 6 + [429]


async def test_a_request_costing_more_than_tpm_is_refused(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(tpm=1000)

    refused = await _chat(client, max_tokens=1000)

    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining-tokens"] == "1000"


async def test_live_tpm_change_applies_to_the_next_request(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(tpm=100_000)
    changed = await client.post("/_sim/deployments/sim", json={"tpm": 100})

    assert changed.json()["tpm"] == 100
    assert (await _chat(client, max_tokens=100)).status_code == 429
    bad = await client.post("/_sim/deployments/sim", json={"model": "other"})
    assert bad.status_code == 400
    assert (await client.post("/_sim/deployments/zzz", json={})).status_code == 404


async def test_reset_clears_windows(make_client: Callable[..., httpx.AsyncClient]) -> None:
    client = make_client(tpm=1000)
    await _chat(client)
    await _chat(client)
    assert (await _chat(client)).status_code == 429

    await client.post("/_sim/reset")

    assert (await _chat(client)).status_code == 200
