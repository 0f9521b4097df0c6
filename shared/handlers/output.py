"""Checking what the model answered against the use case's output contract."""

from __future__ import annotations

from typing import Any

from shared.catalog import UseCase
from shared.json_limits import JsonRefused, loads_limited

# The finish_reason of an answer cut at max_tokens (Azure OpenAI / OpenAI chat completions).
LENGTH = "length"


class InvalidOutput(Exception):
    """The completion does not satisfy the use case's output (label set or JSON schema)."""


class TruncatedOutput(InvalidOutput):
    """A label or JSON answer cut at max_tokens: never a success, even when what arrived parses
    (a JSON object cut between two properties may still be valid and fit a loose schema)."""


def truncated(finish_reason: str) -> bool:
    return finish_reason == LENGTH


def parse_output(usecase: UseCase, content: str, finish_reason: str = "stop") -> Any:
    kind = usecase.output.kind
    if kind in ("text", "chat"):
        return content.strip()  # a cut text is still an answer; the caller sees truncated
    if truncated(finish_reason):
        raise TruncatedOutput(f"the answer was cut at max_tokens (finish_reason {LENGTH!r})")
    if kind == "label":
        return _label(usecase, content)
    return _json(usecase, content)


def _label(usecase: UseCase, content: str) -> str:
    labels = usecase.output.labels or []
    text = content.strip()
    try:
        parsed = loads_limited(text)
        if isinstance(parsed, dict):
            text = str(parsed.get("label", "")).strip()
    except JsonRefused:
        pass
    if text not in labels:
        raise InvalidOutput(f"label {text[:40]!r} is not one of {labels}")
    return text


def _json(usecase: UseCase, content: str) -> Any:
    # Imported here: ~60 ms of a cold start that only JSON use cases need.
    import jsonschema

    # The model's text is outside input too: a caller can coax it into nesting or digits that
    # would make json.loads raise RecursionError or ValueError.
    try:
        data = loads_limited(content)
    except JsonRefused as exc:
        raise InvalidOutput(f"not JSON within limits: {exc.message}") from None
    try:
        jsonschema.validate(data, usecase.output.json_schema or {})
    except jsonschema.ValidationError as exc:
        raise InvalidOutput(
            f"schema violation at {list(exc.absolute_path)}: {exc.message}"
        ) from None
    return data
