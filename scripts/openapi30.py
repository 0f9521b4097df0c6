"""Rewrite the app's OpenAPI 3.1 document in the OpenAPI 3.0.3 form that API Management imports.

API Management imports OpenAPI 2.0 and 3.0.x
(https://learn.microsoft.com/azure/api-management/api-management-api-import-restrictions). Our
document is 3.1 (JSON Schema 2020-12), and pydantic's schemas use three things 3.0 does not have:
a ``{"type": "null"}`` branch in ``anyOf`` (3.0 says ``nullable: true``), ``const`` (3.0 has only
``enum``) and ``type`` given as a list. This module rewrites exactly those, leaves everything else
as it is, and refuses (``Unconvertible``) any other 3.1-only keyword, so a new construct in the
generator fails loudly here instead of importing as something else.
"""

from __future__ import annotations

import copy
from typing import Any

OPENAPI_30 = "3.0.3"
# 3.1 / JSON Schema 2020-12 keywords with no 3.0 equivalent: refused, not silently dropped.
_UNSUPPORTED = frozenset(
    {
        "$defs",
        "$schema",
        "$id",
        "prefixItems",
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentRequired",
        "dependentSchemas",
        "patternProperties",
        "propertyNames",
        "contains",
        "if",
        "then",
        "else",
        "contentMediaType",
        "contentEncoding",
        "examples",
    }
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMA_ONE = ("items", "not", "additionalProperties")


class Unconvertible(ValueError):
    """A 3.1 construct with no 3.0 form; the message names where it is."""


def to_openapi30(document: dict[str, Any]) -> dict[str, Any]:
    """A converted deep copy of a 3.1 document (the input is not changed)."""
    if not str(document.get("openapi", "")).startswith("3.1"):
        raise Unconvertible(f"expected an OpenAPI 3.1 document, got {document.get('openapi')!r}")
    out = copy.deepcopy(document)
    out["openapi"] = OPENAPI_30
    for name, schema in out.get("components", {}).get("schemas", {}).items():
        out["components"]["schemas"][name] = convert_schema(schema, f"#/components/schemas/{name}")
    _convert_schema_slots(out.get("paths", {}), "#/paths")
    for section in ("parameters", "responses", "headers", "requestBodies"):
        _convert_schema_slots(out.get("components", {}).get(section, {}), f"#/components/{section}")
    if "webhooks" in out:
        raise Unconvertible("#/webhooks: OpenAPI 3.0 has no webhooks")
    out.pop("jsonSchemaDialect", None)
    return out


def _convert_schema_slots(node: Any, where: str) -> None:
    """Convert every ``schema`` value (parameters, media types, headers) under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict):
                node[key] = convert_schema(value, f"{where}/schema")
            else:
                _convert_schema_slots(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _convert_schema_slots(item, f"{where}/{i}")


def convert_schema(schema: dict[str, Any], where: str) -> dict[str, Any]:
    bad = _UNSUPPORTED.intersection(schema)
    if bad:
        raise Unconvertible(f"{where}: {sorted(bad)} have no OpenAPI 3.0 form")
    out = dict(schema)
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("type"), list):
        out = _type_list(out, where)
    for key in _SUBSCHEMA_LISTS:
        if key in out:
            out[key] = [convert_schema(s, f"{where}/{key}/{i}") for i, s in enumerate(out[key])]
    if "anyOf" in out or "oneOf" in out:
        out = _drop_null_branch(out)
    for key in _SUBSCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = convert_schema(out[key], f"{where}/{key}")
    if "properties" in out:
        out["properties"] = {
            name: convert_schema(sub, f"{where}/properties/{name}")
            for name, sub in out["properties"].items()
        }
    return out


def _type_list(schema: dict[str, Any], where: str) -> dict[str, Any]:
    types = [t for t in schema["type"] if t != "null"]
    nullable = len(types) != len(schema["type"])
    if len(types) != 1:
        raise Unconvertible(f"{where}: type {schema['type']} is not one type (plus null)")
    out = {**schema, "type": types[0]}
    if nullable:
        out["nullable"] = True
    return out


def _drop_null_branch(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {"type": "null"}]`` -> X with ``nullable: true`` (a ``$ref`` X is wrapped in
    ``allOf``, since 3.0 ignores siblings of ``$ref``)."""
    key = "anyOf" if "anyOf" in schema else "oneOf"
    branches = schema[key]
    rest = [b for b in branches if b != {"type": "null"}]
    if len(rest) == len(branches):
        return schema
    out = {k: v for k, v in schema.items() if k != key}
    out["nullable"] = True
    if len(rest) > 1:
        out[key] = rest
    elif "$ref" in rest[0]:
        out["allOf"] = rest
    else:
        out = {**rest[0], **out}
    return out
