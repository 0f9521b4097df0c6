"""Stored records other than usage: cache entries, chat sessions, jobs, queue messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.domain.chat import TokenUsage
from shared.domain.timestamps import from_iso, iso


@dataclass(frozen=True, slots=True)
class CachedCompletion:
    key: str
    business_unit: str
    use_case: str
    model: str
    content: str
    usage: TokenUsage
    created_at: datetime
    # Why the model stopped ("length": cut at max_tokens); a hit reports it as the miss did.
    finish_reason: str = "stop"

    def to_doc(self) -> dict[str, Any]:
        """The stored fields as JSON-ready values (expiry is the store's: a column or ``ttl``)."""
        return {
            "key": self.key,
            "business_unit": self.business_unit,
            "use_case": self.use_case,
            "model": self.model,
            "content": self.content,
            "usage": self.usage.as_dict(),
            "created_at": iso(self.created_at),
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> CachedCompletion:
        return cls(
            key=doc["key"],
            business_unit=doc["business_unit"],
            use_case=doc["use_case"],
            model=doc["model"],
            content=doc["content"],
            usage=TokenUsage.from_dict(doc["usage"]),
            created_at=from_iso(doc["created_at"]),
            finish_reason=str(doc.get("finish_reason", "stop")),  # entries cached before it
        )


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange: the user's message, the assistant's reply and what it cost."""

    request_id: str
    user: str
    assistant: str
    usage: TokenUsage
    at: datetime

    def to_doc(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user": self.user,
            "assistant": self.assistant,
            "usage": self.usage.as_dict(),
            "at": iso(self.at),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Turn:
        return cls(
            request_id=doc["request_id"],
            user=doc["user"],
            assistant=doc["assistant"],
            usage=TokenUsage.from_dict(doc["usage"]),
            at=from_iso(doc["at"]),
        )


@dataclass(frozen=True, slots=True)
class ChatSession:
    id: str
    business_unit: str
    user_id: str
    use_case: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    turns: tuple[Turn, ...] = ()
    # Opaque concurrency token from the store (Cosmos _etag, SQLite version); None before create.
    etag: str | None = None

    def to_doc(self) -> dict[str, Any]:
        """The stored fields as JSON-ready values (etag is the store's, not part of the doc)."""
        return {
            "session_id": self.id,
            "business_unit": self.business_unit,
            "user_id": self.user_id,
            "use_case": self.use_case,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "expires_at": iso(self.expires_at),
            "turns": [turn.to_doc() for turn in self.turns],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any], etag: str | None) -> ChatSession:
        return cls(
            id=doc["session_id"],
            business_unit=doc["business_unit"],
            user_id=doc["user_id"],
            use_case=doc["use_case"],
            created_at=from_iso(doc["created_at"]),
            updated_at=from_iso(doc["updated_at"]),
            expires_at=from_iso(doc["expires_at"]),
            turns=tuple(Turn.from_doc(turn) for turn in doc["turns"]),
            etag=etag,
        )


JobStatus = Literal["queued", "running", "answered", "succeeded", "failed"]


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a job failed: the code and message its call would have been answered with."""

    code: str
    message: str
    request_id: str
    details: Any = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "details": self.details,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> JobError:
        # A transient failure noted on a job that is still queued may carry no request id.
        return cls(doc["code"], doc["message"], doc.get("request_id", ""), doc.get("details"))


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    business_unit: str
    user_id: str
    use_case: str
    status: JobStatus
    payload: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    result: dict[str, Any] | None = None
    error: JobError | None = None
    attempts: int = 0
    # While running: until when the current delivery owns the job (another waits for it), and
    # which process holds it (shared/domain/holder.py), so a holder known to be gone is not
    # waited for.
    lease_until: datetime | None = None
    lease_holder: str = ""
    etag: str | None = None

    def to_doc(self) -> dict[str, Any]:
        """The stored fields as JSON-ready values (etag is the store's, not part of the doc)."""
        return {
            "job_id": self.id,
            "business_unit": self.business_unit,
            "user_id": self.user_id,
            "use_case": self.use_case,
            "status": self.status,
            "payload": self.payload,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "expires_at": iso(self.expires_at),
            "result": self.result,
            "error": self.error.to_doc() if self.error else None,
            "attempts": self.attempts,
            "lease_until": iso(self.lease_until) if self.lease_until else None,
            "lease_holder": self.lease_holder,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any], etag: str | None) -> Job:
        lease = doc.get("lease_until")
        return cls(
            id=doc["job_id"],
            business_unit=doc["business_unit"],
            user_id=doc["user_id"],
            use_case=doc["use_case"],
            status=doc["status"],
            payload=doc["payload"],
            created_at=from_iso(doc["created_at"]),
            updated_at=from_iso(doc["updated_at"]),
            expires_at=from_iso(doc["expires_at"]),
            result=doc.get("result"),
            error=JobError.from_doc(doc["error"]) if doc.get("error") else None,
            attempts=int(doc.get("attempts", 0)),
            lease_until=from_iso(lease) if lease else None,
            lease_holder=str(doc.get("lease_holder") or ""),
            etag=etag,
        )


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """What goes on the overflow queue. message_id = job id, so duplicate detection holds."""

    message_id: str
    body: dict[str, Any]
    application_properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A peek-locked message from the embedded queue (Service Bus semantics)."""

    message: QueueMessage
    lock_token: str
    delivery_count: int
    enqueued_at: datetime
