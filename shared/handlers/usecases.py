"""The governed use-case endpoints: run one (sync or queued) and list what a caller may use."""

from __future__ import annotations

from typing import Any

from shared.catalog import Catalog
from shared.domain.caller import Caller
from shared.domain.errors import BadRequest
from shared.domain.upstream import NoCapacity
from shared.handlers.deps import UseCaseDeps
from shared.handlers.overflow import enqueue
from shared.handlers.prepare import find_usecase, prepare, with_cache_control
from shared.handlers.results import Queued, UseCaseAnswer, UseCaseInfo, UseCaseList
from shared.handlers.usecase_call import execute


async def run_usecase(
    deps: UseCaseDeps,
    caller: Caller,
    usecase_id: str,
    body: Any,
    request_id: str,
    *,
    prefer_async: bool,
    cache_control: str = "",
) -> UseCaseAnswer | Queued:
    usecase = find_usecase(deps.catalog, caller, usecase_id)
    call = prepare(usecase, caller, body, request_id, deps.calls.groups)
    call = with_cache_control(call, cache_control)
    if prefer_async:
        if not usecase.async_allowed:
            raise BadRequest(
                f"use case {usecase.id!r} does not run asynchronously",
                code="async_not_supported",
            )
        return await enqueue(deps, call, retry_after=1.0)
    try:
        return await execute(deps.calls, call)
    except NoCapacity as exc:
        if not usecase.async_allowed:
            raise
        # Every deployment is saturated: queue instead of failing (202 + a job to poll).
        return await enqueue(deps, call, exc.retry_after)


def list_usecases(catalog: Catalog, caller: Caller) -> UseCaseList:
    return UseCaseList(
        use_cases=[
            UseCaseInfo(
                id=u.id,
                version=u.version,
                description=u.description,
                kind=u.output.kind,
                async_allowed=u.async_allowed,
                max_input_tokens=u.max_input_tokens,
                max_output_tokens=u.max_output_tokens,
                input_schema=u.input_model.model_json_schema(),
                path="/api/v1/chat/sessions" if u.output.kind == "chat" else f"/api/v1/{u.id}",
            )
            for u in catalog.for_business_unit(caller.business_unit)
        ]
    )
