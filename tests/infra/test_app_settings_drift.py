"""The Function App's app settings in infra/ are exactly the settings the app needs in Azure.

Every field of shared/settings.py's Settings (read from the class, so a new field shows up here)
is either set in infra/modules/functionapp.bicep or listed below as not set in Azure, with the
reason; the host's own settings (not in Settings) are listed too. A setting that is in neither
place, or a Bicep setting nobody reads, fails the test.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.settings import Settings
from shared.structured_settings import DeploymentConfig
from tests.infra import bicep

# Settings fields deliberately absent from the Azure app settings (the default applies).
NOT_SET_IN_AZURE = {
    "GATEWAY_DATA_DIR": "the embedded SQLite store and queue; Azure uses Cosmos DB and Service Bus",
    "GATEWAY_PRICE_TABLE_FILE": "the default is shared/prices.json next to the deployed code",
    "GATEWAY_TELEMETRY": "ignored when APPLICATIONINSIGHTS_CONNECTION_STRING is set",
    "GATEWAY_DEV_SIGNIN": "the local developer sign-in; the app refuses it in Azure",
    "GATEWAY_ALLOW_EMBEDDED_IN_AZURE": "a demo on stand-ins; infra/ deploys the real services",
    "COSMOS_KEY": "keys are off: the identity has the Data Contributor role",
    "COSMOS_CONNECTION_STRING": "keys are off: the identity has the Data Contributor role",
    "SERVICEBUS_CONNECTION_STRING": "keys are off: the identity has Data Sender and Receiver",
}
# Read by the Functions host, the worker or the Azure SDKs, not by Settings.
HOST_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "PYTHON_ENABLE_INIT_INDEXING",
    "ServiceBusConnection__fullyQualifiedNamespace",
    "ServiceBusConnection__credential",
    "ServiceBusConnection__clientId",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "AZURE_CLIENT_ID",
}
# Flex Consumption refuses these (the runtime is functionAppConfig.runtime).
REFUSED_BY_FLEX = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_PROCESS_COUNT"}


def app_settings() -> dict[str, object]:
    configs = bicep.resources_of_type(bicep.module("functionapp"), "Microsoft.Web/sites/config")
    (settings,) = [c["config"] for c in configs if c["config"]["name"] == "appsettings"]
    properties: dict[str, object] = settings["properties"]
    return properties


def settings_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_every_setting_is_set_in_azure_or_deliberately_left_out() -> None:
    deployed = set(app_settings())
    missing = settings_names() - deployed - set(NOT_SET_IN_AZURE)
    assert not missing, f"add to infra/modules/functionapp.bicep or NOT_SET_IN_AZURE: {missing}"


def test_no_deployed_setting_is_unknown() -> None:
    deployed = set(app_settings())
    unknown = deployed - settings_names() - HOST_SETTINGS
    assert not unknown, f"nothing reads these app settings: {unknown}"
    assert not deployed & REFUSED_BY_FLEX
    stale = set(NOT_SET_IN_AZURE) - settings_names()
    assert not stale, f"NOT_SET_IN_AZURE names settings that no longer exist: {stale}"
    assert not set(NOT_SET_IN_AZURE) & deployed


def test_the_settings_azure_needs_have_the_azure_values() -> None:
    values = app_settings()
    assert values["PYTHON_ENABLE_INIT_INDEXING"] == "1"  # the HTTP-streams extension needs it
    assert values["COSMOS_CREATE_CONTAINERS"] == "false"  # infra/ owns the schema
    assert values["GATEWAY_CALLER_AUTH"] == "jwt"
    assert values["GATEWAY_ALLOW_TRUSTED_HEADERS_IN_AZURE"] == "false"
    assert values["AOAI_AUTH"] == "entra"  # keys are off on the accounts
    # The worker reads these from the environment too: they must be App Settings, as the app's.
    assert values["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] == "true"
    defaults = Settings()
    assert values["PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME"] == (
        defaults.python_applicationinsights_logger_name
    )
    assert values["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] == (
        defaults.otel_python_disabled_instrumentations
    )
    for connection in ("AzureWebJobsStorage", "ServiceBusConnection"):
        assert values[f"{connection}__credential"] == "managedidentity"
        assert values[f"{connection}__clientId"] == "identityClientId"
    assert values["AZURE_CLIENT_ID"] == "identityClientId"
    telemetry = str(values["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"])
    assert "ClientId=${identityClientId}" in telemetry and "Authorization=AAD" in telemetry


def bindings() -> list[dict[str, Any]]:
    import function_app

    return [
        binding.get_dict_repr()
        for builder in function_app.app._function_builders
        for binding in builder._function.get_bindings()
    ]


def test_every_setting_a_binding_names_is_an_app_setting() -> None:
    """%NAME% in a binding (queue name, timer schedule) is resolved by the host from App
    Settings, never from the code's default: missing, the function does not index."""
    values = app_settings()
    named = {
        match
        for binding in bindings()
        for value in binding.values()
        for match in re.findall(r"%([A-Za-z0-9_]+)%", str(value))
    }
    assert {"SERVICEBUS_QUEUE_NAME", "GATEWAY_SWEEP_SCHEDULE"} <= named
    assert named <= set(values), f"not App Settings in infra/: {named - set(values)}"


def test_the_trigger_finds_its_queue_and_connection_in_the_settings() -> None:
    values = app_settings()
    triggers = [b for b in bindings() if b.get("type") == "serviceBusTrigger"]
    assert triggers
    for trigger in triggers:
        queue = str(trigger["queueName"])
        assert queue.startswith("%") and queue.endswith("%") and queue.strip("%") in values
        assert f"{trigger['connection']}__fullyQualifiedNamespace" in values


def test_aoai_deployments_are_generated_from_the_deployed_list() -> None:
    main = bicep.main()
    loop = main["variables"]["aoaiSetting"]["value"]
    assert loop["loop_type"]["detail"]["array_name"] == "aoaiDeployments"
    entry = loop["config"]
    assert set(entry) <= set(DeploymentConfig.model_fields)
    assert {"name", "endpoint", "model", "region", "tpm"} <= set(entry)
    tpm = json.dumps(entry["tpm"])
    assert "capacity" in tpm and "multiply" in tpm and "1000" in tpm  # TPM = capacity x 1,000
    assert "aoaiSetting" in json.dumps(bicep.module_params("functionApp")["aoaiDeployments"])


def test_the_default_parameters_make_settings_the_app_accepts() -> None:
    """What main.bicep's defaults put into AOAI_DEPLOYMENTS, AOAI_MODELS and
    GATEWAY_BUSINESS_UNITS, built the way main.bicep builds it, passes the app's own checks."""
    main = bicep.main()
    deployments = bicep.example_deployments(main)
    settings = Settings(
        aoai_deployments=deployments,
        aoai_models=bicep.param_default(main, "aoaiModels"),
        gateway_business_units=bicep.param_default(main, "businessUnits"),
    )
    assert len(settings.aoai_deployments) == len(deployments)
    assert all(str(d.endpoint).startswith("https://") for d in settings.aoai_deployments)


# Literal values in infra/ that differ from the code's default on purpose.
AZURE_VALUES = {
    "GATEWAY_CALLER_AUTH": "jwt: callers present an Entra token in Azure",
    "COSMOS_CREATE_CONTAINERS": "false: infra/ owns the schema",
    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true: the worker's Azure Monitor pipeline",
}


def test_defaults_copied_into_infra_are_still_the_codes() -> None:
    """A literal in functionapp.bicep that repeats a default must change when the default does."""
    params = set(bicep.module("functionapp")["parameters"])
    checked = 0
    for name, value in app_settings().items():
        field = Settings.model_fields.get(name.lower())
        if field is None or name in AZURE_VALUES or not isinstance(value, str):
            continue
        if value in params or "${" in value or field.default_factory is not None:
            continue
        parsed = getattr(Settings.model_validate({name.lower(): value}), name.lower())
        assert parsed == field.default, f"{name}: infra/ has {value!r}, the code {field.default!r}"
        checked += 1
    assert checked >= 10
    for name in AZURE_VALUES:
        assert app_settings()[name] != str(Settings.model_fields[name.lower()].default)
