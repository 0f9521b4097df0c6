"""apim/policy.xml parses and keeps the promises the gateway relies on (docs/apim.md)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.infra import bicep

POLICY = Path(__file__).resolve().parents[2] / "apim" / "policy.xml"
CORS = POLICY.with_name("cors.xml")
IDENTITY_HEADERS = ("x-business-unit", "x-user-id", "x-user-roles")
# validate-content's documented maximum max-size:
# https://learn.microsoft.com/azure/api-management/validate-content-policy
VALIDATE_CONTENT_MAX = 102_400
V2 = {"BasicV2", "StandardV2", "PremiumV2"}
# The tiers of every policy element our policies use, from each policy's "Applies to" line
# (https://learn.microsoft.com/azure/api-management/api-management-policies). A new element
# must be added here, with its tiers, before the policy may use it.
CLASSIC = {"Developer", "Basic", "Standard", "Premium"}
ALL_TIERS = CLASSIC | V2 | {"Consumption"}
POLICY_TIERS = {
    "policies": ALL_TIERS,
    "inbound": ALL_TIERS,
    "backend": ALL_TIERS,
    "outbound": ALL_TIERS,
    "on-error": ALL_TIERS,
    "base": ALL_TIERS,
    "set-header": ALL_TIERS,
    "value": ALL_TIERS,
    "set-query-parameter": ALL_TIERS,
    "set-variable": ALL_TIERS,
    "choose": ALL_TIERS,
    "when": ALL_TIERS,
    "return-response": ALL_TIERS,
    "set-status": ALL_TIERS,
    "set-body": ALL_TIERS,
    "forward-request": ALL_TIERS,
    "validate-content": ALL_TIERS,
    "validate-jwt": ALL_TIERS,
    "openid-config": ALL_TIERS,
    "audiences": ALL_TIERS,
    "audience": ALL_TIERS,
    "issuers": ALL_TIERS,
    "issuer": ALL_TIERS,
    "cors": ALL_TIERS,
    "allowed-origins": ALL_TIERS,
    "origin": ALL_TIERS,
    "allowed-methods": ALL_TIERS,
    "method": ALL_TIERS,
    "allowed-headers": ALL_TIERS,
    "expose-headers": ALL_TIERS,
    "header": ALL_TIERS,
    # Not in Consumption: the reason the gateway needs a v2 (or classic) tier.
    "rate-limit-by-key": CLASSIC | V2,
    "llm-token-limit": CLASSIC | V2,
}


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
    limits = [e for e in inbound if e.tag == "rate-limit-by-key"]
    tokens = [e for e in limits if e.get("calls") == "{{genai-gateway-tokens-per-minute}}"]
    assert len(tokens) == 1 and "context.Subscription" in tokens[0].get("counter-key", "")
    # llm-token-limit counts an OpenAI chat-completions "usage", which our answers do not carry.
    assert not [e for e in inbound if e.tag.startswith("llm-")]
    calls = [e for e in limits if e.get("calls") == "{{genai-gateway-calls-per-minute}}"]
    assert len(calls) == 1
    # The call cap comes before anything costly: the body check and the token validation.
    assert inbound.index(calls[0]) < position(inbound, "validate-content")
    assert inbound.index(calls[0]) < position(inbound, "validate-jwt")


def test_body_cap_is_within_apims_limit_and_equals_the_apps(inbound: list[ET.Element]) -> None:
    content = inbound[position(inbound, "validate-content")]
    size = int(content.get("max-size", "0"))
    assert 0 < size <= VALIDATE_CONTENT_MAX
    assert content.get("size-exceeded-action") == "prevent"
    # The app refuses the same bodies (GATEWAY_MAX_BODY_BYTES in infra/).
    assert bicep.main()["variables"]["maxBodyBytes"]["value"] == size
    assert bicep.module_params("functionApp")["maxBodyBytes"] == "maxBodyBytes"


@pytest.mark.parametrize("path", [POLICY, CORS], ids=lambda p: p.name)
def test_every_policy_exists_in_every_tier_infra_allows(path: Path) -> None:
    tiers = set(bicep.allowed(bicep.main(), "apimSku"))
    assert tiers == set(bicep.allowed(bicep.module("apim"), "sku"))
    root = ET.parse(path).getroot()  # noqa: S314 - our own file from the repository
    for element in root.iter():
        assert element.tag in POLICY_TIERS, f"add {element.tag!r} and its tiers to POLICY_TIERS"
        missing = tiers - POLICY_TIERS[element.tag]
        assert not missing, f"{element.tag} does not exist in {missing}"


def test_every_named_value_the_policy_reads_is_created() -> None:
    used = set(re.findall(r"\{\{([a-z0-9-]+)\}\}", POLICY.read_text(encoding="utf-8")))
    apim = bicep.module("apim")
    created = {v["name"] for v in apim["variables"]["plainValues"]["value"]}
    created.add(bicep.resource(apim, "functionKey")["name"])
    assert used == created
    key = bicep.resource(apim, "functionKey")["properties"]
    assert key["secret"] is True and "host/default" in json.dumps(key["value"])


def test_cors_answers_the_preflight_for_the_configured_origins() -> None:
    root = ET.parse(CORS).getroot()  # noqa: S314 - our own file from the repository
    cors = root.find("inbound/cors")
    assert cors is not None and cors.get("allow-credentials") == "false"
    assert [o.text for o in cors.iter("origin")] == ["__ORIGINS__"]  # replaced by apim.bicep
    assert "<origin>__ORIGINS__</origin>" in json.dumps(
        bicep.resource(bicep.module("apim"), "corsPolicy")["properties"]["value"]
    )
    allowed = {h.text for h in cors.iterfind("allowed-headers/header")}
    assert {"Authorization", "Content-Type", "Ocp-Apim-Subscription-Key", "Prefer"} <= allowed
    exposed = {h.text for h in cors.iterfind("expose-headers/header")}
    assert {"x-request-id", "Retry-After", "Location"} <= exposed


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


def test_cors_is_answered_at_global_scope_not_here(inbound: list[ET.Element]) -> None:
    # apim/cors.xml runs before this policy's <base />: a preflight needs no key or token.
    assert not [e for e in inbound if e.tag == "cors"]
    assert inbound[0].tag == "base"
