"""What APIM imports: apim/openapi.json is current, valid OpenAPI 3.0, and its operations are
exactly the HTTP functions function_app.py registers (one path per use case for v1/{usecase})."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator

from functions.openapi_http import registered_routes
from scripts.apim_openapi import DEFAULT_PATH, render
from scripts.openapi30 import Unconvertible, convert_schema, to_openapi30
from shared.catalog import Catalog
from tests.infra import bicep

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Registered HTTP functions APIM deliberately does not expose, with the reason.
NOT_IMPORTED = {
    ("dev/signin", "GET"): "the local developer sign-in; refused in Azure",
    ("dev/signin", "POST"): "the local developer sign-in; refused in Azure",
    ("dev/session", "GET"): "the local developer sign-in; refused in Azure",
    ("dev/session", "DELETE"): "the local developer sign-in; refused in Azure",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    return loaded


def test_the_committed_document_is_what_the_code_generates_now() -> None:
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), (
        "apim/openapi.json is stale: run `.venv/bin/python -m scripts.apim_openapi`"
    )


def test_it_is_valid_openapi_3_0(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.0.3"
    OpenAPIV30SpecValidator(document).validate()
    text = json.dumps(document)
    assert '"const"' not in text and '{"type": "null"}' not in text


def test_its_operations_are_exactly_the_registered_http_functions(
    document: dict[str, Any],
) -> None:
    usecases = {u.id for u in Catalog.load().all() if u.output.kind != "chat"}
    imported = set()
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            route = path.lstrip("/")
            name = route.removeprefix("v1/")
            if route.startswith("v1/") and name in usecases and method == "post":
                route = "v1/{usecase}"  # one path per use case, one function for them all
            imported.add((route, method.upper()))
    param = re.compile(r"\{[^}]*\}")
    registered = {(param.sub("{}", r), m) for r, m in registered_routes()}
    assert set(NOT_IMPORTED) <= registered, "NOT_IMPORTED names routes that no longer exist"
    expected = registered - {(param.sub("{}", r), m) for r, m in NOT_IMPORTED}
    assert {(param.sub("{}", r), m) for r, m in imported} == expected
    paths = {p.lstrip("/") for p in document["paths"]}
    assert {f"v1/{u}" for u in usecases} <= paths


def test_bicep_imports_this_file_with_query_parameters_kept_as_query() -> None:
    api = bicep.resource(bicep.module("apim"), "api")["properties"]
    assert api["format"] == "openapi+json"
    assert api["translateRequiredQueryParameters"] == "query"  # report's from/to stay query
    assert "apim/openapi.json" in json.dumps(api["value"])
    assert api["path"] == "api"  # the APIM URL mirrors the Functions one: <gateway>/api/v1/...
    assert api["serviceUrl"] == "https://${functionAppHostName}/api"


def test_null_branches_become_nullable() -> None:
    ref = {"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}], "default": None}
    assert convert_schema(ref, "#") == {
        "default": None,
        "nullable": True,
        "allOf": [{"$ref": "#/components/schemas/X"}],
    }
    plain = {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}], "title": "Day"}
    assert convert_schema(plain, "#") == {
        "type": "string",
        "format": "date",
        "title": "Day",
        "nullable": True,
    }
    assert convert_schema({"type": ["integer", "null"]}, "#") == {
        "type": "integer",
        "nullable": True,
    }


def test_const_becomes_a_one_value_enum_at_any_depth() -> None:
    schema = {"properties": {"s": {"anyOf": [{"const": "all"}, {"type": "array"}]}}}
    converted = convert_schema(schema, "#")
    assert converted["properties"]["s"]["anyOf"][0] == {"enum": ["all"]}


def test_what_3_0_cannot_say_is_refused_not_dropped() -> None:
    with pytest.raises(Unconvertible, match="prefixItems"):
        convert_schema({"type": "array", "prefixItems": [{"type": "string"}]}, "#/x")
    with pytest.raises(Unconvertible, match="not one type"):
        convert_schema({"type": ["string", "integer"]}, "#/x")
    with pytest.raises(Unconvertible, match=r"3\.1"):
        to_openapi30({"openapi": "3.0.3", "paths": {}})


def test_the_input_document_is_left_as_it_was() -> None:
    original: dict[str, Any] = {
        "openapi": "3.1.0",
        "paths": {},
        "components": {"schemas": {"A": {"const": 1}}},
    }
    to_openapi30(original)
    assert original["components"]["schemas"]["A"] == {"const": 1}


def test_the_file_apim_imports_is_not_in_the_app_package() -> None:
    text = (Path(__file__).resolve().parents[2] / ".funcignore").read_text(encoding="utf-8")
    assert "apim" in text.split()
