"""HTTP triggers for the governed use cases: POST /api/v1/{usecase}, GET /api/v1/usecases."""

from __future__ import annotations

import azure.functions as func
from azurefunctions.extensions.http.fastapi import (
    Request,
    Response,
    StreamingResponse,
)

from functions.http_frame import Context, answer_response, model_response, serve
from shared.handlers.results import Queued
from shared.handlers.streaming import open_usecase_stream
from shared.handlers.usecases import list_usecases, run_usecase
from shared.http.request import header, preferences, read_json, route_param
from shared.http.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_frames, wants_stream

bp = func.Blueprint()


@bp.route(route="v1/usecases", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def usecases_list(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        return model_response(list_usecases(ctx.gateway.catalog, ctx.caller))

    return await serve(req, handle)


@bp.route(route="v1/{usecase}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def usecase_run(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        body = await read_json(request, ctx.gateway.settings.gateway_max_body_bytes)
        usecase_id = route_param(request, "usecase")
        # "stream" is popped before validation; Prefer: respond-async is then ignored (RFC 7240).
        if wants_stream(body, header(request.headers, "accept")):
            stream = await open_usecase_stream(
                ctx.gateway.usecases,
                ctx.caller,
                usecase_id,
                body,
                ctx.request_id,
                header(request.headers, "cache-control"),
            )
            return StreamingResponse(
                sse_frames(stream.events, ctx.request_id),
                media_type=SSE_MEDIA_TYPE,
                headers={**SSE_HEADERS, **stream.headers},
            )
        prefer_async = "respond-async" in preferences(request.headers)
        answer = await run_usecase(
            ctx.gateway.usecases,
            ctx.caller,
            usecase_id,
            body,
            ctx.request_id,
            prefer_async=prefer_async,
            cache_control=header(request.headers, "cache-control"),
        )
        response = answer_response(answer)
        if prefer_async and isinstance(answer, Queued):
            response.headers["Preference-Applied"] = "respond-async"  # RFC 7240 §3
        return response

    return await serve(req, handle)
