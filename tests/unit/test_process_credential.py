"""One Entra ID credential per process: a managed identity in Azure, the developer chain locally.

The clients are built as the composition root builds them (Cosmos DB, Service Bus, Azure OpenAI
with Entra ID); none of them connects at construction, so nothing here touches the network.
"""

from __future__ import annotations

from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from shared.adapters.cosmos_client import build_client
from shared.adapters.servicebus_queue import servicebus_client_factory
from shared.composition.adapters import build_chat
from shared.composition.credential import ProcessCredential
from shared.deployment_groups import DeploymentGroups
from shared.settings import Settings

IN_AZURE = {"WEBSITE_INSTANCE_ID": "a1b2c3"}
CLIENT_ID = "00000000-0000-0000-0000-0000000000c1"


def entra_settings(tmp_path: Path) -> Settings:
    deployments = [
        {"name": f"gpt-4o-mini-{region}", "endpoint": f"https://{region}.openai.azure.com/",
         "model": "gpt-4o-mini", "region": region, "tpm": 60_000}
        for region in ("eastus", "swedencentral")
    ]  # fmt: skip
    return Settings(
        gateway_data_dir=tmp_path,
        azure_client_id=CLIENT_ID,
        cosmos_endpoint="https://gateway.documents.azure.com:443/",
        servicebus_fully_qualified_namespace="gateway.servicebus.windows.net",
        aoai_deployments=deployments,
        aoai_auth="entra",
    )


class Counting(ProcessCredential):
    """The process credential, counting how often a client asked for it."""

    asked = 0

    def get(self) -> AsyncTokenCredential:
        self.asked += 1
        return super().get()


async def test_cosmos_service_bus_and_azure_openai_share_one_managed_identity(
    tmp_path: Path,
) -> None:
    settings = entra_settings(tmp_path)
    credential = Counting(settings, IN_AZURE)

    cosmos = build_client(settings, credential.get)
    service_bus = servicebus_client_factory(settings, credential.get)()
    _router, close_chat = build_chat(settings, DeploymentGroups.from_settings(settings), credential)
    try:
        assert credential.asked == 3 and credential.made == 1
        assert isinstance(credential.get(), ManagedIdentityCredential)
        assert credential.client_id == CLIENT_ID
    finally:
        await close_chat()
        await service_bus.close()
        await cosmos.close()
        await credential.close()


async def test_locally_the_credential_is_the_developer_chain(tmp_path: Path) -> None:
    credential = ProcessCredential(entra_settings(tmp_path), environ={})
    try:
        assert isinstance(credential.get(), DefaultAzureCredential)
        assert credential.get() is credential.get() and credential.made == 1
    finally:
        await credential.close()


async def test_no_credential_is_made_when_nothing_uses_entra_id(tmp_path: Path) -> None:
    settings = Settings(gateway_data_dir=tmp_path, aoai_auth="none")
    credential = ProcessCredential(settings, IN_AZURE)
    _router, close_chat = build_chat(settings, DeploymentGroups.from_settings(settings), credential)
    await close_chat()
    assert credential.made == 0
