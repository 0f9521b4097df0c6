"""Turn a caller's input into an upstream request: authorise, validate, render, count, check."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.catalog import Catalog, UseCase
from shared.deployment_groups import ModelRegistry
from shared.domain.caller import Caller
from shared.domain.chat import ChatRequest, Message
from shared.domain.errors import Forbidden, NotFound, PayloadTooLarge
from shared.handlers.validation import validate

# json.dumps(..., separators=(",", ":"), ensure_ascii=False), its encoder built once.
_ENCODE_KEY = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class PreparedCall:
    caller: Caller
    usecase: UseCase
    payload: dict[str, Any]
    request: ChatRequest
    model: str
    cache_key: str | None


def find_usecase(catalog: Catalog, caller: Caller, usecase_id: str) -> UseCase:
    usecase = catalog.get(usecase_id)
    if usecase is None or usecase.output.kind == "chat":
        raise NotFound(f"no use case {usecase_id!r}", code="unknown_use_case")
    if not usecase.allows(caller.business_unit):
        raise Forbidden(
            f"business unit {caller.business_unit!r} may not use {usecase.id!r}",
            code="use_case_not_allowed",
        )
    return usecase


def check_fits(usecase: UseCase, prompt_tokens: int, max_tokens: int, context_window: int) -> None:
    """413 naming both numbers when the prompt does not fit (issue: checked before any call)."""
    if prompt_tokens > usecase.max_input_tokens:
        raise PayloadTooLarge(
            f"prompt is {prompt_tokens} tokens; use case {usecase.id!r} accepts at most "
            f"{usecase.max_input_tokens}",
            code="prompt_too_large",
            details={"prompt_tokens": prompt_tokens, "limit": usecase.max_input_tokens},
        )
    room = context_window - max_tokens
    if prompt_tokens > room:
        raise PayloadTooLarge(
            f"prompt is {prompt_tokens} tokens; the model's context window of {context_window} "
            f"minus {max_tokens} reserved for output leaves {room}",
            code="context_window_exceeded",
            details={"prompt_tokens": prompt_tokens, "limit": room},
        )


def cache_key(
    usecase: UseCase, business_unit: str, model: str, messages: tuple[Message, ...], extra: Any
) -> str | None:
    """Exact-match key; scoped to the business unit unless the use case is marked shareable."""
    if usecase.cache.mode == "off":
        return None
    scope = "*" if usecase.cache.shareable else business_unit
    material = _ENCODE_KEY(
        [scope, usecase.id, usecase.version, model, [(m.role, m.content) for m in messages], extra]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def prepare(
    usecase: UseCase, caller: Caller, body: Any, request_id: str, models: ModelRegistry
) -> PreparedCall:
    payload = validate(usecase.input_model, body).model_dump()
    return prepare_validated(usecase, caller, payload, request_id, models)


def prepare_validated(
    usecase: UseCase,
    caller: Caller,
    payload: dict[str, Any],
    request_id: str,
    models: ModelRegistry,
) -> PreparedCall:
    group = models.group(usecase.deployment_group)
    messages = usecase.render(payload)
    max_tokens = usecase.max_tokens_for(payload)
    response_format = usecase.response_format()
    key = cache_key(
        usecase,
        caller.business_unit,
        group.model,
        messages,
        [max_tokens, usecase.temperature, response_format],
    )
    # The key is a SHA-256 of the messages: a repeated prompt (a cache hit) is not re-encoded.
    prompt_tokens = group.tokenizer.count_messages(messages, digest=key)
    check_fits(usecase, prompt_tokens, max_tokens, group.context_window)
    request = ChatRequest(
        request_id=request_id,
        group=group.name,
        messages=messages,
        max_tokens=max_tokens,
        prompt_tokens=prompt_tokens,
        temperature=usecase.temperature,
        response_format=response_format,
    )
    return PreparedCall(caller, usecase, payload, request, group.model, key)
