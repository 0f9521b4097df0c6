"""apim/policy.xml parses and keeps the promises the gateway relies on (docs/apim.md)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

POLICY = Path(__file__).resolve().parents[2] / "apim" / "policy.xml"
IDENTITY_HEADERS = ("x-business-unit", "x-user-id", "x-user-roles")


def policy_root() -> ET.Element:
    return ET.parse(POLICY).getroot()  # noqa: S314 - our own file from the repository


@pytest.fixture(scope="module")
def inbound() -> list[ET.Element]:
    root = policy_root()
    assert root.tag == "policies"
    section = root.find("inbound")
    assert section is not None
    return list(section)


def header_ops(elements: list[ET.Element], name: str) -> list[str]:
    return [
        e.get("exists-action", "")
        for e in elements
        if e.tag == "set-header" and e.get("name", "").lower() == name
    ]


def position(elements: list[ET.Element], tag: str) -> int:
    return next(i for i, e in enumerate(elements) if e.tag == tag)


def test_every_section_is_present_and_inherits() -> None:
    root = policy_root()
    assert [child.tag for child in root] == ["inbound", "backend", "outbound", "on-error"]
    for section in ("inbound", "outbound", "on-error"):
        assert root.find(f"{section}/base") is not None


@pytest.mark.parametrize("header", [*IDENTITY_HEADERS, "x-functions-key"])
def test_client_copies_are_deleted_before_apim_sets_its_own(
    inbound: list[ET.Element], header: str
) -> None:
    assert header_ops(inbound, header) == ["delete", "override"]


def test_token_is_validated_against_the_tenant(inbound: list[ET.Element]) -> None:
    jwt = inbound[position(inbound, "validate-jwt")]
    assert jwt.get("require-signed-tokens") == "true"
    assert jwt.get("require-expiration-time") == "true"
    assert jwt.get("output-token-variable-name") == "jwt"
    config = jwt.find("openid-config")
    assert config is not None and "{{genai-gateway-tenant-id}}" in config.get("url", "")
    assert [a.text for a in jwt.iter("audience")] == ["{{genai-gateway-audience}}"]
    assert jwt.find("issuers/issuer") is not None


def test_identity_headers_are_set_only_after_the_token_is_valid(
    inbound: list[ET.Element],
) -> None:
    validated = position(inbound, "validate-jwt")
    for header in IDENTITY_HEADERS:
        override = next(
            i
            for i, e in enumerate(inbound)
            if e.tag == "set-header"
            and e.get("name") == header
            and e.get("exists-action") == "override"
        )
        assert override > validated
    unit = next(e for e in inbound if e.get("name") == "businessUnit")
    assert "context.Product" in unit.get("value", "")


def test_token_limit_per_subscription(inbound: list[ET.Element]) -> None:
    limit = inbound[position(inbound, "llm-token-limit")]
    assert "context.Subscription" in limit.get("counter-key", "")
    assert int(limit.get("tokens-per-minute", "0")) > 0
    assert limit.get("estimate-prompt-tokens") in ("true", "false")


def test_function_key_comes_from_a_named_value_only(inbound: list[ET.Element]) -> None:
    key = next(
        e
        for e in inbound
        if e.get("name") == "x-functions-key" and e.get("exists-action") == "override"
    )
    value = key.find("value")
    assert value is not None and value.text == "{{genai-gateway-function-key}}"
    assert header_ops(inbound, "ocp-apim-subscription-key") == ["delete"]


def test_request_id_passes_through() -> None:
    root = policy_root()
    outbound = [e for e in root.iterfind("outbound/set-header") if e.get("name") == "x-request-id"]
    assert [e.get("exists-action") for e in outbound] == ["skip"]  # the gateway's id wins
