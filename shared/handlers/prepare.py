"""Turn a caller's input into an upstream request: authorise, validate, render, count, check."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from shared.catalog import Catalog, UseCase
from shared.deployment_groups import DeploymentGroups
from shared.domain.caller import Caller
from shared.domain.chat import ChatRequest, Message
from shared.domain.errors import Forbidden, NotFound, PayloadTooLarge
from shared.handlers.validation import validate

CHAT_SESSIONS = "/api/v1/chat/sessions"
# A name from the URL is echoed in the error; past this length it is not a use case id anyway.
MAX_NAME_ECHO = 64
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
    # The queued job this call runs for ("" for a direct call); its usage records say so.
    job_id: str = ""
    # Cache-Control on the request: no-cache skips the lookup, no-store also the fill.
    cache_lookup: bool = True
    cache_fill: bool = True


def with_cache_control(call: PreparedCall, cache_control: str) -> PreparedCall:
    """``Cache-Control: no-cache`` (answer fresh, keep the answer) or ``no-store`` (answer
    fresh, keep nothing) for one request; RFC 9111 section 5.2.1."""
    directives = {d.strip().lower() for d in cache_control.split(",")}
    no_store = "no-store" in directives
    if not (no_store or "no-cache" in directives):
        return call
    return replace(call, cache_lookup=False, cache_fill=not no_store)


def find_usecase(catalog: Catalog, caller: Caller, usecase_id: str) -> UseCase:
    usecase = catalog.get(usecase_id)
    if usecase is not None and usecase.output.kind == "chat":
        raise NotFound(
            f"{usecase.id!r} is a chat use case: start a session with POST {CHAT_SESSIONS} "
            f'{{"use_case": "{usecase.id}"}}, then send turns to '
            f"POST {CHAT_SESSIONS}/{{session_id}}/messages",
            code="unknown_use_case",
            details={"use_case": usecase.id, "path": CHAT_SESSIONS},
        )
    if usecase is None:
        raise unknown_usecase(catalog, caller, usecase_id)
    if not usecase.allows(caller.business_unit):
        raise Forbidden(
            f"business unit {caller.business_unit!r} may not use {usecase.id!r}",
            code="use_case_not_allowed",
        )
    return usecase


def unknown_usecase(catalog: Catalog, caller: Caller, usecase_id: str) -> NotFound:
    """404 for a name the catalog does not have, with the closest names this caller may run."""
    usecases = catalog.for_business_unit(caller.business_unit)
    runnable = [u.id for u in usecases if u.output.kind != "chat"]
    wanted = usecase_id[:MAX_NAME_ECHO]
    close = difflib.get_close_matches(wanted.lower(), runnable, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return NotFound(
        f"no use case {wanted!r}{hint} (GET /api/v1/usecases lists the ones you may run)",
        code="unknown_use_case",
        details={"suggestions": close},
    )


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
    usecase: UseCase, caller: Caller, body: Any, request_id: str, models: DeploymentGroups
) -> PreparedCall:
    payload = validate(usecase.input_model, body).model_dump()
    return prepare_validated(usecase, caller, payload, request_id, models)


def prepare_validated(
    usecase: UseCase,
    caller: Caller,
    payload: dict[str, Any],
    request_id: str,
    models: DeploymentGroups,
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
