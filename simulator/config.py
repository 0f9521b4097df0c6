"""What the simulator serves: deployments with their quota, latency and failure behaviour."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.settings import Settings
from simulator.settings import SimulatorSettings

Encoding = Literal["o200k_base", "cl100k_base"]

# Fields POST /_sim/deployments/{name} may change live; name, model and encoding stay fixed
# because clients and the tokenizer were built around them.
LIVE_FIELDS = frozenset(
    {
        "tpm",
        "rpm",
        "latency_ms",
        "latency_per_token_ms",
        "fault_rate",
        "timeout_rate",
        "hang_seconds",
    }
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimDeployment(_Frozen):
    """One simulated Azure OpenAI deployment."""

    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    tpm: int = Field(gt=0, description="Tokens per minute (sliding 60 simulated seconds)")
    rpm: int | None = Field(default=None, gt=0, description="Defaults to TPM/1000*6, as Azure")
    encoding: Encoding = "o200k_base"
    latency_ms: float = Field(default=0.0, ge=0, description="Fixed, real milliseconds")
    latency_per_token_ms: float = Field(default=0.0, ge=0, description="Per completion token")
    fault_rate: float = Field(default=0.0, ge=0, le=1, description="Share answered 500/503")
    timeout_rate: float = Field(default=0.0, ge=0, le=1, description="Share that hang")
    hang_seconds: float = Field(default=30.0, ge=0, description="Real seconds a timeout hangs")

    @model_validator(mode="after")
    def _check_rates(self) -> SimDeployment:
        if self.fault_rate + self.timeout_rate > 1:
            raise ValueError(
                f"deployment {self.name!r}: fault_rate ({self.fault_rate}) + timeout_rate "
                f"({self.timeout_rate}) must not exceed 1"
            )
        return self

    @property
    def effective_rpm(self) -> int:
        # Azure assigns 6 RPM per 1000 TPM:
        # https://learn.microsoft.com/azure/ai-services/openai/how-to/quota#understanding-rate-limits
        return self.rpm if self.rpm is not None else max(1, self.tpm * 6 // 1000)

    def updated(self, patch: dict[str, Any]) -> SimDeployment:
        """A validated copy with ``patch`` applied; raises ValueError naming a bad field."""
        unknown = set(patch) - LIVE_FIELDS
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}; allowed: {sorted(LIVE_FIELDS)}")
        return SimDeployment.model_validate({**self.model_dump(), **patch})


class SimulatorConfig(_Frozen):
    deployments: tuple[SimDeployment, ...] = Field(min_length=1)
    time_scale: float = Field(
        default=1.0, gt=0, description="Simulated seconds per real second (quota windows only)"
    )
    seed: int = Field(default=0, description="Seeds fault draws and generated content")

    @model_validator(mode="after")
    def _check_unique(self) -> SimulatorConfig:
        names = [d.name for d in self.deployments]
        if len(set(names)) != len(names):
            raise ValueError(f"deployment names must be unique, got {names}")
        return self

    @classmethod
    def from_settings(cls, settings: Settings, knobs: SimulatorSettings) -> SimulatorConfig:
        """The deployments the gateway is configured with, behaving as ``knobs`` say."""
        return cls(
            deployments=tuple(
                SimDeployment(
                    name=d.name,
                    model=d.model,
                    tpm=d.tpm,
                    rpm=d.rpm,  # None: derived from TPM the same way, also after a live change
                    encoding=settings.aoai_models[d.model].encoding,
                    latency_ms=knobs.latency_ms,
                    latency_per_token_ms=knobs.latency_per_token_ms,
                    fault_rate=knobs.fault_rate,
                )
                for d in settings.aoai_deployments
            ),
            time_scale=knobs.time_scale,
        )
