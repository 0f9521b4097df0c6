"""Headers mode is refused at start in Azure unless explicitly allowed; JWKS must be HTTPS."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.auth.header_caller import HeaderCallerResolver
from shared.auth.jwt_caller import JwtCallerResolver
from shared.composition.root import build_callers
from shared.settings import Settings, SettingsError

ISSUER = "https://login.microsoftonline.com/t/v2.0"


def jwt_settings(tmp_path: Path, jwks_url: str) -> Settings:
    return Settings(
        gateway_data_dir=tmp_path,
        gateway_caller_auth="jwt",
        auth_issuer=ISSUER,
        auth_audience="api://genai-gateway",
        auth_jwks_url=jwks_url,
    )


def test_headers_mode_in_azure_is_refused_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "a1b2c3")
    with pytest.raises(SettingsError) as refused:
        build_callers(Settings(gateway_data_dir=tmp_path))
    message = str(refused.value)
    assert "WEBSITE_INSTANCE_ID" in message
    assert "GATEWAY_CALLER_AUTH=jwt" in message
    assert "GATEWAY_ALLOW_TRUSTED_HEADERS_IN_AZURE=true" in message


def test_headers_mode_in_azure_when_explicitly_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "a1b2c3")
    settings = Settings(
        gateway_data_dir=tmp_path,
        gateway_allow_trusted_headers_in_azure=True,
        gateway_dev_signin=False,
    )
    assert isinstance(build_callers(settings), HeaderCallerResolver)


def test_dev_signin_in_azure_is_refused_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "a1b2c3")
    settings = Settings(gateway_data_dir=tmp_path, gateway_allow_trusted_headers_in_azure=True)
    with pytest.raises(SettingsError) as refused:
        build_callers(settings)
    assert "GATEWAY_DEV_SIGNIN=false" in str(refused.value)


def test_headers_mode_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBSITE_INSTANCE_ID", raising=False)
    assert isinstance(build_callers(Settings(gateway_data_dir=tmp_path)), HeaderCallerResolver)


def test_jwt_mode_in_azure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "a1b2c3")
    url = "https://login.microsoftonline.com/t/discovery/v2.0/keys"
    assert isinstance(build_callers(jwt_settings(tmp_path, url)), JwtCallerResolver)


@pytest.mark.parametrize(
    "url", ["http://login.microsoftonline.com/keys", "file:///etc/keys.json", "https://"]
)
def test_jwks_url_must_be_https(tmp_path: Path, url: str) -> None:
    with pytest.raises(SettingsError, match="AUTH_JWKS_URL"):
        build_callers(jwt_settings(tmp_path, url))
