"""Stored records other than usage: cache entries, chat sessions, jobs, queue messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.domain.chat import TokenUsage


@dataclass(frozen=True, slots=True)
class CachedCompletion:
    key: str
    business_unit: str
    use_case: str
    model: str
    content: str
    usage: TokenUsage
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange: the user's message, the assistant's reply and what it cost."""

    request_id: str
    user: str
    assistant: str
    usage: TokenUsage
    at: datetime


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


JobStatus = Literal["queued", "running", "answered", "succeeded", "failed"]


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
    error: dict[str, Any] | None = None
    attempts: int = 0
    etag: str | None = None


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
