"""The chat sessions' OpenAPI operations (``/v1/chat/sessions``) and their request schemas."""

from __future__ import annotations

from typing import Any

from shared.catalog import Catalog
from shared.openapi.parts import (
    CALL_ERRORS,
    SSE,
    Operation,
    caller_params,
    json_content,
    ok,
    operation,
    ref,
    request_body,
    with_params,
)
from shared.settings import Settings

SESSION = {"$ref": "#/components/parameters/SessionId"}


def chat_schemas(catalog: Catalog) -> dict[str, Any]:
    chat = catalog.get("chat")
    if chat is not None and chat.output.kind == "chat":
        message = chat.input_model.model_json_schema()
    else:
        message = {"type": "object", "properties": {"content": {"type": "string", "minLength": 1}}}
    properties = {**message.get("properties", {}), "stream": {"type": "boolean", "default": False}}
    create = {
        "type": "object",
        "properties": {"use_case": {"type": "string", "default": "chat"}},
        "additionalProperties": False,
    }
    return {
        "ChatMessageRequest": {**message, "title": "ChatMessageRequest", "properties": properties},
        "CreateSessionRequest": {**create, "title": "CreateSessionRequest"},
    }


def chat_operations(settings: Settings) -> list[Operation]:
    caller = caller_params(settings)
    with_session = with_params(caller, SESSION)
    sessions = "v1/chat/sessions"
    one = f"{sessions}/{{session_id}}"
    created = ok("Session created", json_content(ref("SessionCreated")), "Location")
    session = {"session_id": "$response.body#/session_id"}
    created["links"] = {
        name: {"operationId": op, "parameters": session}
        for name, op in (
            ("GetSession", "get_chat_session"),
            ("PostMessage", "post_chat_message"),
            ("DeleteSession", "delete_chat_session"),
        )
    }
    reply = ok("The reply (or an SSE stream)", {**json_content(ref("ChatReply")), **SSE})
    return [
        (
            sessions,
            "POST",
            operation(
                "create_chat_session",
                "Start a chat session",
                {201: created},
                (400, 401, 403, 404, 409, 413, 415, 500),
                tags=["chat"],
                **caller,
                **request_body(ref("CreateSessionRequest"), required=False),
            ),
        ),
        (
            one,
            "GET",
            operation(
                "get_chat_session",
                "A session and its turns",
                {200: ok("The session", json_content(ref("SessionView")))},
                (400, 401, 403, 404, 500),
                tags=["chat"],
                **with_session,
            ),
        ),
        (
            one,
            "DELETE",
            operation(
                "delete_chat_session",
                "Delete a session",
                {204: ok("Deleted", None)},
                (400, 401, 403, 404, 500),
                tags=["chat"],
                **with_session,
            ),
        ),
        (
            f"{one}/messages",
            "POST",
            operation(
                "post_chat_message",
                "Send a message; the reply is one metered model call",
                {200: reply},
                sorted({*CALL_ERRORS, 404, 409}),
                tags=["chat"],
                **with_session,
                **request_body(ref("ChatMessageRequest")),
            ),
        ),
    ]
