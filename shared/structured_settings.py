"""The structured values inside the settings: deployments, models, business units.

Kept apart from ``shared/settings.py`` (which reads them from App Settings as JSON) so the
defaults — three simulated regions, the known models — are easy to find and to read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

SIMULATOR_HOST = "127.0.0.1"
SIMULATOR_PORT = 7072


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeploymentConfig(_Strict):
    """One Azure OpenAI deployment in one region."""

    name: str = Field(min_length=1, description="Deployment name in the Azure OpenAI resource")
    endpoint: HttpUrl
    model: str = Field(min_length=1)
    region: str = Field(min_length=1)
    group: str = Field(default="", description="Deployment group; defaults to the model name")
    priority: int = Field(default=1, ge=0, description="Lower is preferred")
    weight: int = Field(default=1, ge=1)
    tpm: int = Field(gt=0, description="Tokens-per-minute quota of this deployment")
    rpm: int | None = Field(default=None, gt=0, description="Defaults to TPM/1000*6, as Azure")
    api_key_setting: str = Field(
        default="",
        description="Name of the App Setting (or Key Vault reference) holding this deployment's "
        "key, used whenever set; empty: AOAI_AUTH decides",
    )

    @property
    def group_name(self) -> str:
        return self.group or self.model

    @property
    def effective_rpm(self) -> int:
        return self.rpm if self.rpm is not None else max(1, self.tpm * 6 // 1000)


class ModelConfig(_Strict):
    context_window: int = Field(gt=0)
    encoding: Literal["o200k_base", "cl100k_base"] = "o200k_base"


class BusinessUnitConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = ""


def simulator_endpoint() -> str:
    return f"http://{SIMULATOR_HOST}:{SIMULATOR_PORT}"


def default_deployments() -> list[DeploymentConfig]:
    """Three simulated chat regions and two embeddings regions: what the local host serves when
    nothing else is configured."""
    sim = simulator_endpoint()
    rows = [("eastus", 60_000), ("swedencentral", 60_000), ("westus3", 30_000)]
    chat = [
        DeploymentConfig.model_validate(
            {
                "name": f"gpt-4o-mini-{region}",
                "endpoint": sim,
                "model": "gpt-4o-mini",
                "region": region,
                "priority": 0,
                "tpm": tpm,
            }
        )
        for region, tpm in rows
    ]
    embeddings = [
        DeploymentConfig.model_validate(
            {
                "name": f"text-embedding-3-small-{region}",
                "endpoint": sim,
                "model": "text-embedding-3-small",
                "region": region,
                "tpm": 120_000,
            }
        )
        for region in ("eastus", "swedencentral")
    ]
    return chat + embeddings


def default_models() -> dict[str, ModelConfig]:
    return {
        "gpt-4o-mini": ModelConfig(context_window=128_000, encoding="o200k_base"),
        "gpt-4o": ModelConfig(context_window=128_000, encoding="o200k_base"),
        "gpt-4.1-mini": ModelConfig(context_window=1_047_576, encoding="o200k_base"),
        "gpt-35-turbo": ModelConfig(context_window=16_385, encoding="cl100k_base"),
        # Embeddings: 8191 input tokens, counted with cl100k_base.
        # https://learn.microsoft.com/azure/ai-services/openai/concepts/models#embeddings
        "text-embedding-3-small": ModelConfig(context_window=8191, encoding="cl100k_base"),
    }


def default_business_units() -> list[BusinessUnitConfig]:
    return [
        BusinessUnitConfig(id="marketing", name="Marketing"),
        BusinessUnitConfig(id="legal", name="Legal"),
        BusinessUnitConfig(id="finance", name="Finance"),
    ]
