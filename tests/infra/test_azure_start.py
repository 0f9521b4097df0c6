"""The app settings infra/ deploys pass the app's own start-up check in Azure
(shared/composition/azure_checks.py): no stand-in, the trigger's settings, the caller check."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.composition.azure_checks import check_azure_start
from shared.settings import Settings
from tests.infra import bicep
from tests.infra.test_app_settings_drift import app_settings

TENANT = "11111111-1111-1111-1111-111111111111"


def example_params() -> dict[str, str]:
    """What main.bicep passes to functionapp.bicep, with example resource names."""
    main = bicep.main()
    deployments = bicep.example_deployments(main)
    return {
        "storageName": "stexample",
        "identityClientId": "22222222-2222-2222-2222-222222222222",
        "appInsightsConnectionString": "InstrumentationKey=x;IngestionEndpoint=https://example/",
        "serviceBusNamespace": "sb-example.servicebus.windows.net",
        "serviceBusQueueName": main["variables"]["queueName"]["value"],
        "serviceBusMaxDeliveryCount": str(bicep.param_default(main, "serviceBusMaxDeliveryCount")),
        "cosmosEndpoint": "https://cosmos-example.documents.azure.com:443/",
        "cosmosDatabase": main["variables"]["cosmosDatabase"]["value"],
        "aoaiDeployments": json.dumps(deployments),
        "aoaiModels": json.dumps(bicep.param_default(main, "aoaiModels")),
        "businessUnits": json.dumps(bicep.param_default(main, "businessUnits")),
        "budgets": bicep.param_default(main, "budgets"),
        "logPromptsFor": bicep.param_default(main, "logPromptsFor"),
        "maxBodyBytes": str(main["variables"]["maxBodyBytes"]["value"]),
        "jobTtlSeconds": str(bicep.param_default(main, "jobTtlSeconds")),
        "authTenantId": TENANT,
        "authAudience": "api://genai-gateway",
        "authBusinessUnitClaim": bicep.param_default(main, "authBusinessUnitClaim"),
        "financeRole": bicep.param_default(main, "financeRole"),
    }


def evaluate(value: Any, params: dict[str, str]) -> str:
    """A Bicep app-setting value: a literal, a parameter, '...${param}...' or string(param)."""
    if isinstance(value, dict):
        return params[value["function"]["parameters"]["value_to_convert"]]
    text = str(value)
    if text in params:
        return params[text]
    return re.sub(r"\$\{(\w+)\}", lambda m: params[m.group(1)], text)


def test_the_deployed_settings_start_the_app_in_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    params = example_params()
    environ = {name: evaluate(value, params) for name, value in app_settings().items()}
    environ["WEBSITE_INSTANCE_ID"] = "example-instance"
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    check_azure_start(settings, environ)  # raises SettingsError naming what is missing
    assert settings.uses_cosmos and settings.uses_servicebus
    assert settings.gateway_caller_auth == "jwt" and TENANT in settings.auth_jwks_url


def test_the_check_would_notice_a_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above can fail: drop the queue name and the same check refuses."""
    params = example_params()
    environ = {name: evaluate(value, params) for name, value in app_settings().items()}
    environ["WEBSITE_INSTANCE_ID"] = "example-instance"
    del environ["SERVICEBUS_QUEUE_NAME"]
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exception, match="SERVICEBUS_QUEUE_NAME"):
        check_azure_start(Settings(), environ)
