"""The simulator's ASGI app: Azure OpenAI chat completions and embeddings, plus a small control
surface.

Order of decisions per request, as Azure takes them: key, api-version, deployment, body; then
fault injection; then quota. Faults (500/503/timeout) are decided BEFORE the quota is charged, so
a failed request consumes no TPM/RPM -- which matches Azure not billing failed calls and keeps a
fault-injection test from also exhausting quota. Latency and hang times are real time; only the
quota window runs on the compressed clock (simulated seconds = real seconds * time_scale).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from simulator import responses as azure
from simulator.chat_request import ChatCall, InvalidRequest, parse_chat_call
from simulator.config import SimDeployment, SimulatorConfig
from simulator.content import generate, request_rng
from simulator.embeddings import (
    DEFAULT_DIMENSIONS,
    MAX_INPUT_TOKENS,
    EmbeddingCall,
    embeddings_body,
    lexical_embedding,
    parse_embedding_call,
)
from simulator.state import DeploymentState
from simulator.streaming import event_stream

FAULT_HEADER = "x-sim-fault"
FAULTS = frozenset({"500", "503", "429", "timeout", "no-usage"})
# What a forced 429 (x-sim-fault: 429) tells the client to wait, in real seconds.
FORCED_RETRY_AFTER = 1.0

T = TypeVar("T")


class Simulator:
    """Holds every deployment's live state; one per app."""

    def __init__(self, config: SimulatorConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.deployments = {d.name: DeploymentState(d) for d in config.deployments}
        self.fault_rng = random.Random(config.seed)

    def now(self) -> float:
        """Simulated seconds."""
        return self.clock() * self.config.time_scale

    def reset(self) -> None:
        for state in self.deployments.values():
            state.reset()
        self.fault_rng = random.Random(self.config.seed)

    def draw_fault(self, spec: SimDeployment) -> str:
        if not (spec.fault_rate or spec.timeout_rate):
            return ""
        draw = self.fault_rng.random()
        if draw < spec.timeout_rate:
            return "timeout"
        if draw < spec.timeout_rate + spec.fault_rate:
            return self.fault_rng.choice(("500", "503"))
        return ""

    async def _checked(
        self, request: Request, parse: Callable[[DeploymentState, bytes], T]
    ) -> tuple[DeploymentState, T, str, str] | Response:
        """Key, api-version, deployment, body, then faults, as Azure decides them: the state,
        the parsed call, the api-version and the fault left to act on (or the error answer)."""
        headers = request.headers
        bearer = headers.get("authorization", "")[:7].lower() == "bearer "
        if "api-key" not in headers and not bearer:
            return azure.unauthorized()
        api_version = request.query_params.get("api-version")
        if not api_version:
            return azure.not_found()  # what Azure answers without ?api-version=
        state = self.deployments.get(request.path_params["deployment"])
        if state is None:
            return azure.deployment_not_found()
        state.stats.requests += 1
        fault = headers.get(FAULT_HEADER, "")
        try:
            if fault and fault not in FAULTS:
                raise InvalidRequest(f"{FAULT_HEADER} must be one of {sorted(FAULTS)}")
            call = parse(state, await request.body())
        except InvalidRequest as exc:
            state.stats.bad_requests += 1
            return azure.bad_request(str(exc))
        except UnsupportedOperation as exc:
            state.stats.bad_requests += 1
            return azure.operation_not_supported(exc.operation, state.spec.model)
        fault = fault or self.draw_fault(state.spec)
        if fault in ("500", "503", "timeout"):
            state.stats.faults += 1
            if fault != "timeout":
                return azure.server_error(int(fault))
            await asyncio.sleep(state.spec.hang_seconds)
            return azure.timed_out()
        return state, call, api_version, fault

    async def chat_completions(self, request: Request) -> Response:
        checked = await self._checked(request, _parse_chat)
        if isinstance(checked, Response):
            return checked
        state, call, api_version, fault = checked
        if fault == "429":
            return self._forced_429(state, api_version, "ChatCompletions_Create")
        return await self._serve(state, call, api_version, include_usage=fault != "no-usage")

    async def embeddings(self, request: Request) -> Response:
        checked = await self._checked(request, _parse_embeddings)
        if isinstance(checked, Response):
            return checked
        state, call, api_version, fault = checked
        if fault == "429":
            return self._forced_429(state, api_version, "Embeddings_Create")
        return await self._serve_embeddings(state, call, api_version)

    def _forced_429(self, state: DeploymentState, api_version: str, operation: str) -> Response:
        state.stats.throttled += 1
        tokens_left, requests_left = state.quota.remaining(self.now())
        return azure.throttled(
            api_version, "tokens", FORCED_RETRY_AFTER, tokens_left, requests_left, operation
        )

    async def _serve_embeddings(
        self, state: DeploymentState, call: EmbeddingCall, api_version: str
    ) -> Response:
        """Charged at admission with its input tokens (there is no max_tokens to add)."""
        spec, stats = state.spec, state.stats
        counts = [state.tokenizer.count(text) for text in call.texts]
        too_long = max(counts)
        if too_long > MAX_INPUT_TOKENS:
            stats.bad_requests += 1
            return azure.context_length_exceeded(MAX_INPUT_TOKENS + 1, too_long)
        prompt_tokens = sum(counts)
        admission = state.quota.try_admit(prompt_tokens, self.now())
        if not admission.admitted:
            stats.throttled += 1
            return azure.throttled(
                api_version,
                admission.limit,
                admission.retry_after / self.config.time_scale,
                admission.remaining_tokens,
                admission.remaining_requests,
                "Embeddings_Create",
            )
        dimensions = call.dimensions or DEFAULT_DIMENSIONS
        vectors = [lexical_embedding(text, dimensions) for text in call.texts]
        if spec.latency_ms:
            await asyncio.sleep(spec.latency_ms / 1000)
        stats.ok += 1
        _count_served(state, prompt_tokens, 0)
        request_id = str(uuid.uuid4())
        headers = {
            "x-ratelimit-remaining-tokens": str(admission.remaining_tokens),
            "x-ratelimit-remaining-requests": str(admission.remaining_requests),
            "x-request-id": request_id,
            "apim-request-id": request_id,
        }
        body = embeddings_body(spec.model, vectors, call.encoding_format, prompt_tokens)
        return Response(azure.dumps(body), headers=headers, media_type=azure.JSON)

    async def _serve(
        self, state: DeploymentState, call: ChatCall, api_version: str, *, include_usage: bool
    ) -> Response:
        spec, quota, stats = state.spec, state.quota, state.stats
        now = self.now()
        prompt_tokens = state.tokenizer.count_messages(call.messages)
        admission = quota.try_admit(prompt_tokens + call.max_tokens, now)
        if not admission.admitted:
            stats.throttled += 1
            return azure.throttled(
                api_version,
                admission.limit,
                admission.retry_after / self.config.time_scale,
                admission.remaining_tokens,
                admission.remaining_requests,
            )
        seed = self.config.seed
        rng = request_rng(call.raw_messages, call.max_tokens, call.response_format, seed)
        reply = generate(rng, state.tokenizer, call.max_tokens, call.response_format)
        request_id = str(uuid.uuid4())
        headers = {
            "x-ratelimit-remaining-tokens": str(admission.remaining_tokens),
            "x-ratelimit-remaining-requests": str(admission.remaining_requests),
            "x-request-id": request_id,
            "apim-request-id": request_id,
        }
        completion_id = "chatcmpl-" + request_id.replace("-", "")[:24]
        created = int(time.time())
        usage = azure.usage(prompt_tokens, reply)
        if spec.latency_ms:
            await asyncio.sleep(spec.latency_ms / 1000)  # time to first token
        if call.stream:
            stream = event_stream(
                completion_id,
                created,
                spec.model,
                reply,
                usage if call.include_usage and include_usage else None,
                pause_per_token=spec.latency_per_token_ms / 1000,
                on_complete=lambda: _count_served(state, prompt_tokens, reply.completion_tokens),
            )
            stats.ok += 1  # the 200 is sent; its tokens count once the stream is complete
            return StreamingResponse(stream, headers=headers, media_type="text/event-stream")
        if spec.latency_per_token_ms:
            await asyncio.sleep(spec.latency_per_token_ms * reply.completion_tokens / 1000)
        stats.ok += 1
        _count_served(state, prompt_tokens, reply.completion_tokens)
        body = azure.completion(
            completion_id, created, spec.model, reply, usage if include_usage else None
        )
        return Response(azure.dumps(body), headers=headers, media_type=azure.JSON)

    async def stats(self, request: Request) -> Response:
        return JSONResponse({n: s.stats.as_dict() for n, s in self.deployments.items()})

    async def reset_all(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"reset": True})

    async def update_deployment(self, request: Request) -> Response:
        state = self.deployments.get(request.path_params["name"])
        if state is None:
            return azure.deployment_not_found()
        try:
            patch = json.loads(await request.body())
            if not isinstance(patch, dict):
                raise ValueError("the body must be a JSON object")
            state.update(patch)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            return azure.bad_request(f"invalid deployment change: {exc}")
        return JSONResponse(state.spec.model_dump())


class UnsupportedOperation(Exception):
    """A chat call to an embeddings deployment, or the other way round."""

    def __init__(self, operation: str) -> None:
        super().__init__(operation)
        self.operation = operation


def is_embeddings_model(model: str) -> bool:
    return model.startswith("text-embedding")


def _parse_chat(state: DeploymentState, body: bytes) -> ChatCall:
    if is_embeddings_model(state.spec.model):
        raise UnsupportedOperation("chatCompletion")
    return parse_chat_call(body)


def _parse_embeddings(state: DeploymentState, body: bytes) -> EmbeddingCall:
    if not is_embeddings_model(state.spec.model):
        raise UnsupportedOperation("embeddings")
    return parse_embedding_call(body, state.tokenizer.decode, state.spec.model)


def _count_served(state: DeploymentState, prompt_tokens: int, completion_tokens: int) -> None:
    state.stats.prompt_tokens += prompt_tokens
    state.stats.completion_tokens += completion_tokens


async def _not_found(request: Request, exc: Exception) -> Response:
    return azure.not_found()


def create_app(config: SimulatorConfig, clock: Callable[[], float] = time.monotonic) -> Starlette:
    """The simulator as an ASGI app; ``clock`` returns real seconds (inject a fake in tests)."""
    sim = Simulator(config, clock)
    app = Starlette(
        routes=[
            Route(
                "/openai/deployments/{deployment}/chat/completions",
                sim.chat_completions,
                methods=["POST"],
            ),
            Route(
                "/openai/deployments/{deployment}/embeddings",
                sim.embeddings,
                methods=["POST"],
            ),
            Route("/_sim/stats", sim.stats, methods=["GET"]),
            Route("/_sim/reset", sim.reset_all, methods=["POST"]),
            Route("/_sim/deployments/{name}", sim.update_deployment, methods=["POST"]),
        ],
        exception_handlers={404: _not_found},
    )
    app.state.simulator = sim
    return app
