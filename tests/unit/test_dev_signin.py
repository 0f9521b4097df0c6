"""The developer sign-in: a signed cookie names the caller when no identity header is sent."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.auth.dev_signin import COOKIE_NAME, DevSignIn, DevSignInCallerResolver
from shared.auth.header_caller import HeaderCallerResolver
from shared.composition.root import Gateway, build_callers
from shared.domain.caller import Caller
from shared.domain.errors import Unauthorized
from shared.http.dev_signin_page import safe_next
from shared.settings import Settings

FORM = {"content-type": "application/x-www-form-urlencoded"}
UNITS = frozenset({"marketing", "legal", "finance"})


async def sign_in(client: httpx.AsyncClient, body: str) -> httpx.Response:
    return await client.post("/api/dev/signin", content=body, headers=FORM)


async def test_signing_in_sets_a_cookie_that_names_the_caller(client: httpx.AsyncClient) -> None:
    form = await client.get("/api/dev/signin", params={"next": "/#chat"})
    assert form.status_code == 200
    assert 'name="business_unit"' in form.text and 'value="legal"' in form.text

    signed = await sign_in(client, "business_unit=legal&user_id=lea%40contoso.com&next=/%23chat")
    assert signed.status_code == 303 and signed.headers["location"] == "/#chat"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "Path=/api" in cookie

    session = await client.get("/api/dev/session")
    listed = await client.get("/api/v1/usecases")
    assert session.json() == {"business_unit": "legal", "user_id": "lea@contoso.com", "roles": []}
    assert listed.status_code == 200, listed.text


async def test_headers_win_over_the_cookie(client: httpx.AsyncClient, gateway: Gateway) -> None:
    await sign_in(client, "business_unit=legal&user_id=lea")
    caller = await gateway.callers.resolve(
        {"x-business-unit": "marketing", "x-user-id": "bob", "cookie": _cookie(client)}
    )
    assert caller == Caller("marketing", "bob")


async def test_a_tampered_cookie_is_no_identity(client: httpx.AsyncClient) -> None:
    await sign_in(client, "business_unit=legal&user_id=lea&roles=finance")
    value = _cookie(client).split("=", 1)[1]
    payload, signature = value.split(".")
    client.cookies.clear()
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    client.cookies.set(COOKIE_NAME, f"{forged}.{signature}", path="/api")
    answer = await client.get("/api/v1/usecases")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "missing_business_unit"


async def test_a_refused_identity_goes_back_to_the_form_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    answer = await sign_in(client, "business_unit=sales&user_id=x&next=//evil.example/")
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    query = parse_qs(location.query)
    assert location.path == "/api/dev/signin"
    assert query["next"] == ["/"]  # never an off-site redirect
    assert "not enabled" in query["error"][0]
    assert "set-cookie" not in answer.headers


async def test_the_report_page_sends_a_browser_with_no_identity_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/api/v1/reports/chargeback.html?from=2026-01-01&to=2026-01-31")
    assert page.status_code == 303
    target = urlsplit(page.headers["location"])
    assert target.path == "/api/dev/signin"
    assert parse_qs(target.query)["next"] == [
        "/api/v1/reports/chargeback.html?from=2026-01-01&to=2026-01-31"
    ]


async def test_signing_out_clears_the_cookie(client: httpx.AsyncClient) -> None:
    await sign_in(client, "business_unit=legal&user_id=lea")
    out = await client.delete("/api/dev/session")
    assert out.status_code == 204 and "Max-Age=0" in out.headers["set-cookie"]
    assert (await client.get("/api/dev/session")).status_code == 401


async def test_a_form_must_be_form_encoded(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/dev/signin", json={"business_unit": "legal"})
    assert answer.status_code == 415


def test_an_expired_cookie_is_no_identity(tmp_path: Path) -> None:
    signin = DevSignIn(tmp_path, UNITS)
    value = signin.issue(Caller("legal", "lea"), now=time.time() - 13 * 3600)
    assert signin.read(value) is None
    assert signin.read(signin.issue(Caller("legal", "lea"))) == Caller("legal", "lea")


def test_the_key_survives_a_restart_and_is_private(tmp_path: Path) -> None:
    value = DevSignIn(tmp_path, UNITS).issue(Caller("finance", "cfo", frozenset({"finance"})))
    assert DevSignIn(tmp_path, UNITS).read(value) == Caller(
        "finance", "cfo", frozenset({"finance"})
    )
    assert (tmp_path / "dev-signin.key").stat().st_mode & 0o077 == 0
    assert DevSignIn(tmp_path / "other", UNITS).read(value) is None


def test_a_unit_removed_since_sign_in_is_no_identity(tmp_path: Path) -> None:
    value = DevSignIn(tmp_path, UNITS).issue(Caller("legal", "lea"))
    assert DevSignIn(tmp_path, frozenset({"marketing"})).read(value) is None


@pytest.mark.parametrize("path", ["https://evil.example", "//evil.example", "/\\evil", "x", ""])
def test_next_is_a_path_on_this_site(path: str) -> None:
    assert safe_next(path) == "/"
    assert safe_next("/api/v1/reports/chargeback.html?a=1") == "/api/v1/reports/chargeback.html?a=1"


async def test_off_means_plain_headers_mode(tmp_path: Path) -> None:
    resolver = build_callers(Settings(gateway_data_dir=tmp_path, gateway_dev_signin=False))
    assert type(resolver) is HeaderCallerResolver
    on = build_callers(Settings(gateway_data_dir=tmp_path))
    assert isinstance(on, DevSignInCallerResolver)
    with pytest.raises(Unauthorized):
        await on.resolve({"cookie": f"{COOKIE_NAME}=garbage"})


def _cookie(client: httpx.AsyncClient) -> str:
    return f"{COOKIE_NAME}={client.cookies[COOKIE_NAME]}"
