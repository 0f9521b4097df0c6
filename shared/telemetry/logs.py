"""Structured logs: every record carries the request id of the call it belongs to.

The request id lives in a context variable set by the HTTP frame (``observe_request``), so any
logger, ours or a library's, gets ``record.request_id`` and ``record.client_request_id`` without
passing them around. The Azure Monitor log exporter turns such record attributes into
customDimensions, which is what makes "all logs of request X" one query.

Prompts and completions are customer data: they are never logged unless ``GATEWAY_LOG_PROMPTS_FOR``
names the use case (for debugging one use case, on purpose, for a while).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from shared.domain.chat import Message

prompt_log = logging.getLogger("gateway.prompts")


@dataclass(frozen=True, slots=True)
class RequestContext:
    # Server-generated: it keys the usage record, so it is never taken from the caller.
    request_id: str
    # What the caller sent as x-request-id: kept only to correlate with the caller's own logs.
    client_request_id: str | None = None


request_context: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)

_installed = False


def current_request_id() -> str | None:
    ctx = request_context.get()
    return ctx.request_id if ctx else None


def install_log_context() -> None:
    """Stamp request ids on every log record (once per process; cheap: one context lookup)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        ctx = request_context.get()
        record.request_id = ctx.request_id if ctx else "-"
        record.client_request_id = (ctx.client_request_id if ctx else None) or "-"
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def log_prompt(use_case: str, messages: Sequence[Message]) -> None:
    """The rendered prompt of a use case that opted in (GATEWAY_LOG_PROMPTS_FOR)."""
    rendered = [{"role": m.role, "content": m.content} for m in messages]
    prompt_log.info("prompt use_case=%s messages=%s", use_case, rendered)


def log_completion(use_case: str, completion: str) -> None:
    prompt_log.info("completion use_case=%s content=%s", use_case, completion)
