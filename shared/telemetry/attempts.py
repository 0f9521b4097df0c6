"""One CLIENT span per upstream attempt, and each deployment's answers counted by status.

The router may try several deployments for one chat call (a 429 fails over at once); the chat
span (tracing.py) covers the call, and each attempt is a child span here, named for the
deployment it went to, with its region, attempt number and HTTP status. The same place counts
the answers per deployment and status, the upstream 429s among them. It wraps the router's
deployments, so it sees every attempt whatever HTTP transport the SDK uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from shared.domain.chat import ChatRequest, ChatResult, StreamEvent, close_stream
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.domain.upstream import UpstreamError, UpstreamUnavailable
from shared.routing.selection import RoutableDeployment
from shared.settings import DeploymentConfig
from shared.telemetry.setup import Telemetry


@dataclass(slots=True)
class AttemptScope:
    """The chat call the current attempts belong to: its span, and how many were made."""

    parent: Span
    count: int = 0


# Set by the chat span at the start of each call. Stream attempts run while the consumer's
# context is current, not the chat span's, so their parent is taken from here explicitly.
attempt_scope: ContextVar[AttemptScope | None] = ContextVar("attempt_scope", default=None)


def start_attempts(parent: Span) -> None:
    attempt_scope.set(AttemptScope(parent))


class TracedDeployment:
    """A RoutableDeployment with a span and a status count around every attempt."""

    def __init__(self, inner: RoutableDeployment, telemetry: Telemetry) -> None:
        self._inner = inner
        self._telemetry = telemetry
        endpoint = urlsplit(str(inner.config.endpoint))
        self._attributes: dict[str, str | int] = {
            "gateway.deployment": inner.name,
            "gateway.region": inner.config.region,
            "server.address": endpoint.hostname or "",
            "server.port": endpoint.port or (443 if endpoint.scheme == "https" else 80),
        }

    @property
    def config(self) -> DeploymentConfig:
        return self._inner.config

    @property
    def name(self) -> str:
        return self._inner.name

    def _start(self) -> Span:
        scope = attempt_scope.get()
        number, context = 1, None
        if scope is not None:
            scope.count += 1
            number, context = scope.count, trace.set_span_in_context(scope.parent)
        return self._telemetry.tracer.start_span(
            f"attempt {self.name}",
            context=context,
            kind=SpanKind.CLIENT,
            attributes={**self._attributes, "gateway.attempt": number},
        )

    def _end(self, span: Span, error: BaseException | None, *, answered: bool = False) -> None:
        """``answered``: a stream already had its 200 when ``error`` (a cancel) came."""
        status = 200 if error is None or answered else getattr(error, "status", None)
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            self._telemetry.instruments.record_upstream_response(self.name, status)
        if error is not None:
            if isinstance(error, UpstreamUnavailable):
                kind = error.kind  # "server", "timeout" or "connection"
            elif isinstance(error, UpstreamError) and status is not None:
                kind = str(status)
            else:
                kind = type(error).__qualname__
            span.set_attribute("error.type", kind)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    async def complete(self, request: ChatRequest) -> ChatResult:
        span = self._start()
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False):
                result = await self._inner.complete(request)
        except BaseException as exc:
            self._end(span, exc)
            raise
        self._end(span, None)
        return result

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        span = self._start()
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False):
                result = await self._inner.embed(request)
        except BaseException as exc:
            self._end(span, exc)
            raise
        self._end(span, None)
        return result

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        span = self._start()
        events = self._inner.stream(request)
        error: BaseException | None = None
        answered = False
        try:
            async for event in events:
                answered = True
                yield event
        except BaseException as exc:
            error = exc
            raise
        finally:
            await close_stream(events)
            self._end(span, error, answered=answered)
