"""GATEWAY_CALLER_AUTH=jwt: every forged, stale or misdirected token is a 401 with its own code.

The gateway fetches the JWKS over real HTTP from a loopback server (tests/security/conftest.py).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.composition.root import Gateway
from shared.settings import Settings
from tests.fakes import FakeChatModel
from tests.security.conftest import (
    AUDIENCE,
    ISSUER,
    JwksServer,
    SigningKey,
    TokenFactory,
    b64url,
    raw_token,
    rsa_key,
)

USECASES = "/api/v1/usecases"


@pytest.fixture
def settings(tmp_path: Path, jwks_server: JwksServer) -> Settings:
    return Settings(
        gateway_data_dir=tmp_path,
        gateway_caller_auth="jwt",
        auth_issuer=f"https://sts.windows.net/00000000-0000-0000-0000-0000000000aa/,{ISSUER}",
        auth_audience=AUDIENCE,
        auth_jwks_url=jwks_server.url,
    )


async def call(client: httpx.AsyncClient, token: str | None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.get(USECASES, headers=headers)


def assert_401(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    assert error["code"] == code
    assert response.headers["www-authenticate"].startswith("Bearer ")
    return error


async def test_valid_rs256_and_es256_tokens_pass(
    client: httpx.AsyncClient, tokens: TokenFactory, ec_signing_key: SigningKey
) -> None:
    assert (await call(client, tokens.token())).status_code == 200
    assert (await call(client, tokens.token(key=ec_signing_key))).status_code == 200


async def test_claims_name_the_caller_and_headers_cannot_override_them(
    client: httpx.AsyncClient, gateway: Gateway, tokens: TokenFactory
) -> None:
    token = tokens.token(roles=["finance", "bad role!"])
    spoofed = {"x-business-unit": "legal", "x-user-id": "mallory", "x-user-roles": "admin"}
    caller = await gateway.callers.resolve({"authorization": f"Bearer {token}", **spoofed})

    assert caller.business_unit == "marketing"
    assert caller.user_id == tokens.claims()["oid"]
    assert caller.roles == frozenset({"finance"})


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"exp": int(time.time()) - 3600}, "token_expired"),
        ({"nbf": int(time.time()) + 3600}, "token_not_yet_valid"),
        ({"aud": "api://someone-else"}, "invalid_audience"),
        ({"iss": "https://login.microsoftonline.com/evil-tenant/v2.0"}, "invalid_issuer"),
        ({"exp": None}, "missing_claim"),
        ({"aud": None}, "missing_claim"),
    ],
    ids=["expired", "not-yet-valid", "wrong-audience", "wrong-issuer", "no-exp", "no-aud"],
)
async def test_bad_claims_are_401(
    client: httpx.AsyncClient, tokens: TokenFactory, claims: dict[str, Any], code: str
) -> None:
    assert_401(await call(client, tokens.token(**claims)), code)


async def test_expiry_has_a_small_leeway_for_clock_skew(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await call(client, tokens.token(exp=int(time.time()) - 20))
    assert response.status_code == 200


async def test_missing_exp_names_the_claim(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    error = assert_401(await call(client, tokens.token(exp=None)), "missing_claim")
    assert error["details"] == {"claim": "exp"}


async def test_signature_by_another_key_with_the_same_kid_is_401(
    client: httpx.AsyncClient, tokens: TokenFactory, signing_key: SigningKey
) -> None:
    impostor = SigningKey(signing_key.kid, "RS256", rsa_key("x").private)
    assert_401(await call(client, tokens.token(key=impostor)), "invalid_signature")


async def test_tampered_payload_is_401(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    header, _, signature = tokens.token().split(".")
    forged = b64url(b'{"business_unit": "legal"}')
    assert_401(await call(client, f"{header}.{forged}.{signature}"), "invalid_signature")


@pytest.mark.parametrize("alg", ["none", "None", "", ["RS256"], None])
async def test_alg_none_or_odd_is_401(
    client: httpx.AsyncClient, tokens: TokenFactory, alg: object
) -> None:
    token = raw_token({"alg": alg, "typ": "JWT", "kid": tokens.key.kid}, tokens.claims())
    assert_401(await call(client, token), "unsupported_algorithm")


async def test_hs256_signed_with_the_public_key_is_401(
    client: httpx.AsyncClient, tokens: TokenFactory, signing_key: SigningKey
) -> None:
    # The classic confusion: HMAC keyed with the published RSA key, hoping the verifier agrees.
    header = {"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}
    unsigned = raw_token(header, tokens.claims()).rsplit(".", 1)[0]
    secret = signing_key.jwk()["n"].encode()
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    assert_401(await call(client, f"{unsigned}.{b64url(signature)}"), "unsupported_algorithm")


async def test_header_alg_that_does_not_match_the_key_is_401(
    client: httpx.AsyncClient, tokens: TokenFactory, signing_key: SigningKey
) -> None:
    # ES256 claimed for an RSA key: the key, not the token, decides the algorithm.
    _, claims, signature = tokens.token().split(".")
    relabelled = b64url(b'{"alg":"ES256","typ":"JWT","kid":"%s"}' % signing_key.kid.encode())
    assert_401(await call(client, f"{relabelled}.{claims}.{signature}"), "unsupported_algorithm")


async def test_unknown_kid_is_401_and_cannot_force_refetches(
    client: httpx.AsyncClient, tokens: TokenFactory, jwks_server: JwksServer
) -> None:
    stranger = rsa_key("not-the-tenants")
    for _ in range(5):
        assert_401(await call(client, tokens.token(key=stranger)), "unknown_key")
    # One fetch: the refetch on an unknown kid waits 30 s (test_jwks_cache.py covers rotation).
    assert jwks_server.hits == 1


async def test_no_kid_is_401(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    _, claims, signature = tokens.token().split(".")
    no_kid = b64url(b'{"alg":"RS256","typ":"JWT"}')
    assert_401(await call(client, f"{no_kid}.{claims}.{signature}"), "unknown_key")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_token"),
        ("Basic YWxpY2U6c2VjcmV0", "missing_token"),
        ("Bearer ", "missing_token"),
        ("Bearer not.a.jwt", "malformed_token"),
        ("Bearer " + "a" * 20_000, "malformed_token"),
    ],
    ids=["absent", "basic", "empty", "garbage", "huge"],
)
async def test_missing_or_malformed_authorization_is_401(
    client: httpx.AsyncClient, authorization: str | None, code: str
) -> None:
    headers = {"x-business-unit": "marketing", "x-user-id": "alice"}  # ignored in jwt mode
    if authorization is not None:
        headers["authorization"] = authorization
    assert_401(await client.get(USECASES, headers=headers), code)


async def test_missing_identity_claims_are_401_and_unknown_unit_is_403(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    no_unit = await call(client, tokens.token(business_unit=None))
    no_user = await call(client, tokens.token(oid=None))
    two_units = await call(client, tokens.token(business_unit=["marketing", "legal"]))
    unknown = await call(client, tokens.token(business_unit="pirates"))

    assert (no_unit.status_code, no_unit.json()["error"]["code"]) == (401, "missing_business_unit")
    assert (no_user.status_code, no_user.json()["error"]["code"]) == (401, "missing_user")
    assert two_units.json()["error"]["code"] == "missing_business_unit"
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (403, "unknown_business_unit")


async def test_usage_is_charged_to_the_tokens_unit_not_the_header(
    client: httpx.AsyncClient, gateway: Gateway, tokens: TokenFactory, chat: FakeChatModel
) -> None:
    response = await client.post(
        "/api/v1/summarize",
        json={"text": "Revenue is up."},
        headers={"authorization": f"Bearer {tokens.token()}", "x-business-unit": "legal"},
    )
    assert response.status_code == 200, response.text
    month = gateway.now().strftime("%Y-%m")
    rid = response.json()["request_id"]
    assert await gateway.stores.ledger.get("legal", month, rid) is None
    record = await gateway.stores.ledger.get("marketing", month, rid)
    assert record is not None and record.user_id == tokens.claims()["oid"]


async def test_jwks_down_at_first_use_is_503_not_401(
    client: httpx.AsyncClient, tokens: TokenFactory, jwks_server: JwksServer
) -> None:
    jwks_server.down = True
    response = await call(client, tokens.token())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "jwks_unavailable"
    assert "retry-after" in response.headers
