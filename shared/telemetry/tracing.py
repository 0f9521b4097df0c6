"""Spans: one SERVER span per gateway request, one CLIENT span per upstream chat call.

The chat span follows the GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/, Azure OpenAI provider name
``azure.ai.openai``; ``gen_ai.system`` is its deprecated predecessor, still read by older
back ends, so both are set). Each failover attempt is a child span of it (attempts.py).
Which business unit and use case a call serves reaches the chat span through ``call_labels``,
set when the meter admits the call (the router's ChatRequest does not carry them).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.requests import Request
from starlette.responses import Response

from shared.deployment_groups import DeploymentGroups
from shared.domain.chat import ChatRequest, ChatResult, StreamEnd, StreamEvent, close_stream
from shared.ports import ChatModel
from shared.telemetry.attempts import start_attempts
from shared.telemetry.logs import RequestContext, log_completion, log_prompt, request_context
from shared.telemetry.metrics import PROVIDER
from shared.telemetry.setup import Telemetry, active

# A caller's x-request-id is only echoed into telemetry: bound its size and alphabet.
CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


@dataclass(frozen=True, slots=True)
class CallLabels:
    business_unit: str
    use_case: str


call_labels: ContextVar[CallLabels | None] = ContextVar("call_labels", default=None)


def route_template(request: Request) -> str:
    """The matched route ("/api/v1/{usecase}"), never the raw path: bounded span names."""
    path = getattr(request.scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    segments = request.url.path.split("/")
    for name, value in request.path_params.items():
        for i in range(len(segments) - 1, -1, -1):
            if segments[i] == str(value):
                segments[i] = "{" + name + "}"
                break
    return "/".join(segments)


def client_request_id(request: Request) -> str | None:
    value = request.headers.get("x-request-id", "").strip()
    return value if CLIENT_REQUEST_ID.fullmatch(value) else None


async def observe_request(
    request: Request, request_id: str, run: Callable[[], Awaitable[Response]]
) -> Response:
    """Run one request inside its span, with its ids in the log context."""
    token = request_context.set(RequestContext(request_id, client_request_id(request)))
    try:
        telemetry = active()
        if telemetry is None:
            return await run()
        return await _traced(telemetry, request, request_id, run)
    finally:
        request_context.reset(token)


def invocation_parent(request: Request) -> tuple[Context | None, SpanKind]:
    """Where this request's span hangs.

    Under the Functions host the worker has attached the invocation's trace context, taken from
    the host's own request span (its traceparent), before calling the function: the span is
    that span's child (INTERNAL: the host's span is the request), so an invocation is one
    trace. With no host span (the local host), a caller's (APIM's) traceparent, if any, parents
    a SERVER span.
    """
    if trace.get_current_span().get_span_context().is_valid:
        return None, SpanKind.INTERNAL
    return propagate.extract(dict(request.headers)), SpanKind.SERVER


async def _traced(
    telemetry: Telemetry, request: Request, request_id: str, run: Callable[[], Awaitable[Response]]
) -> Response:
    route = route_template(request)
    method = request.method
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "http.route": route,
        "url.path": request.url.path,
        "gateway.request_id": request_id,
    }
    ctx = request_context.get()
    if ctx and ctx.client_request_id:
        attributes["gateway.client_request_id"] = ctx.client_request_id
    parent, kind = invocation_parent(request)
    started = time.perf_counter()
    with telemetry.tracer.start_as_current_span(
        f"{method} {route}", context=parent, kind=kind, attributes=attributes
    ) as span:
        response = await run()
        status = response.status_code
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
    telemetry.instruments.request_duration.record(
        time.perf_counter() - started,
        {"http.request.method": method, "http.route": route, "http.response.status_code": status},
    )
    return response


class TracedChatModel:
    """The ChatModel port with a GenAI span and a duration metric around every call."""

    def __init__(
        self, inner: ChatModel, telemetry: Telemetry, groups: DeploymentGroups | None
    ) -> None:
        self._inner = inner
        self._telemetry = telemetry
        self._groups = groups

    def _model(self, group: str) -> str:
        if self._groups is None:
            return group
        try:
            return self._groups.group(group).model
        except KeyError:
            return group

    def _start(self, request: ChatRequest) -> tuple[Span, dict[str, Any]]:
        model = self._model(request.group)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.system": PROVIDER,
            "gen_ai.request.model": model,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature,
            "gateway.deployment_group": request.group,
            "gateway.request_id": request.request_id,
        }
        labels = call_labels.get()
        if labels is not None:
            attributes["gateway.business_unit"] = labels.business_unit
            attributes["gateway.use_case"] = labels.use_case
        span = self._telemetry.tracer.start_span(
            f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes
        )
        start_attempts(span)
        return span, attributes

    def _finish(
        self,
        span: Span,
        attributes: dict[str, Any],
        started: float,
        result: ChatResult | None,
        error: BaseException | None,
    ) -> None:
        metric = {k: attributes[k] for k in ("gen_ai.operation.name", "gen_ai.provider.name")}
        metric["gen_ai.request.model"] = attributes["gen_ai.request.model"]
        if result is not None:
            span.set_attributes(_result_attributes(result))
            metric["gen_ai.response.model"] = result.model
            metric["gateway.deployment"] = result.deployment
        if error is not None:
            metric["error.type"] = type(error).__qualname__
            span.set_attribute("error.type", metric["error.type"])
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        self._telemetry.instruments.operation_duration.record(time.perf_counter() - started, metric)
        span.end()
        labels = call_labels.get()
        if result is not None and labels and labels.use_case in self._telemetry.log_prompts_for:
            log_completion(labels.use_case, result.content)

    async def complete(self, request: ChatRequest) -> ChatResult:
        span, attributes = self._start(request)
        started = time.perf_counter()
        self._maybe_log_prompt(request)
        try:
            # Current while the router works: each attempt's span nests under this one.
            with trace.use_span(span, end_on_exit=False, record_exception=False):
                result = await self._inner.complete(request)
        except BaseException as exc:
            self._finish(span, attributes, started, None, exc)
            raise
        self._finish(span, attributes, started, result, None)
        return result

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        span, attributes = self._start(request)
        started = time.perf_counter()
        self._maybe_log_prompt(request)
        events = self._inner.stream(request)
        result: ChatResult | None = None
        error: BaseException | None = None
        try:
            async for event in events:
                if isinstance(event, StreamEnd):
                    result = event.result
                yield event
        except BaseException as exc:
            error = exc
            raise
        finally:
            await close_stream(events)
            self._finish(span, attributes, started, result, error)

    def _maybe_log_prompt(self, request: ChatRequest) -> None:
        # Only for use cases GATEWAY_LOG_PROMPTS_FOR names; never otherwise.
        labels = call_labels.get()
        if labels and labels.use_case in self._telemetry.log_prompts_for:
            log_prompt(labels.use_case, request.messages)


def _result_attributes(result: ChatResult) -> dict[str, Any]:
    return {
        "gen_ai.response.model": result.model,
        "gen_ai.response.finish_reasons": [result.finish_reason],
        "gen_ai.usage.input_tokens": result.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": result.usage.completion_tokens,
        "gateway.deployment": result.deployment,
        "gateway.region": result.region,
        "gateway.attempts": result.attempts,
        "gateway.usage_estimated": result.usage.estimated,
    }
