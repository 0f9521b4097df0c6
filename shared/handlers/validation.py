"""Checking a caller's input against a use case's pydantic model: a 400 that names each bad
field (without echoing the values), never a 500."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.domain.errors import BadRequest

M = TypeVar("M", bound=BaseModel)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as machine-readable details, without echoing the input values."""
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_input=False, include_url=False)
    ]


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object", code="invalid_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(
            "request body failed validation", code="validation_failed", details=field_errors(exc)
        ) from None
