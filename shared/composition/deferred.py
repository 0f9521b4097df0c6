"""A deployment whose SDK client is made at its first call, not when the gateway is built.

Importing the ``openai`` SDK (~0.45 s of CPU: hundreds of pydantic models) and making a client
(~20-50 ms each: an aiohttp session and a TLS context) is most of what building the gateway cost.
A new instance's health and readiness probes, a cache hit and a deployment the router never
picks need neither, so each deployment connects when the router first sends it a call. The
router still sees every deployment's configuration (headroom, breakers) from the start.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable

from shared.domain.chat import ChatRequest, ChatResult, StreamEvent
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.routing.selection import RoutableDeployment
from shared.settings import DeploymentConfig

Closer = Callable[[], Awaitable[None]]
Connect = Callable[[], tuple[RoutableDeployment, Closer]]


class DeferredDeployment:
    """The RoutableDeployment port, connected on first use; ``close`` closes what was made."""

    def __init__(self, config: DeploymentConfig, connect: Connect) -> None:
        self.config = config
        self.name = config.name
        self._connect = connect
        self._deployment: RoutableDeployment | None = None
        self._close: Closer | None = None

    @property
    def connected(self) -> bool:
        return self._deployment is not None

    def _connected(self) -> RoutableDeployment:
        # Synchronous, so two first calls on one event loop cannot both connect.
        if self._deployment is None:
            self._deployment, self._close = self._connect()
            # What connecting built (the SDK's modules and types, the client) lives as long as
            # the process: out of the collector's full passes, as start-up's heap (root.py).
            gc.freeze()
        return self._deployment

    async def complete(self, request: ChatRequest) -> ChatResult:
        return await self._connected().complete(request)

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        return self._connected().stream(request)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        return await self._connected().embed(request)

    async def close(self) -> None:
        close, self._close, self._deployment = self._close, None, None
        if close is not None:
            await close()
