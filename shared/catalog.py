"""The use-case catalog: narrow, governed APIs defined as data.

Each use case is a folder under ``shared/usecases/<id>/`` holding ``usecase.json`` (its
definition) and its versioned prompt templates. Adding a use case needs no Python: the input
model is built from the definition with pydantic, and the output is one of three kinds
(free text, a label from a fixed set, or JSON validated against a schema).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from string import Template
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from shared.domain.chat import Message

USECASES_DIR = Path(__file__).resolve().parent / "usecases"
ID_PATTERN = r"^[a-z][a-z0-9-]{0,40}$"


class CatalogError(RuntimeError):
    """A use-case folder is malformed; raised at start, naming the file and the problem."""


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["string", "integer", "number", "boolean", "string_list"]
    description: str = ""
    required: bool = True
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: list[str] | None = None
    max_items: int | None = None


class CachePolicy(BaseModel):
    """``exact``: the same rendered prompt gets the cached answer. ``semantic`` adds, after an
    exact miss, a lookup by embedding similarity (docs/semantic_cache.md): only for use cases
    whose answer depends on the input's meaning, never shared across business units, and
    scoped to the use case's version, prompt templates and parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["off", "exact", "semantic"] = "off"
    ttl_seconds: int = Field(default=3600, gt=0)
    # Shared across business units only when the use case says so (issue: isolation).
    shareable: bool = False
    # semantic only: the cosine similarity a cached prompt needs (then the near-miss guard),
    # the deployment group that embeds, and how many nearest candidates the guard may inspect.
    similarity: float = Field(default=0.92, gt=0, le=1)
    embedding_group: str = "text-embedding-3-small"
    candidates: int = Field(default=5, ge=1, le=20)

    @model_validator(mode="after")
    def _semantic_stays_in_its_unit(self) -> CachePolicy:
        if self.mode == "semantic" and self.shareable:
            raise ValueError("a semantic cache is never shared across business units")
        return self


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["text", "label", "json", "chat"]
    field: str = "result"
    labels: list[str] | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")


class OutputBudget(BaseModel):
    """Size max_tokens from an input field (e.g. max_words), capped by max_output_tokens.

    Azure charges max_tokens against the deployment's TPM when it admits a call, so reserving
    far more than the answer needs wastes quota. ~1.3 tokens per English word is OpenAI's rule of
    thumb (https://help.openai.com/en/articles/4936856); 1.5 leaves room for other languages.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    tokens_per_unit: float = Field(default=1.5, gt=0)
    plus: int = Field(default=16, ge=0)


class PromptFiles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    user: str | None = None


class UseCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str = Field(pattern=ID_PATTERN)
    version: str = Field(min_length=1)
    description: str
    deployment_group: str
    max_input_tokens: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    cache: CachePolicy = CachePolicy()
    business_units: list[str] = Field(default_factory=lambda: ["*"])
    async_allowed: bool = False
    input: dict[str, FieldSpec] = Field(default_factory=dict)
    output: OutputSpec
    output_budget: OutputBudget | None = None
    prompt: PromptFiles
    system_template: str = ""
    user_template: str = ""

    def allows(self, business_unit: str) -> bool:
        return "*" in self.business_units or business_unit in self.business_units

    @property
    def input_model(self) -> type[BaseModel]:
        return _input_model(self)

    def max_tokens_for(self, payload: dict[str, Any]) -> int:
        budget = self.output_budget
        if budget is None or payload.get(budget.field) is None:
            return self.max_output_tokens
        wanted = math.ceil(float(payload[budget.field]) * budget.tokens_per_unit) + budget.plus
        return max(1, min(self.max_output_tokens, wanted))

    def template_vars(self, payload: dict[str, Any]) -> dict[str, str]:
        values = {k: _as_text(v) for k, v in payload.items()}
        if self.output.labels:
            values["labels"] = ", ".join(self.output.labels)
        return values

    def render(self, payload: dict[str, Any]) -> tuple[Message, ...]:
        values = self.template_vars(payload)
        messages = [Message("system", Template(self.system_template).safe_substitute(values))]
        if self.user_template:
            messages.append(Message("user", Template(self.user_template).safe_substitute(values)))
        return tuple(messages)

    def response_format(self) -> dict[str, Any] | None:
        """Structured output for label and json use cases (Azure OpenAI json_schema)."""
        if self.output.kind == "label" and self.output.labels:
            schema: dict[str, Any] = {
                "type": "object",
                "properties": {"label": {"type": "string", "enum": self.output.labels}},
                "required": ["label"],
                "additionalProperties": False,
            }
        elif self.output.kind == "json" and self.output.json_schema:
            schema = self.output.json_schema
        else:
            return None
        return {
            "type": "json_schema",
            "json_schema": {"name": self.id.replace("-", "_"), "strict": True, "schema": schema},
        }


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


_MODELS: dict[tuple[str, str], type[BaseModel]] = {}


def _input_model(usecase: UseCase) -> type[BaseModel]:
    key = (usecase.id, usecase.version)
    model = _MODELS.get(key)
    if model is None:
        fields: dict[str, Any] = {name: _field(spec) for name, spec in usecase.input.items()}
        model = create_model(
            f"{usecase.id.title().replace('-', '')}Input",
            __config__=ConfigDict(extra="forbid", strict=False),
            **fields,
        )
        _MODELS[key] = model
    return model


def _field(spec: FieldSpec) -> tuple[Any, Any]:
    base: Any = {
        "string": str,
        "integer": int,
        "number": float,
        "boolean": bool,
        "string_list": list[str],
    }[spec.type]
    if spec.enum:
        base = Literal[tuple(spec.enum)]
    constraints = Field(
        description=spec.description or None,
        min_length=spec.min_length if spec.type == "string" else None,
        max_length=spec.max_length if spec.type == "string" else spec.max_items,
        ge=spec.minimum,
        le=spec.maximum,
    )
    annotated = Annotated[base, constraints]
    if spec.required and spec.default is None:
        return (annotated, ...)
    return (annotated, spec.default)


def load_usecase(folder: Path) -> UseCase:
    definition = folder / "usecase.json"
    try:
        raw = json.loads(definition.read_text(encoding="utf-8"))
        prompt = PromptFiles.model_validate(raw.get("prompt", {}))
        raw["system_template"] = (folder / prompt.system).read_text(encoding="utf-8")
        if prompt.user:
            raw["user_template"] = (folder / prompt.user).read_text(encoding="utf-8")
        usecase = UseCase.model_validate(raw)
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise CatalogError(f"{definition}: {exc}") from exc
    if usecase.id != folder.name:
        raise CatalogError(f"{definition}: id {usecase.id!r} must match folder {folder.name!r}")
    if usecase.output.kind == "label" and not usecase.output.labels:
        raise CatalogError(f"{definition}: a label use case needs output.labels")
    budget = usecase.output_budget
    if budget is not None and budget.field not in usecase.input:
        raise CatalogError(f"{definition}: output_budget.field {budget.field!r} is not an input")
    if usecase.output.kind == "json" and not usecase.output.json_schema:
        raise CatalogError(f"{definition}: a json use case needs output.schema")
    usecase.input_model  # noqa: B018 - build the model now so a bad field fails at start
    return usecase


class Catalog:
    def __init__(self, usecases: dict[str, UseCase]) -> None:
        self._usecases = usecases

    @classmethod
    def load(cls, root: Path = USECASES_DIR) -> Catalog:
        found = {}
        for folder in sorted(p for p in root.iterdir() if (p / "usecase.json").is_file()):
            usecase = load_usecase(folder)
            found[usecase.id] = usecase
        if not found:
            raise CatalogError(f"no use cases found under {root}")
        return cls(found)

    def get(self, usecase_id: str) -> UseCase | None:
        return self._usecases.get(usecase_id)

    def all(self) -> list[UseCase]:
        return list(self._usecases.values())

    def for_business_unit(self, business_unit: str) -> list[UseCase]:
        return [u for u in self._usecases.values() if u.allows(business_unit)]
