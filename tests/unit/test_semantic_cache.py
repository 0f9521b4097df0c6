"""The semantic cache through the classify endpoint, on fakes: what it serves, what it refuses,
how it is metered, and how a caller sees and bypasses it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from pydantic import ValidationError

from shared.catalog import CachePolicy, Catalog
from shared.composition.root import Gateway
from shared.deployment_groups import DeploymentGroups
from shared.domain.caller import Caller
from shared.domain.upstream import UpstreamUnavailable
from shared.domain.usage import UsageRecord
from shared.handlers.prepare import prepare
from shared.handlers.semantic_cache import EMBED_SUFFIX, semantic_partition
from shared.settings import Settings
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel, FakeEmbeddings, opt_in_semantic, with_semantic_cache

LEGAL = {"x-business-unit": "legal", "x-user-id": "bob@contoso.com"}
ORIGINAL = "I was charged twice for my subscription this month."
REWORDED = "This month I was charged twice for my subscription."


@pytest.fixture
async def embeddings(gateway: Gateway, chat: FakeChatModel) -> AsyncIterator[FakeEmbeddings]:
    fake = FakeEmbeddings()
    opt_in_semantic(gateway, "classify", embeddings=fake)
    chat.replies = ['{"label": "billing"}']
    yield fake


async def classify(client: httpx.AsyncClient, text: str, **headers: str) -> httpx.Response:
    return await client.post("/api/v1/classify", json={"text": text}, headers=HEADERS | headers)


async def records(gateway: Gateway, unit: str = "marketing") -> list[UsageRecord]:
    month = gateway.now().strftime("%Y-%m")
    return list(await gateway.stores.ledger.list_partition(unit, month))


async def test_a_rewording_is_served_from_the_semantic_cache_and_says_so(
    client: httpx.AsyncClient, chat: FakeChatModel, embeddings: FakeEmbeddings
) -> None:
    first = await classify(client, ORIGINAL)
    second = await classify(client, REWORDED)

    assert first.status_code == second.status_code == 200
    assert first.headers["x-gateway-cache"] == "miss"
    assert len(chat.calls) == 1
    body = second.json()
    assert body["label"] == "billing" and body["cached"] is True
    assert (body["finish_reason"], body["truncated"]) == ("stop", False)
    assert body["cache"]["kind"] == "semantic"
    assert 0.92 <= body["cache"]["similarity"] < 1.0
    assert second.headers["x-gateway-cache"] == "semantic"
    assert float(second.headers["x-gateway-cache-similarity"]) == body["cache"]["similarity"]
    assert [r.texts for r in embeddings.requests] == [(ORIGINAL,), (REWORDED,)]


async def test_a_near_miss_is_never_served(
    client: httpx.AsyncClient, chat: FakeChatModel, embeddings: FakeEmbeddings
) -> None:
    await classify(client, "Please refund order 1042, it arrived broken.")
    answer = await classify(client, "Please refund order 1043, it arrived broken.")
    assert answer.json()["cached"] is False
    assert answer.headers["x-gateway-cache"] == "miss"
    assert len(chat.calls) == 2


async def test_an_identical_prompt_is_an_exact_hit_with_no_embedding_call(
    client: httpx.AsyncClient, chat: FakeChatModel, embeddings: FakeEmbeddings
) -> None:
    await classify(client, ORIGINAL)
    again = await classify(client, ORIGINAL)
    assert again.headers["x-gateway-cache"] == "exact" and again.json()["cached"] is True
    assert "cache" not in again.json()
    assert len(embeddings.requests) == 1 and len(chat.calls) == 1


async def test_never_across_business_units(
    client: httpx.AsyncClient, chat: FakeChatModel, embeddings: FakeEmbeddings
) -> None:
    await classify(client, ORIGINAL)
    other = await classify(client, REWORDED, **LEGAL)
    assert other.json()["cached"] is False
    assert len(chat.calls) == 2


async def test_cache_control_no_cache_answers_fresh_and_no_store_keeps_nothing(
    client: httpx.AsyncClient, chat: FakeChatModel, embeddings: FakeEmbeddings
) -> None:
    await classify(client, ORIGINAL)
    fresh = await classify(client, ORIGINAL, **{"cache-control": "no-cache"})
    assert fresh.headers["x-gateway-cache"] == "bypass" and fresh.json()["cached"] is False
    assert len(chat.calls) == 2
    assert len(embeddings.requests) == 1  # no lookup, so nothing to embed
    unstored = "Why was my card charged twice for the same order?"
    await classify(client, unstored, **{"cache-control": "no-store"})
    again = await classify(client, unstored)
    assert again.json()["cached"] is False and len(chat.calls) == 4


async def test_embedding_tokens_are_metered_per_unit_and_savings_are_net_of_them(
    client: httpx.AsyncClient, gateway: Gateway, embeddings: FakeEmbeddings
) -> None:
    first = (await classify(client, ORIGINAL)).json()
    second = (await classify(client, REWORDED)).json()

    ledger = {r.request_id: r for r in await records(gateway)}
    embedded = [
        ledger[first["request_id"] + EMBED_SUFFIX],
        ledger[second["request_id"] + EMBED_SUFFIX],
    ]
    tokens = [embeddings.tokenizer.count(ORIGINAL), embeddings.tokenizer.count(REWORDED)]
    assert [r.prompt_tokens for r in embedded] == tokens
    assert all(r.model == "text-embedding-3-small" and r.use_case == "classify" for r in embedded)
    assert all(r.outcome == "ok" and not r.cache_hit and r.latency_ms >= 0 for r in embedded)
    assert all(
        r.cost == Decimal(t) * Decimal("0.02") / 10**6
        for r, t in zip(embedded, tokens, strict=True)
    )
    hit = ledger[second["request_id"]]
    model_call = ledger[first["request_id"]]
    prices = gateway.meter.prices
    gross = prices.charge(
        "gpt-4o-mini", hit.created_at, model_call.prompt_tokens, 0, model_call.completion_tokens
    ).cost
    assert hit.cache_hit and hit.cost == 0
    assert hit.savings == gross - embedded[1].cost
    # What each answer says it cost: its model call (if any) plus its embeddings call.
    assert Decimal(first["cost"]) == model_call.cost + embedded[0].cost
    assert Decimal(second["cost"]) == embedded[1].cost
    assert (hit.saved_prompt_tokens, hit.saved_completion_tokens) == (
        model_call.prompt_tokens,
        model_call.completion_tokens,
    )


def test_the_partition_changes_with_unit_version_templates_and_parameters() -> None:
    usecase = with_semantic_cache(Catalog.load(), "classify").get("classify")
    assert usecase is not None and usecase.cache.mode == "semantic"
    models = DeploymentGroups.from_settings(Settings())
    marketing = Caller("marketing", "a")

    def partition(caller: Caller = marketing, **changes: object) -> str:
        changed = usecase.model_copy(update=changes)
        return semantic_partition(prepare(changed, caller, {"text": "x"}, "r", models))

    base = partition()
    assert partition() == base
    assert partition(Caller("legal", "a")) != base
    assert partition(version="2") != base
    assert partition(system_template=usecase.system_template + " ") != base
    assert partition(temperature=0.5) != base
    # The free text itself is not in the partition: that is what similarity is for.
    other_text = semantic_partition(prepare(usecase, marketing, {"text": "y"}, "r", models))
    assert other_text == base


def test_a_semantic_cache_shared_across_units_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="never shared across business units"):
        CachePolicy(mode="semantic", shareable=True)


async def test_the_chargeback_report_shows_the_embeddings_per_unit_and_model(
    client: httpx.AsyncClient, gateway: Gateway, embeddings: FakeEmbeddings
) -> None:
    await classify(client, ORIGINAL)
    await classify(client, REWORDED)
    day = gateway.now().date().isoformat()
    params = {"from": day, "to": day, "group_by": "business_unit,model", "refresh": "true"}
    report = await client.get("/api/v1/reports/chargeback", params=params, headers=HEADERS)

    assert report.status_code == 200, report.text
    rows = {(r["business_unit"], r["model"]): r for r in report.json()["rows"]}
    embedded = rows[("marketing", "text-embedding-3-small")]
    tokens = sum(embeddings.tokenizer.count(t) for t in (ORIGINAL, REWORDED))
    assert (embedded["calls"], embedded["prompt_tokens"]) == (2, tokens)
    # Priced at 0.02 USD per 1M tokens; the report rounds to the micro-dollar.
    exact = tokens * Decimal("0.02") / 10**6
    assert Decimal(embedded["cost"]) == exact.quantize(Decimal("0.000001"))
    chat = rows[("marketing", "gpt-4o-mini")]
    assert (chat["calls"], chat["cache_hits"]) == (1, 1)


async def test_without_embeddings_the_model_still_answers(
    client: httpx.AsyncClient, chat: FakeChatModel, embeddings: FakeEmbeddings
) -> None:
    embeddings.fail_with = UpstreamUnavailable("embeddings down", deployment="fake-embed")
    answer = await classify(client, ORIGINAL)
    assert answer.status_code == 200 and answer.json()["label"] == "billing"
    assert answer.headers["x-gateway-cache"] == "miss"
    assert len(chat.calls) == 1


async def test_a_streamed_text_use_case_replays_a_semantic_hit(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel, embeddings: FakeEmbeddings
) -> None:
    opt_in_semantic(gateway, "summarize", similarity=0.9, embeddings=embeddings)
    chat.replies = ["Charged twice this month."]
    first = await client.post(
        "/api/v1/summarize", json={"text": ORIGINAL, "stream": True}, headers=HEADERS
    )
    second = await client.post(
        "/api/v1/summarize", json={"text": REWORDED, "stream": True}, headers=HEADERS
    )
    assert first.headers["x-gateway-cache"] == "miss"
    assert second.headers["x-gateway-cache"] == "semantic"
    assert '"kind":"semantic"' in second.text and "Charged twice this month." in second.text
    assert len(chat.calls) == 1


def test_no_shipped_use_case_opts_in() -> None:
    """Off by default: an operator opts a use case in (docs/semantic_cache.md)."""
    assert [u.id for u in Catalog.load().all() if u.cache.mode == "semantic"] == []


async def test_the_embeddings_call_has_an_intent_that_its_settlement_closes(
    client: httpx.AsyncClient, gateway: Gateway, embeddings: FakeEmbeddings
) -> None:
    first = (await classify(client, ORIGINAL)).json()
    embed_id = first["request_id"] + EMBED_SUFFIX
    assert await gateway.stores.intents.get("marketing", embed_id) is None  # settled, closed
    failing = FakeEmbeddings(fail_with=UpstreamUnavailable("down", deployment="fake-embed"))
    opt_in_semantic(gateway, "classify", embeddings=failing)
    second = (await classify(client, "My invoice lists a seat I never ordered.")).json()
    # Failed upstream: released, nothing billed, no record and no intent left behind.
    embed_id = second["request_id"] + EMBED_SUFFIX
    assert await gateway.stores.intents.get("marketing", embed_id) is None
    assert embed_id not in {r.request_id for r in await records(gateway)}
