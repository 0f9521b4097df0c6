"""Azure OpenAI's per-deployment TPM/RPM quota as a sliding window over simulated time.

Azure charges a chat request at admission with its prompt tokens plus ``max_tokens`` (not the
tokens it later generates) and throttles when that would exceed the deployment's TPM or RPM:
https://learn.microsoft.com/azure/ai-services/openai/how-to/quota#understanding-rate-limits
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict on one request; remaining counts are after it (if admitted)."""

    admitted: bool
    remaining_tokens: int
    remaining_requests: int
    # Simulated seconds until the request would fit; 0 when admitted.
    retry_after: float = 0.0
    limit: Literal["", "tokens", "requests"] = ""


class SlidingWindowQuota:
    """Charges (time, cost) entries; an entry stops counting WINDOW_SECONDS after it was made."""

    def __init__(self, tpm: int, rpm: int) -> None:
        self.tpm = tpm
        self.rpm = rpm
        self._entries: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        horizon = now - WINDOW_SECONDS
        entries = self._entries
        while entries and entries[0][0] <= horizon:
            self._used -= entries.popleft()[1]

    def remaining(self, now: float) -> tuple[int, int]:
        self._expire(now)
        return max(0, self.tpm - self._used), max(0, self.rpm - len(self._entries))

    def try_admit(self, cost: int, now: float) -> Admission:
        self._expire(now)
        over_tokens = self._used + cost > self.tpm
        over_requests = len(self._entries) + 1 > self.rpm
        if not (over_tokens or over_requests):
            self._entries.append((now, cost))
            self._used += cost
            return Admission(True, self.tpm - self._used, self.rpm - len(self._entries))
        return Admission(
            admitted=False,
            remaining_tokens=max(0, self.tpm - self._used),
            remaining_requests=max(0, self.rpm - len(self._entries)),
            retry_after=self._wait_for(cost, now),
            limit="tokens" if over_tokens else "requests",
        )

    def _wait_for(self, cost: int, now: float) -> float:
        """Simulated seconds until ``cost`` fits, assuming nothing else is admitted meanwhile."""
        if cost > self.tpm:
            # Never fits; Azure still answers 429, and a full window is the honest hint.
            return WINDOW_SECONDS
        used, count = self._used, len(self._entries)
        for when, charged in self._entries:  # oldest first: they expire in this order
            used -= charged
            count -= 1
            if used + cost <= self.tpm and count + 1 <= self.rpm:
                return max(0.0, when + WINDOW_SECONDS - now)
        return WINDOW_SECONDS  # unreachable: with every entry gone, cost <= tpm fits

    def reset(self) -> None:
        self._entries.clear()
        self._used = 0
