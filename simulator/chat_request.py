"""The parts of a chat completions body the simulator acts on, checked like Azure checks them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from shared.domain.chat import Message, Role

DEFAULT_MAX_TOKENS = 1024


class InvalidRequest(ValueError):
    """The body is not a chat completions request; the message is safe to return."""


@dataclass(frozen=True, slots=True)
class ChatCall:
    raw_messages: list[Any]
    messages: tuple[Message, ...]
    max_tokens: int
    response_format: Any
    stream: bool
    include_usage: bool


def _text(content: Any) -> str:
    if content is None:  # an assistant turn that only called tools
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # Content parts: only text parts carry tokens the gateway counts.
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    raise InvalidRequest("'content' must be a string or a list of content parts")


def _messages(raw: Any) -> tuple[Message, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("'messages' must be a non-empty array")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("role"), str):
            raise InvalidRequest("each message must be an object with a string 'role'")
        # Role is not narrowed: "developer" or "tool" turns are counted like any other.
        out.append(Message(role=cast(Role, item["role"]), content=_text(item.get("content"))))
    return tuple(out)


def _max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return DEFAULT_MAX_TOKENS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest("'max_tokens' must be an integer of at least 1")
    return value


def parse_chat_call(raw_body: bytes) -> ChatCall:
    try:
        body = json.loads(raw_body)
    except ValueError:
        raise InvalidRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    stream = body.get("stream") is True
    options = body.get("stream_options")
    if options is not None and not stream:
        raise InvalidRequest("'stream_options' is only allowed when 'stream' is true")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    raw_messages = body.get("messages")
    return ChatCall(
        raw_messages=cast(list[Any], raw_messages),
        messages=_messages(raw_messages),
        max_tokens=_max_tokens(body),
        response_format=body.get("response_format"),
        stream=stream,
        include_usage=include_usage,
    )
