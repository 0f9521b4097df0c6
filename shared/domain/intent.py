"""The write-ahead usage record: a model call's intent, stored before the call leaves.

Azure bills a call once it reached the model, whether or not the gateway lived to read the
answer. So before any call leaves, its intent is stored (who, what, the prompt as counted, the
``max_tokens`` bound, the budget reservation). Settling the call replaces the intent with the
exact usage record; an intent still open after its ``deadline`` belongs to a call whose process
died, and the sweeper (shared/metering/sweeper.py) settles it as an estimate: the prompt as
counted plus ``max_tokens``, the most the call could have cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.caller import Caller
from shared.domain.timestamps import from_iso, iso
from shared.domain.usage import UsageRecord


@dataclass(frozen=True, slots=True)
class CallPlan:
    """What the meter must know of a model call before it leaves."""

    caller: Caller
    request_id: str
    use_case: str
    use_case_version: str
    model: str
    group: str
    prompt_tokens: int
    max_tokens: int
    # The queued job this call runs for ("" for a direct call).
    job_id: str = ""

    @property
    def estimated_tokens(self) -> int:
        """What Azure charges against quota at admission, and the most the call can cost."""
        return self.prompt_tokens + self.max_tokens


@dataclass(frozen=True, slots=True)
class BudgetHold:
    """The budget reservation made for one call: what was added to each scope's counters."""

    month: str
    scopes: tuple[str, ...]
    tokens: int
    cost_nano: int


@dataclass(frozen=True, slots=True)
class UsageIntent:
    request_id: str
    business_unit: str
    user_id: str
    use_case: str
    use_case_version: str
    model: str
    group: str
    prompt_tokens: int
    max_tokens: int
    created_at: datetime
    # Past it the call has surely ended (the router's deadline plus the time to settle).
    deadline: datetime
    job_id: str = ""
    hold: BudgetHold | None = None

    @classmethod
    def of(
        cls, plan: CallPlan, at: datetime, settle_within: timedelta, hold: BudgetHold | None
    ) -> UsageIntent:
        return cls(
            request_id=plan.request_id,
            business_unit=plan.caller.business_unit,
            user_id=plan.caller.user_id,
            use_case=plan.use_case,
            use_case_version=plan.use_case_version,
            model=plan.model,
            group=plan.group,
            prompt_tokens=plan.prompt_tokens,
            max_tokens=plan.max_tokens,
            created_at=at,
            deadline=at + settle_within,
            job_id=plan.job_id,
            hold=hold,
        )

    def interrupted_record(self) -> UsageRecord:
        """The most a call cut off by a crash can have cost: its prompt as the gateway counted
        it and every token ``max_tokens`` allowed (Azure bills no more), flagged as estimated.
        Unpriced: the meter prices it."""
        return UsageRecord(
            request_id=self.request_id,
            business_unit=self.business_unit,
            user_id=self.user_id,
            use_case=self.use_case,
            use_case_version=self.use_case_version,
            model=self.model,
            deployment="",
            region="",
            prompt_tokens=self.prompt_tokens,
            cached_tokens=0,
            completion_tokens=self.max_tokens,
            reasoning_tokens=0,
            estimated=True,
            cache_hit=False,
            latency_ms=0.0,
            outcome="interrupted",
            created_at=self.created_at,
            job_id=self.job_id,
        )

    def to_doc(self) -> dict[str, Any]:
        hold = self.hold
        return {
            "request_id": self.request_id,
            "business_unit": self.business_unit,
            "user_id": self.user_id,
            "use_case": self.use_case,
            "use_case_version": self.use_case_version,
            "model": self.model,
            "group": self.group,
            "prompt_tokens": self.prompt_tokens,
            "max_tokens": self.max_tokens,
            "created_at": iso(self.created_at),
            "deadline": iso(self.deadline),
            "job_id": self.job_id,
            "hold": None
            if hold is None
            else {
                "month": hold.month,
                "scopes": list(hold.scopes),
                "tokens": hold.tokens,
                "cost_nano": hold.cost_nano,
            },
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> UsageIntent:
        hold = doc.get("hold")
        return cls(
            request_id=doc["request_id"],
            business_unit=doc["business_unit"],
            user_id=doc["user_id"],
            use_case=doc["use_case"],
            use_case_version=doc["use_case_version"],
            model=doc["model"],
            group=doc["group"],
            prompt_tokens=int(doc["prompt_tokens"]),
            max_tokens=int(doc["max_tokens"]),
            created_at=from_iso(doc["created_at"]),
            deadline=from_iso(doc["deadline"]),
            job_id=doc.get("job_id", ""),
            hold=None
            if not hold
            else BudgetHold(
                month=hold["month"],
                scopes=tuple(hold["scopes"]),
                tokens=int(hold["tokens"]),
                cost_nano=int(hold["cost_nano"]),
            ),
        )
