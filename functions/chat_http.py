"""HTTP triggers for chat sessions under /api/v1/chat/sessions (see shared/handlers/chat.py)."""

from __future__ import annotations

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import (
    Request,
    Response,
    StreamingResponse,
)

from functions.http_frame import Context, model_response, serve
from shared.handlers.chat import (
    create_session,
    delete_session,
    load_session,
    post_message,
    session_view,
    stream_message,
)
from shared.http.request import read_json, session_id_param
from shared.http.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_frames, wants_stream

bp = func.Blueprint()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length != "0") or "transfer-encoding" in request.headers


@bp.route(route="v1/chat/sessions", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def chat_session_create(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        # The body is optional: {"use_case": ...} picks another chat use case than "chat".
        body: Any = {}
        if _has_body(request):
            body = await read_json(request, ctx.gateway.settings.gateway_max_body_bytes)
        created = await create_session(ctx.gateway.chat, ctx.caller, body)
        location = f"/api/v1/chat/sessions/{created.session_id}"
        return model_response(created, 201, {"Location": location})

    return await serve(req, handle)


@bp.route(
    route="v1/chat/sessions/{session_id}",
    methods=["GET", "DELETE"],
    auth_level=func.AuthLevel.FUNCTION,
)
async def chat_session(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        session_id = session_id_param(request)
        if request.method == "DELETE":
            await delete_session(ctx.gateway.chat, ctx.caller, session_id)
            return Response(status_code=204)
        session = await load_session(ctx.gateway.chat, ctx.caller, session_id)
        return model_response(session_view(ctx.gateway.chat, session))

    return await serve(req, handle)


@bp.route(
    route="v1/chat/sessions/{session_id}/messages",
    methods=["POST"],
    auth_level=func.AuthLevel.FUNCTION,
)
async def chat_message(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        session_id = session_id_param(request)
        body = await read_json(request, ctx.gateway.settings.gateway_max_body_bytes)
        streamed = wants_stream(body, request.headers.get("accept", ""))  # pops "stream"
        args = (ctx.gateway.chat, ctx.caller, session_id, body, ctx.request_id)
        if streamed:
            stream = await stream_message(*args)
            return StreamingResponse(
                sse_frames(stream.events, ctx.request_id),
                media_type=SSE_MEDIA_TYPE,
                headers={**SSE_HEADERS, **stream.headers},
            )
        turn = await post_message(*args)
        return model_response(turn.reply, headers=turn.headers)

    return await serve(req, handle)
