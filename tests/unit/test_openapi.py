"""The OpenAPI document: valid 3.1, true to the registered functions and to the answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from devhost.host import indexed_app
from functions.openapi_http import registered_routes
from scripts.write_openapi import main as write_openapi
from shared.catalog import Catalog
from shared.composition.root import Gateway
from shared.openapi.document import build_document
from shared.settings import Settings
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

TEXT = "The quarterly report shows revenue up 12% while costs stayed flat."
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(Catalog.load(), Settings(), registered_routes())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def check(document: dict[str, Any], path: str, method: str, response: httpx.Response) -> None:
    """The answer's status is documented for the operation and its body fits the schema."""
    documented = document["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (path, response.status_code)
    answer = documented[str(response.status_code)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    media = response.headers["content-type"].split(";")[0]
    schema = answer["content"][media]["schema"]
    validator = OAS31Validator({**schema, "components": document["components"]})
    errors = [e.message for e in validator.iter_errors(response.json())]
    assert not errors, (path, errors)
    assert "x-request-id" in response.headers


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)  # type: ignore[arg-type, unused-ignore]
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api"}]


def test_every_registered_route_is_documented_and_nothing_else(document: dict[str, Any]) -> None:
    served = {(fn.route, m.lower()) for fn in indexed_app().http for m in fn.methods}
    runnable = [u.id for u in Catalog.load().all() if u.output.kind != "chat"]
    expected = {(f"/{route}", method) for route, method in served if route != "v1/{usecase}"}
    expected |= {(f"/v1/{uc}", "post") for uc in runnable if ("v1/{usecase}", "post") in served}
    assert {(path, method) for path, method, _ in operations(document)} == expected


def test_each_use_case_takes_its_input_model(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for usecase in Catalog.load().all():
        if usecase.output.kind == "chat":
            continue
        name = usecase.id.title().replace("-", "")
        request = schemas[f"{name}Request"]
        fields = usecase.input_model.model_json_schema()["properties"]
        assert set(request["properties"]) == {*fields, "stream"}
        answer = schemas[f"{name}Answer"]
        assert usecase.output.field in answer["required"]
        op = document["paths"][f"/v1/{usecase.id}"]["post"]
        assert ("202" in op["responses"]) is usecase.async_allowed


def test_caller_headers_are_required_parameters_and_errors_share_one_schema(
    document: dict[str, Any],
) -> None:
    params = document["components"]["parameters"]
    assert params["BusinessUnit"]["required"] and params["UserId"]["required"]
    assert params["BusinessUnit"]["schema"]["enum"] == ["finance", "legal", "marketing"]
    for path, method, op in operations(document):
        refs = [p.get("$ref", "") for p in op.get("parameters", [])]
        anonymous = path.startswith(("/health", "/dev/")) or path == "/openapi.json"
        assert anonymous or "#/components/parameters/BusinessUnit" in refs, (path, method)
        assert anonymous or "#/components/parameters/UserId" in refs, (path, method)
        for status, answer in op["responses"].items():
            if int(status) >= 400 and path != "/health/ready":
                assert answer == {"$ref": f"#/components/responses/Error{status}"}
    for name, response in document["components"]["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, name
    assert document["paths"]["/health"]["get"]["security"] == []


def test_jwt_mode_documents_a_bearer_token_instead_of_headers() -> None:
    settings = Settings(
        gateway_caller_auth="jwt",
        auth_issuer="https://login.microsoftonline.com/t/v2.0",
        auth_audience="api://gateway",
        auth_jwks_url="https://login.microsoftonline.com/t/discovery/v2.0/keys",
    )
    document = build_document(Catalog.load(), settings)
    validate(document)  # type: ignore[arg-type, unused-ignore]
    op = document["paths"]["/v1/summarize"]["post"]
    assert {"bearer": []} in op["security"]
    assert not [p for p in op.get("parameters", []) if "BusinessUnit" in p.get("$ref", "")]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_answers_built_outside_the_result_classes_fit_their_schemas(
    client: httpx.AsyncClient, gateway: Gateway, document: dict[str, Any]
) -> None:
    # Jobs, sessions, listings, reports and health answer with the very classes the document's
    # schemas come from. What is still built apart is checked here: a use case's answer (its
    # field is named by the catalog) and the error map's body, and which statuses are documented.
    post = "/v1/summarize"
    answer = await client.post(f"/api{post}", json={"text": TEXT}, headers=HEADERS)
    check(document, post, "post", answer)
    queued = await client.post(
        f"/api{post}", json={"text": "other"}, headers={**HEADERS, "prefer": "respond-async"}
    )
    check(document, post, "post", queued)
    invalid = await client.post(f"/api{post}", json={"text": ""}, headers=HEADERS)
    check(document, post, "post", invalid)
    anonymous = await client.post(f"/api{post}", json={"text": TEXT})
    check(document, post, "post", anonymous)


async def test_the_document_is_served_and_written(
    client: httpx.AsyncClient, document: dict[str, Any], tmp_path: Path
) -> None:
    served = await client.get("/api/openapi.json")
    assert served.status_code == 200
    assert served.json()["paths"].keys() == document["paths"].keys()
    assert served.json()["components"] == json.loads(json.dumps(document["components"]))

    target = tmp_path / "openapi.json"
    assert write_openapi([str(target)]) == 0
    written = json.loads(target.read_text(encoding="utf-8"))
    validate(written)
    assert written["paths"].keys() == document["paths"].keys()


def test_every_answer_documents_finish_reason_and_truncated(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    answers = [f"{u.id.title().replace('-', '')}Answer" for u in Catalog.load().all()]
    answers = [name for name in answers if name in schemas]
    assert len(answers) == len([u for u in Catalog.load().all() if u.output.kind != "chat"])
    for name in [*answers, "ChatReply"]:
        assert {"finish_reason", "truncated"} <= set(schemas[name]["required"]), name


async def test_a_cut_answer_and_a_chat_turn_fit_their_documented_schemas(
    client: httpx.AsyncClient, chat: FakeChatModel, document: dict[str, Any]
) -> None:
    chat.finish_reason = "length"
    cut = await client.post("/api/v1/summarize", json={"text": TEXT}, headers=HEADERS)
    check(document, "/v1/summarize", "post", cut)
    invalid = await client.post("/api/v1/classify", json={"text": TEXT}, headers=HEADERS)
    check(document, "/v1/classify", "post", invalid)
    session = await client.post("/api/v1/chat/sessions", headers=HEADERS)
    path = "/v1/chat/sessions/{session_id}/messages"
    turn = await client.post(
        f"/api{path.format(session_id=session.json()['session_id'])}",
        json={"content": "Hello"},
        headers=HEADERS,
    )
    check(document, path, "post", turn)
    assert cut.json()["truncated"] and turn.json()["truncated"] and invalid.status_code == 502


async def test_a_default_period_report_fits_its_documented_schema(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    await client.post("/api/v1/summarize", json={"text": TEXT}, headers=HEADERS)
    finance = {**HEADERS, "x-user-roles": "finance"}
    report = await client.get("/api/v1/reports/chargeback", headers=finance)
    check(document, "/v1/reports/chargeback", "get", report)
    op = document["paths"]["/v1/reports/chargeback"]["get"]
    assert "x-report-as-of" in op["responses"]["200"]["headers"]
    assert report.headers["x-report-as-of"] == report.json()["as_of"]
    params = {p["name"]: p for p in op["parameters"] if "name" in p}
    assert not params["from"]["required"] and not params["to"]["required"]
