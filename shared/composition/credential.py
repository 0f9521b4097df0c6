"""One Entra ID credential per process, shared by every client that authenticates with it.

Cosmos DB, Service Bus and Azure OpenAI each used to build a ``DefaultAzureCredential``: three
credentials, each probing the whole chain (environment, workload identity, managed identity,
CLI, ...) for its first token and keeping its own token cache. Now the composition root makes
one, at the first client that needs it:

* in Azure (``WEBSITE_INSTANCE_ID`` set): ``ManagedIdentityCredential``, pinned to the app's
  user-assigned identity by ``AZURE_CLIENT_ID`` (system-assigned when it is empty); nothing
  else is tried, so a misconfigured identity fails at once, naming itself;
* elsewhere: ``DefaultAzureCredential`` (a developer's ``az login``, or ``AZURE_CLIENT_ID`` /
  environment credentials on a build agent).

The exporter of Azure Monitor authenticates on its own, in its export threads, from
``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` (``Authorization=AAD;ClientId=<the same id>``):
it needs a synchronous credential, and the Functions host reads the same setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared.auth.startup_checks import running_in_azure
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential


class ProcessCredential:
    """Makes the process's credential at its first use; ``close`` closes it if it was made."""

    def __init__(self, settings: Settings, environ: Mapping[str, str] | None = None) -> None:
        self.client_id = settings.azure_client_id or None
        self._in_azure = running_in_azure(os.environ if environ is None else environ)
        self._credential: AsyncTokenCredential | None = None
        self.made = 0  # how many were made (one at most): what a test checks

    @property
    def kind(self) -> str:
        return "ManagedIdentityCredential" if self._in_azure else "DefaultAzureCredential"

    def get(self) -> AsyncTokenCredential:
        if self._credential is None:
            self._credential = self._make()
            self.made += 1
        return self._credential

    def _make(self) -> AsyncTokenCredential:
        if self._in_azure:
            from azure.identity.aio import ManagedIdentityCredential

            return ManagedIdentityCredential(client_id=self.client_id)
        from azure.identity.aio import DefaultAzureCredential

        return DefaultAzureCredential()

    async def close(self) -> None:
        credential, self._credential = self._credential, None
        if credential is not None:
            await credential.close()
