"""The use-case catalog: shipped templates render, output contracts hold, and a new use case is
added as data alone (a folder with usecase.json and its templates; no Python)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.catalog import USECASES_DIR, Catalog
from shared.composition.embedded import open_embedded_queue, open_embedded_stores
from shared.composition.root import Gateway, assemble, use_gateway
from shared.domain.usage import UsageRecord
from shared.settings import Settings
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

TEXT = "Invoice 42 from Contoso to Fabrikam, dated 2025-03-01, total 1200.50 EUR."
PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_]")
SHIPPED = ("chat", "classify", "extract", "summarize")
EXTRACTED = {
    "parties": ["Contoso", "Fabrikam"],
    "dates": ["2025-03-01"],
    "total_amount": 1200.5,
    "currency": "EUR",
}
VALID_EXTRACT = json.dumps(EXTRACTED)

TRANSLATE = {
    "id": "translate",
    "version": "1",
    "description": "Translate a short text into one of the supported languages.",
    "deployment_group": "gpt-4o-mini",
    "max_input_tokens": 4000,
    "max_output_tokens": 400,
    "business_units": ["legal"],
    "input": {
        "text": {"type": "string", "min_length": 1, "max_length": 8000},
        "language": {"type": "string", "enum": ["French", "German", "Spanish"]},
    },
    "output": {"kind": "text", "field": "translation"},
    "prompt": {"system": "system.v1.txt", "user": "user.v1.txt"},
}


def sample_payload(input_model: type[Any]) -> dict[str, Any]:
    """The smallest valid input: required strings get a sentence, enums their first value."""
    schema = input_model.model_json_schema()
    payload: dict[str, Any] = {}
    for name in schema.get("required", []):
        spec = schema["properties"][name]
        payload[name] = spec["enum"][0] if "enum" in spec else TEXT
    return input_model.model_validate(payload).model_dump()  # type: ignore[no-any-return]


async def ledger(gateway: Gateway, business_unit: str = "marketing") -> list[UsageRecord]:
    month = gateway.now().strftime("%Y-%m")
    return list(await gateway.stores.ledger.list_partition(business_unit, month))


def test_every_shipped_use_case_renders_its_templates() -> None:
    catalog = Catalog.load()
    assert sorted(u.id for u in catalog.all()) == list(SHIPPED)
    for usecase in catalog.all():
        messages = usecase.render(sample_payload(usecase.input_model))

        assert messages[0].role == "system" and messages[0].content.strip(), usecase.id
        for message in messages:
            assert not PLACEHOLDER.search(message.content), (usecase.id, message.content)
        if usecase.user_template:
            assert TEXT in messages[-1].content
    classify = catalog.get("classify")
    assert (
        classify is not None and "billing, technical" in classify.render({"text": "x"})[0].content
    )


async def test_classify_retries_an_invalid_label_once_and_meters_both_calls(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel
) -> None:
    chat.replies = ['{"label": "weather"}', '{"label": "billing"}']
    response = await client.post("/api/v1/classify", json={"text": TEXT}, headers=HEADERS)

    assert response.status_code == 200, response.text
    assert response.json()["label"] == "billing"
    request_id = response.json()["request_id"]
    outcomes = {r.request_id: r.outcome for r in await ledger(gateway)}
    assert outcomes == {request_id: "error", f"{request_id}-r1": "ok"}


@pytest.mark.parametrize(
    ("usecase", "bad"),
    [
        ("classify", "definitely billing"),
        ("extract", "{not json"),
        ("extract", json.dumps({"parties": ["Contoso"]})),  # valid JSON, fails the schema
        # A model coaxed into what json.loads cannot take (RecursionError, ValueError).
        ("extract", "[" * 5_000 + "]" * 5_000),
        ("extract", '{"total": ' + "9" * 5_000 + "}"),
        ("classify", '{"label": ' + "9" * 5_000 + "}"),
    ],
    ids=["label", "not-json", "schema", "deep", "digits", "label-digits"],
)
async def test_output_failing_its_contract_twice_is_502_and_not_cached(
    client: httpx.AsyncClient, gateway: Gateway, chat: FakeChatModel, usecase: str, bad: str
) -> None:
    chat.replies = [bad]
    first = await client.post(f"/api/v1/{usecase}", json={"text": TEXT}, headers=HEADERS)
    second = await client.post(f"/api/v1/{usecase}", json={"text": TEXT}, headers=HEADERS)

    assert first.status_code == 502
    assert first.json()["error"]["code"] == "invalid_model_output"
    assert second.status_code == 502 and len(chat.calls) == 4  # nothing was cached
    assert [r.outcome for r in await ledger(gateway)] == ["error"] * 4


async def test_extract_returns_schema_valid_json_after_one_invalid_answer(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    chat.replies = ["{not json", VALID_EXTRACT]
    response = await client.post("/api/v1/extract", json={"text": TEXT}, headers=HEADERS)

    assert response.status_code == 200, response.text
    assert response.json()["data"] == EXTRACTED
    schema_format = chat.calls[0].response_format
    assert schema_format is not None and schema_format["json_schema"]["strict"] is True


@pytest.fixture
def catalog_root(tmp_path: Path) -> Path:
    """The shipped use cases plus a fifth one, written as data only."""
    root = tmp_path / "usecases"
    shutil.copytree(USECASES_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / "translate"
    folder.mkdir()
    (folder / "usecase.json").write_text(json.dumps(TRANSLATE), encoding="utf-8")
    (folder / "system.v1.txt").write_text(
        "You translate business text into $language. Answer with the translation only.",
        encoding="utf-8",
    )
    (folder / "user.v1.txt").write_text('Text:\n"""\n$text\n"""\n', encoding="utf-8")
    return root


@pytest.fixture
async def five_use_cases(
    client: httpx.AsyncClient, settings: Settings, chat: FakeChatModel, catalog_root: Path
) -> AsyncIterator[Gateway]:
    """A gateway on the tmp catalog, installed after (so instead of) the default one."""
    data_dir = settings.gateway_data_dir / "five"
    data_dir.mkdir()
    stores, queue = open_embedded_stores(data_dir), open_embedded_queue(data_dir)
    gw = assemble(settings, stores, queue, chat, receiver=queue, catalog=Catalog.load(catalog_root))
    use_gateway(gw)
    yield gw
    await stores.close()
    await queue.close()


async def test_a_fifth_use_case_needs_no_python(
    client: httpx.AsyncClient, five_use_cases: Gateway, chat: FakeChatModel
) -> None:
    chat.replies = ["Facture 42 de Contoso à Fabrikam."]
    legal = {**HEADERS, "x-business-unit": "legal"}
    body = {"text": TEXT, "language": "French"}

    response = await client.post("/api/v1/translate", json=body, headers=legal)
    bad = await client.post(
        "/api/v1/translate", json={**body, "language": "Klingon"}, headers=legal
    )

    assert response.status_code == 200, response.text
    assert response.json()["translation"] == "Facture 42 de Contoso à Fabrikam."
    assert response.json()["use_case"] == {"id": "translate", "version": "1"}
    assert "into French" in chat.calls[0].messages[0].content
    assert TEXT in chat.calls[0].messages[1].content
    [record] = await ledger(five_use_cases, "legal")
    assert (record.use_case, record.outcome) == ("translate", "ok")
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["loc"] == ["language"]


async def test_listing_shows_only_what_the_business_unit_may_use_with_schemas(
    client: httpx.AsyncClient, five_use_cases: Gateway
) -> None:
    legal = await client.get("/api/v1/usecases", headers={**HEADERS, "x-business-unit": "legal"})
    marketing = await client.get("/api/v1/usecases", headers=HEADERS)
    refused = await client.post(
        "/api/v1/translate", json={"text": "hi", "language": "German"}, headers=HEADERS
    )

    legal_ids = {u["id"]: u for u in legal.json()["use_cases"]}
    assert sorted(legal_ids) == sorted((*SHIPPED, "translate"))
    assert sorted(u["id"] for u in marketing.json()["use_cases"]) == list(SHIPPED)
    schema = legal_ids["translate"]["input_schema"]
    assert schema["required"] == ["text", "language"]
    assert schema["properties"]["language"]["enum"] == ["French", "German", "Spanish"]
    assert legal_ids["chat"]["path"] == "/api/v1/chat/sessions"
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "use_case_not_allowed"
