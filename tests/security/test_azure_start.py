"""In Azure (WEBSITE_INSTANCE_ID set) the app refuses to start on a stand-in or a missing setting.

Each test starts the app as an instance would: settings read from the environment, then the
gateway built (the first request's work). The refusal comes before any client is made, so no
network is touched (no test here gets past it with Azure settings: a credential would probe the
instance metadata endpoint); it is one message naming every setting that is missing or wrong.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from shared.composition.azure_checks import check_azure_start
from shared.composition.root import Gateway, build_gateway
from shared.settings import Settings, SettingsError, load_settings

JWKS = "https://login.microsoftonline.com/t/discovery/v2.0/keys"
DEPLOYMENTS = [
    {"name": "gpt-4o-mini-eastus", "endpoint": "https://eastus.openai.azure.com/",
     "model": "gpt-4o-mini", "region": "eastus", "tpm": 60_000},
]  # fmt: skip
NAMESPACE = "gateway.servicebus.windows.net"
CLIENT_ID = "00000000-0000-0000-0000-0000000000c1"
AZURE = {
    "WEBSITE_INSTANCE_ID": "a1b2c3",
    "COSMOS_ENDPOINT": "https://gateway.documents.azure.com:443/",
    "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE": NAMESPACE,
    "SERVICEBUS_QUEUE_NAME": "overflow",
    "ServiceBusConnection__fullyQualifiedNamespace": NAMESPACE,
    "AOAI_DEPLOYMENTS": json.dumps(DEPLOYMENTS),
    "AOAI_AUTH": "entra",
    "GATEWAY_CALLER_AUTH": "jwt",
    "AUTH_ISSUER": "https://login.microsoftonline.com/t/v2.0",
    "AUTH_AUDIENCE": "api://genai-gateway",
    "AUTH_JWKS_URL": JWKS,
    "GATEWAY_DEV_SIGNIN": "false",
    "AZURE_CLIENT_ID": CLIENT_ID,
    "ServiceBusConnection__credential": "managedidentity",
    "ServiceBusConnection__clientId": CLIENT_ID,
    "APPLICATIONINSIGHTS_CONNECTION_STRING": f"InstrumentationKey={CLIENT_ID}",
    # Pairs in any order, as the exporter reads them.
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"ClientId={CLIENT_ID};Authorization=AAD",
}
# Removing the key (or setting it to the value) must make the start fail naming `named`.
CASES = [
    ("COSMOS_ENDPOINT", None, "COSMOS_ENDPOINT"),
    ("SERVICEBUS_FULLY_QUALIFIED_NAMESPACE", None, "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE"),
    ("SERVICEBUS_QUEUE_NAME", None, "SERVICEBUS_QUEUE_NAME"),
    ("ServiceBusConnection__fullyQualifiedNamespace", None, "ServiceBusConnection__"),
    ("AOAI_DEPLOYMENTS", None, "AOAI_DEPLOYMENTS"),
    ("AOAI_DEPLOYMENTS", json.dumps([{**DEPLOYMENTS[0], "endpoint": "http://127.0.0.1:7072/"}]),
     "AOAI_DEPLOYMENTS"),
    ("AOAI_AUTH", "none", "AOAI_AUTH"),
    ("GATEWAY_CALLER_AUTH", None, "GATEWAY_CALLER_AUTH"),
    ("AUTH_JWKS_URL", None, "AUTH_JWKS_URL"),
    ("ServiceBusConnection__clientId", None, "ServiceBusConnection__clientId"),
    ("ServiceBusConnection__credential", None, "ServiceBusConnection__credential"),
    ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", None, "APPLICATIONINSIGHTS_AUTH"),
    ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD", "APPLICATIONINSIGHTS_AUTH"),
]  # fmt: skip


@pytest.fixture
def azure_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in [*AZURE, "COSMOS_CONNECTION_STRING", "SERVICEBUS_CONNECTION_STRING",
                 "ServiceBusConnection", "GATEWAY_ALLOW_TRUSTED_HEADERS_IN_AZURE",
                 "GATEWAY_ALLOW_EMBEDDED_IN_AZURE"]:  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    return monkeypatch


async def start() -> Gateway:
    """What an instance does: read its App Settings, then build the gateway."""
    return await build_gateway(load_settings())


@pytest.mark.parametrize(("name", "value", "named"), CASES)
async def test_each_missing_azure_setting_refuses_the_start_naming_it(
    azure_env: pytest.MonkeyPatch, name: str, value: str | None, named: str
) -> None:
    if value is None:
        azure_env.delenv(name)
    else:
        azure_env.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        await start()
    assert named in str(refused.value)


def test_with_every_azure_setting_there_is_nothing_to_refuse(azure_env: pytest.MonkeyPatch) -> None:
    check_azure_start(load_settings())  # raises if any check misfires on a complete setup


async def test_one_refusal_names_every_missing_setting(azure_env: pytest.MonkeyPatch) -> None:
    for name in AZURE:
        if name != "WEBSITE_INSTANCE_ID":
            azure_env.delenv(name)
    azure_env.setenv("AOAI_AUTH", "none")
    with pytest.raises(SettingsError) as refused:
        await start()
    message = str(refused.value)
    expected = ["COSMOS_ENDPOINT", "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE", "AOAI_DEPLOYMENTS",
                "AOAI_AUTH", "GATEWAY_CALLER_AUTH", "GATEWAY_ALLOW_EMBEDDED_IN_AZURE"]  # fmt: skip
    assert [named for named in expected if named not in message] == []
    assert "SERVICEBUS_QUEUE_NAME" not in message  # no Service Bus, so no trigger settings yet


async def test_stand_ins_in_azure_when_explicitly_allowed_start_with_a_warning(
    azure_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No Application Insights either: this test builds the gateway, whose telemetry setup would
    # start an exporter authenticating with the managed identity (the metadata endpoint).
    for name in ("COSMOS_ENDPOINT", "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE", "AOAI_DEPLOYMENTS",
                 "APPLICATIONINSIGHTS_CONNECTION_STRING"):  # fmt: skip
        azure_env.delenv(name)
    azure_env.setenv("AOAI_AUTH", "none")
    azure_env.setenv("GATEWAY_ALLOW_EMBEDDED_IN_AZURE", "true")
    with caplog.at_level(logging.WARNING, logger="gateway.startup"):
        gateway = await start()
    try:
        assert gateway.stores.kind == "embedded"
        assert "GATEWAY_ALLOW_EMBEDDED_IN_AZURE=true" in caplog.text
    finally:
        await gateway.close()


def test_locally_the_stand_ins_need_no_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("WEBSITE_INSTANCE_ID", raising=False)
    check_azure_start(Settings(gateway_data_dir=tmp_path))


async def test_readiness_answers_503_and_logs_the_refusal(
    azure_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from devhost.asgi import build_asgi
    from devhost.host import indexed_app
    from shared.composition.root import use_gateway
    from shared.settings import get_settings

    azure_env.delenv("COSMOS_ENDPOINT")
    get_settings.cache_clear()
    use_gateway(None)
    app = build_asgi(indexed_app().http)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            with caplog.at_level(logging.ERROR):
                response = await client.get("/api/health/ready")
    finally:
        get_settings.cache_clear()
        use_gateway(None)
    assert response.status_code == 503
    assert "COSMOS_ENDPOINT" in caplog.text
    assert "COSMOS_ENDPOINT" not in response.text  # what is missing is for the logs only
