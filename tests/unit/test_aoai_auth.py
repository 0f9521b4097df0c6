"""Azure OpenAI credentials: chosen by AOAI_AUTH and the key setting, never by the URL."""

from __future__ import annotations

import pytest

from shared.composition.adapters import NO_CREDENTIAL, deployment_credential
from shared.settings import DeploymentConfig, Settings, SettingsError

LOOPBACK = "http://127.0.0.1:7072"


def deployment(endpoint: str = LOOPBACK, key_setting: str = "") -> DeploymentConfig:
    return DeploymentConfig.model_validate(
        {
            "name": "east",
            "endpoint": endpoint,
            "model": "gpt-4o-mini",
            "region": "eastus",
            "tpm": 1000,
            "api_key_setting": key_setting,
        }
    )


async def token() -> str:
    return "entra-token"


def test_a_loopback_endpoint_still_authenticates_with_entra_id() -> None:
    credential = deployment_credential(deployment(LOOPBACK), "entra", token, {})
    assert credential is token


def test_a_configured_key_is_always_used() -> None:
    config = deployment(LOOPBACK, key_setting="EAST_KEY")
    for auth in ("entra", "key", "none"):
        assert deployment_credential(config, auth, token, {"EAST_KEY": "k-1"}) == "k-1"


def test_none_sends_no_credential() -> None:
    assert deployment_credential(deployment(), "none", None, {}) == NO_CREDENTIAL


def test_an_empty_key_setting_fails_naming_it() -> None:
    with pytest.raises(SettingsError, match="EAST_KEY"):
        deployment_credential(deployment(key_setting="EAST_KEY"), "entra", token, {})


def test_key_mode_needs_every_deployment_to_name_its_key() -> None:
    with pytest.raises(ValueError, match="AOAI_AUTH=key"):
        Settings(aoai_auth="key", aoai_deployments=[deployment()])
    Settings(aoai_auth="key", aoai_deployments=[deployment(key_setting="EAST_KEY")])
