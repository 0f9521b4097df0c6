"""Live per-deployment state: current settings, quota window, tokenizer and counters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shared.tokenizer import Tokenizer
from simulator.config import SimDeployment
from simulator.quota import SlidingWindowQuota


@dataclass(slots=True)
class DeploymentStats:
    """What ``GET /_sim/stats`` reports. Tokens count as served only for complete 200s."""

    requests: int = 0
    ok: int = 0
    throttled: int = 0
    faults: int = 0
    bad_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class DeploymentState:
    def __init__(self, spec: SimDeployment) -> None:
        self.spec = spec
        self.tokenizer = Tokenizer(spec.encoding)
        self.quota = SlidingWindowQuota(spec.tpm, spec.effective_rpm)
        self.stats = DeploymentStats()

    def update(self, patch: dict[str, Any]) -> None:
        """Apply a live change; the quota window keeps what it already charged."""
        self.spec = self.spec.updated(patch)
        self.quota.tpm = self.spec.tpm
        self.quota.rpm = self.spec.effective_rpm

    def reset(self) -> None:
        self.quota.reset()
        self.stats = DeploymentStats()
