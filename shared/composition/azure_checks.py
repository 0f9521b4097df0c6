"""In Azure, never fall back to a stand-in silently: the start is refused, naming what is missing.

With no Azure settings the app runs on its embedded stand-ins (SQLite store, local queue,
simulator), which is the point on a laptop. On an instance (``WEBSITE_INSTANCE_ID`` is set) the
same fallback would keep the ledger on one instance's temporary disk, queue overflow where no
other instance sees it, and send callers' prompts to a loopback address. So the gateway is not
built: one SettingsError lists every setting that is missing or wrong, the caller check's
included, and the readiness probe answers 503 until they are fixed.
``GATEWAY_ALLOW_EMBEDDED_IN_AZURE=true`` allows the stand-ins (a throwaway demo), with a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from shared.auth.startup_checks import AZURE_INSTANCE_VARIABLE, check_caller_auth, running_in_azure
from shared.settings import Settings, SettingsError

log = logging.getLogger("gateway.startup")

# The Service Bus trigger's connection (functions/overflow_worker.py, connection=...): the host
# reads it, with identity, as <name>__fullyQualifiedNamespace (or <name> as a connection string).
TRIGGER_CONNECTION = "ServiceBusConnection"


def stand_ins(settings: Settings) -> list[str]:
    """What would run on a stand-in, each naming the setting that would replace it."""
    found = []
    if not settings.uses_cosmos:
        found.append(
            "COSMOS_ENDPOINT (or COSMOS_CONNECTION_STRING) is not set: the usage ledger, "
            "budgets and cache would live in SQLite on this instance's temporary disk"
        )
    if not settings.uses_servicebus:
        found.append(
            "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE (or SERVICEBUS_CONNECTION_STRING) is not set: "
            "overflow would go to a local queue no other instance drains"
        )
    if "aoai_deployments" not in settings.model_fields_set:
        found.append("AOAI_DEPLOYMENTS is not set: the default deployments are the local simulator")
    else:
        plain = [
            d.name for d in settings.aoai_deployments if urlsplit(str(d.endpoint)).scheme != "https"
        ]
        if plain:
            found.append(f"AOAI_DEPLOYMENTS: {plain} have no https:// endpoint (the simulator?)")
    if settings.aoai_auth == "none":
        found.append("AOAI_AUTH=none sends no credential (the simulator): set entra or key")
    return found


def trigger_settings(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Settings the Functions host, not this code, reads for the Service Bus trigger."""
    if not settings.uses_servicebus:
        return []
    missing = []
    if not environ.get("SERVICEBUS_QUEUE_NAME"):
        missing.append(
            "SERVICEBUS_QUEUE_NAME is not an App Setting: the trigger's %SERVICEBUS_QUEUE_NAME% "
            "is resolved by the host, not from the code's default, and would not index"
        )
    if not (
        environ.get(f"{TRIGGER_CONNECTION}__fullyQualifiedNamespace")
        or environ.get(TRIGGER_CONNECTION)
    ):
        missing.append(
            f"{TRIGGER_CONNECTION}__fullyQualifiedNamespace is not set: the overflow worker's "
            "trigger would not connect while the sender keeps sending"
        )
    return missing + identity_settings(settings, environ)


def identity_settings(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """With a user-assigned identity (AZURE_CLIENT_ID), what authenticates outside our code
    must name it too: AZURE_CLIENT_ID steers only the gateway's own credential."""
    client_id = settings.azure_client_id
    if not client_id:
        return []  # the system-assigned identity: nothing to name
    missing = []
    if settings.servicebus_fully_qualified_namespace and (
        environ.get(f"{TRIGGER_CONNECTION}__credential") != "managedidentity"
        or environ.get(f"{TRIGGER_CONNECTION}__clientId") != client_id
    ):
        missing.append(
            f"{TRIGGER_CONNECTION}__credential=managedidentity and "
            f"{TRIGGER_CONNECTION}__clientId=<AZURE_CLIENT_ID> are not both set: the trigger "
            "would use another identity than the sender"
        )
    auth = parse_authentication_string(environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", ""))
    if settings.applicationinsights_connection_string and (
        auth.get("authorization") != "AAD" or auth.get("clientid") != client_id
    ):
        missing.append(
            f"APPLICATIONINSIGHTS_AUTHENTICATION_STRING is not 'Authorization=AAD;ClientId="
            f"{client_id}': the exporter would not authenticate with the app's identity"
        )
    return missing


def parse_authentication_string(value: str) -> dict[str, str]:
    """``key=value`` pairs split on ';', keys case-insensitive, in any order: as the Azure
    Monitor exporter reads APPLICATIONINSIGHTS_AUTHENTICATION_STRING."""
    pairs = (part.split("=", 1) for part in value.split(";") if "=" in part)
    return {key.strip().lower(): val.strip() for key, val in pairs}


def check_azure_start(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Raises one SettingsError naming every problem when running in Azure; else returns."""
    environ = os.environ if environ is None else environ
    if not running_in_azure(environ):
        return
    problems = []
    found = stand_ins(settings)
    if found and settings.gateway_allow_embedded_in_azure:
        log.warning("GATEWAY_ALLOW_EMBEDDED_IN_AZURE=true, running on stand-ins: %s", found)
    else:
        problems += found
    problems += trigger_settings(settings, environ)
    try:
        check_caller_auth(settings, environ)
    except SettingsError as exc:
        problems.append(str(exc))
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise SettingsError(
            f"refusing to start in Azure ({AZURE_INSTANCE_VARIABLE} is set); fix these App "
            f"Settings (GATEWAY_ALLOW_EMBEDDED_IN_AZURE=true allows the stand-ins for a "
            f"throwaway demo):\n{listed}"
        )
