"""The simulator's own knobs (``SIMULATOR_*``), read by ``python -m simulator`` and the local host.

Never read by the deployed app: the gateway's settings (shared/settings.py) know nothing of the
simulator. Where it listens by default is where the gateway's default deployments point.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.structured_settings import SIMULATOR_HOST, SIMULATOR_PORT

__all__ = ["SIMULATOR_HOST", "SIMULATOR_PORT", "SimulatorSettings"]


class SimulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIMULATOR_", case_sensitive=False, extra="ignore", frozen=True
    )

    latency_ms: float = Field(default=0.0, ge=0, description="Fixed latency per call")
    latency_per_token_ms: float = Field(
        default=0.0, ge=0, description="Latency per completion token"
    )
    fault_rate: float = Field(default=0.0, ge=0, le=1, description="Fraction of calls answered 5xx")
    time_scale: float = Field(default=1.0, gt=0, description="Simulated seconds per real second")
