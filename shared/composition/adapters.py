"""Adapter selection: settings decide which implementation each port gets."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

from shared.composition.credential import ProcessCredential
from shared.composition.deferred import DeferredDeployment
from shared.composition.stores import Stores
from shared.deployment_groups import DeploymentGroups
from shared.ports import OverflowQueue, QueueReceiver
from shared.routing import Router
from shared.routing.selection import RoutableDeployment
from shared.settings import DeploymentConfig, Settings, SettingsError
from shared.tokenizer import Tokenizer

if TYPE_CHECKING:
    # Types only: the SDK itself is imported by a deployment's first call (deferred.py).
    from shared.adapters.openai_deployment import Credential, TokenProvider

log = logging.getLogger("gateway.wiring")

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"

Closer = Callable[[], Awaitable[None]]

# Sent as the api-key with AOAI_AUTH=none: the client needs some key, the endpoint checks none.
NO_CREDENTIAL = "no-credential"


async def build_stores(settings: Settings, credential: ProcessCredential) -> Stores:
    if settings.uses_cosmos:
        from shared.composition.cosmos import open_cosmos_stores

        log.info("store: Cosmos DB database %r", settings.cosmos_database)
        return await open_cosmos_stores(settings, credential=credential.get)
    from shared.composition.embedded import open_embedded_stores

    log.info("store: embedded SQLite under %s", settings.gateway_data_dir)
    return open_embedded_stores(settings.gateway_data_dir)


async def build_queue(
    settings: Settings, credential: ProcessCredential
) -> tuple[OverflowQueue, QueueReceiver | None, Closer]:
    if settings.uses_servicebus:
        from shared.adapters.servicebus_queue import ServiceBusOverflowQueue

        log.info("queue: Service Bus queue %r", settings.servicebus_queue_name)
        sb = ServiceBusOverflowQueue.from_settings(settings, credential.get)
        return sb, None, sb.close
    from shared.composition.embedded import open_embedded_queue

    log.info("queue: embedded durable queue under %s", settings.gateway_data_dir)
    local = open_embedded_queue(settings.gateway_data_dir, settings.servicebus_max_delivery_count)
    return local, local, local.close


def deployment_credential(
    config: DeploymentConfig,
    auth: str,
    token_provider: TokenProvider | None,
    environ: Mapping[str, str],
) -> Credential:
    """A configured key is always used; otherwise AOAI_AUTH decides (Entra ID, or no credential
    for the simulator). Nothing is inferred from the endpoint's URL."""
    if config.api_key_setting:
        key = environ.get(config.api_key_setting, "")
        if not key:
            raise SettingsError(
                f"AOAI_DEPLOYMENTS: deployment {config.name!r} reads its key from App Setting "
                f"{config.api_key_setting!r}, which is empty"
            )
        return key
    if auth == "none":
        return NO_CREDENTIAL
    if token_provider is None:
        raise SettingsError(f"AOAI_AUTH={auth}: deployment {config.name!r} has no credential")
    return token_provider


def build_chat(
    settings: Settings, models: DeploymentGroups, credential: ProcessCredential | None = None
) -> tuple[Router, Closer]:
    """The router over every deployment. Each one's credential is checked here, at start; its
    client is made at its first call (composition/deferred.py). Entra ID tokens come from the
    process's credential (``credential``; one of its own when none is given)."""
    token_provider: TokenProvider | None = None
    own = credential is None
    shared = ProcessCredential(settings) if credential is None else credential
    if settings.aoai_auth == "entra" and any(
        not d.api_key_setting for d in settings.aoai_deployments
    ):
        from azure.identity.aio import get_bearer_token_provider

        token_provider = get_bearer_token_provider(shared.get(), COGNITIVE_SERVICES_SCOPE)
    deployments = []
    for config in settings.aoai_deployments:
        key_or_token = deployment_credential(config, settings.aoai_auth, token_provider, os.environ)
        tokenizer = models.group(config.group_name).tokenizer
        connect = partial(_connect, settings, config, tokenizer, key_or_token)
        deployments.append(DeferredDeployment(config, connect))
    router = Router(
        deployments,
        default_cooldown=settings.aoai_default_cooldown_seconds,
        deadline_seconds=settings.gateway_request_deadline_seconds,
        max_inflight=settings.gateway_max_inflight,
        breaker_failures=settings.aoai_breaker_failures,
        breaker_open_seconds=settings.aoai_breaker_open_seconds,
    )

    async def close() -> None:
        for deployment in deployments:
            await deployment.close()
        if own:
            await shared.close()

    return router, close


def _connect(
    settings: Settings, config: DeploymentConfig, tokenizer: Tokenizer, credential: Credential
) -> tuple[RoutableDeployment, Closer]:
    from shared.adapters.openai_deployment import AzureOpenAIDeployment, build_client

    client = build_client(
        config,
        api_version=settings.aoai_api_version,
        timeout=settings.aoai_timeout_seconds,
        credential=credential,
    )
    return AzureOpenAIDeployment(config, client, tokenizer), client.close
