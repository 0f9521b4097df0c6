"""Chat sessions: the history lives in the session store, each turn is one metered model call.

A session belongs to its business unit (the store partition) and its user; anyone else gets 404,
not 403, so a session id reveals nothing. Sessions expire after ``gateway_session_ttl_seconds``
idle: every write pushes ``expires_at`` (the store's TTL); an expired session is a 404.

Concurrency is optimistic, on the session's etag: read, call the model, then ``replace`` the
session with the new turn if the etag still matches. On ``ConcurrencyConflict`` (another message
landed first) the session is re-read and the SAME reply appended again, up to
``APPEND_ATTEMPTS`` writes in all. The model is not called again, so a turn is never paid twice;
the price is that this reply was written without the concurrent turn in its prompt, and is
stored after it. Still conflicting → 409 ``session_busy``; the reply was metered (it was
generated) but is not stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.catalog import Catalog, UseCase
from shared.domain.caller import Caller
from shared.domain.chat import ChatRequest, ChatResult
from shared.domain.errors import Conflict, Forbidden, NotFound
from shared.domain.records import ChatSession, Turn
from shared.domain.usage import UsageRecord
from shared.handlers.chat_prompt import fit_prompt, prompt_budget
from shared.handlers.deps import ChatDeps
from shared.handlers.output import truncated
from shared.handlers.prepare import PreparedCall
from shared.handlers.results import (
    ChatReply,
    ChatTurnAnswer,
    SessionCreated,
    SessionTurn,
    SessionView,
    TokenUsage,
)
from shared.handlers.streaming import ReplyStream, open_stream
from shared.handlers.usecase_call import metered_call
from shared.handlers.validation import validate
from shared.ports import AlreadyExists, ConcurrencyConflict

APPEND_ATTEMPTS = 3
DEFAULT_CHAT_USE_CASE = "chat"


class CreateSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    use_case: str = DEFAULT_CHAT_USE_CASE


@dataclass(frozen=True, slots=True)
class TurnCall:
    session: ChatSession
    call: PreparedCall
    turns_dropped: int


def new_session_id() -> str:
    # 24 random bytes → 32 url-safe characters: unguessable, and within SESSION_ID's 16-64.
    return secrets.token_urlsafe(24)


def chat_usecase(catalog: Catalog, caller: Caller, usecase_id: str) -> UseCase:
    usecase = catalog.get(usecase_id)
    if usecase is None or usecase.output.kind != "chat":
        raise NotFound(f"no chat use case {usecase_id!r}", code="unknown_use_case")
    if not usecase.allows(caller.business_unit):
        raise Forbidden(
            f"business unit {caller.business_unit!r} may not use {usecase.id!r}",
            code="use_case_not_allowed",
        )
    return usecase


async def create_session(deps: ChatDeps, caller: Caller, body: Any) -> SessionCreated:
    usecase = chat_usecase(deps.catalog, caller, validate(CreateSession, body).use_case)
    now = deps.calls.now()
    expires = now + timedelta(seconds=deps.ttl_seconds)
    for _ in range(3):  # a collision of 192 random bits is not expected; retry, don't overwrite
        session = ChatSession(
            new_session_id(), caller.business_unit, caller.user_id, usecase.id, now, now, expires
        )
        try:
            await deps.sessions.create(session)
        except AlreadyExists:
            continue
        return SessionCreated(
            session_id=session.id,
            use_case=usecase.id,
            expires_at=session.expires_at,
            max_turns=deps.max_turns,
        )
    raise Conflict("could not allocate a session id; retry", code="session_id_collision")


async def load_session(deps: ChatDeps, caller: Caller, session_id: str) -> ChatSession:
    session = await deps.sessions.get(caller.business_unit, session_id)
    if (
        session is None
        or session.user_id != caller.user_id
        or session.expires_at <= deps.calls.now()
    ):
        raise NotFound("no such chat session (it may have expired)", code="session_not_found")
    return session


async def delete_session(deps: ChatDeps, caller: Caller, session_id: str) -> None:
    await load_session(deps, caller, session_id)  # ownership first: 404 for anyone else's
    await deps.sessions.delete(caller.business_unit, session_id)


def session_view(deps: ChatDeps, session: ChatSession) -> SessionView:
    return SessionView(
        session_id=session.id,
        use_case=session.use_case,
        created_at=session.created_at,
        updated_at=session.updated_at,
        expires_at=session.expires_at,
        max_turns=deps.max_turns,
        turns=[
            SessionTurn(
                turn=n,
                request_id=t.request_id,
                user=t.user,
                assistant=t.assistant,
                usage=TokenUsage.of(t.usage),
                at=t.at,
            )
            for n, t in enumerate(session.turns, start=1)
        ],
    )


def _check_room(deps: ChatDeps, session: ChatSession) -> None:
    limit = deps.max_turns
    if len(session.turns) >= limit:
        raise Conflict(
            f"this session has reached its limit of {limit} turns; start a new session",
            code="session_full",
            details={"turns": len(session.turns), "limit": limit},
        )


async def prepare_turn(
    deps: ChatDeps, caller: Caller, session_id: str, body: Any, request_id: str
) -> TurnCall:
    """Load, check and budget everything before the model is called (errors are plain JSON)."""
    session = await load_session(deps, caller, session_id)
    usecase = chat_usecase(deps.catalog, caller, session.use_case)
    payload = validate(usecase.input_model, body).model_dump()
    _check_room(deps, session)
    group = deps.calls.groups.group(usecase.deployment_group)
    prompt = fit_prompt(
        usecase.render(payload)[0].content,
        session.turns,
        payload["content"],
        group.tokenizer,
        prompt_budget(usecase, group.context_window),
    )
    request = ChatRequest(
        request_id=request_id,
        group=group.name,
        messages=prompt.messages,
        max_tokens=usecase.max_output_tokens,
        prompt_tokens=prompt.prompt_tokens,
        temperature=usecase.temperature,
    )
    call = PreparedCall(caller, usecase, payload, request, group.model, cache_key=None)
    return TurnCall(session, call, prompt.turns_dropped)


async def append_turn(deps: ChatDeps, turn_call: TurnCall, turn: Turn) -> ChatSession:
    """Write the turn under the etag read; on conflict re-read and append the same turn."""
    session = turn_call.session
    caller = turn_call.call.caller
    for attempt in range(APPEND_ATTEMPTS):
        if attempt:
            session = await load_session(deps, caller, session.id)
            _check_room(deps, session)
        now = deps.calls.now()
        updated = replace(
            session,
            turns=(*session.turns, turn),
            updated_at=now,
            expires_at=now + timedelta(seconds=deps.ttl_seconds),
        )
        try:
            return await deps.sessions.replace(updated)
        except ConcurrencyConflict:
            continue
    raise Conflict(
        "the session is busy with other messages; the reply was not stored, retry",
        code="session_busy",
        details={"request_id": turn.request_id},
    )


def _turn(deps: ChatDeps, turn_call: TurnCall, result: ChatResult) -> Turn:
    call = turn_call.call
    return Turn(
        request_id=call.request.request_id,
        user=call.payload["content"],
        assistant=result.content.strip(),
        usage=result.usage,
        at=deps.calls.now(),
    )


def _turn_fields(turn_call: TurnCall, stored: ChatSession) -> dict[str, Any]:
    return {
        "turns_dropped": turn_call.turns_dropped,
        "turn": len(stored.turns),
        "session_id": stored.id,
        "expires_at": stored.expires_at.isoformat(),
    }


async def post_message(
    deps: ChatDeps, caller: Caller, session_id: str, body: Any, request_id: str
) -> ChatTurnAnswer:
    turn_call = await prepare_turn(deps, caller, session_id, body, request_id)
    result, _, headers, _ = await metered_call(deps.calls, turn_call.call, request_id, None)
    turn = _turn(deps, turn_call, result)
    stored = await append_turn(deps, turn_call, turn)
    reply = ChatReply(
        reply=turn.assistant,
        finish_reason=result.finish_reason,
        truncated=truncated(result.finish_reason),
        usage=TokenUsage.of(result.usage),
        request_id=request_id,
        model=turn_call.call.model,
        turns_dropped=turn_call.turns_dropped,
        turn=len(stored.turns),
        session_id=stored.id,
        expires_at=stored.expires_at,
    )
    return ChatTurnAnswer(reply, headers)


async def stream_message(
    deps: ChatDeps, caller: Caller, session_id: str, body: Any, request_id: str
) -> ReplyStream:
    """SSE; the turn is stored once the stream has ended (a cancelled one stores nothing)."""
    turn_call = await prepare_turn(deps, caller, session_id, body, request_id)

    async def store_turn(result: ChatResult, record: UsageRecord) -> dict[str, Any]:
        stored = await append_turn(deps, turn_call, _turn(deps, turn_call, result))
        return _turn_fields(turn_call, stored)

    return await open_stream(deps.calls, turn_call.call, on_complete=store_turn)
