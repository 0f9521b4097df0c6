"""HTTP triggers for the governed use cases: POST /api/v1/{usecase}, GET /api/v1/usecases."""

from __future__ import annotations

import azure.functions as func
from azurefunctions.extensions.http.fastapi import (
    JSONResponse,
    Request,
    Response,
    StreamingResponse,
)

from shared.handlers.streaming import SSE_MEDIA_TYPE, open_usecase_stream, wants_stream
from shared.handlers.usecases import list_usecases, run_usecase
from shared.http.endpoint import Context, answer_response, serve
from shared.http.request import header, read_json, route_param

bp = func.Blueprint()


def _prefers_async(request: Request) -> bool:
    prefer = header(request.headers, "prefer")
    return any(p.strip().lower() == "respond-async" for p in prefer.split(","))


@bp.route(route="v1/usecases", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def usecases_list(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        return JSONResponse(list_usecases(ctx.gateway, ctx.caller))

    return await serve(req, handle)


@bp.route(route="v1/{usecase}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def usecase_run(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        body = await read_json(request, ctx.gateway.settings.gateway_max_body_bytes)
        usecase_id = route_param(request, "usecase")
        # "stream" is popped before validation; Prefer: respond-async is then ignored (RFC 7240).
        if wants_stream(body, header(request.headers, "accept")):
            stream = await open_usecase_stream(
                ctx.gateway, ctx.caller, usecase_id, body, ctx.request_id
            )
            return StreamingResponse(
                stream.frames, media_type=SSE_MEDIA_TYPE, headers=stream.headers
            )
        answer = await run_usecase(
            ctx.gateway,
            ctx.caller,
            usecase_id,
            body,
            ctx.request_id,
            prefer_async=_prefers_async(request),
        )
        return answer_response(answer)

    return await serve(req, handle)
