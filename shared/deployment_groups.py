"""Deployment groups and the model behind each: context window and tokenizer."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import Settings
from shared.tokenizer import Tokenizer


@dataclass(frozen=True, slots=True)
class DeploymentGroup:
    name: str
    model: str
    context_window: int
    tokenizer: Tokenizer
    deployments: tuple[str, ...]


class DeploymentGroups:
    def __init__(self, groups: dict[str, DeploymentGroup]) -> None:
        self._groups = groups

    @classmethod
    def from_settings(cls, settings: Settings) -> DeploymentGroups:
        tokenizers: dict[str, Tokenizer] = {}
        members: dict[str, list[str]] = {}
        models: dict[str, str] = {}
        for d in settings.aoai_deployments:
            group = d.group_name
            members.setdefault(group, []).append(d.name)
            if models.setdefault(group, d.model) != d.model:
                raise ValueError(
                    f"AOAI_DEPLOYMENTS: group {group!r} mixes models {models[group]!r} and "
                    f"{d.model!r}; a group serves one model"
                )
        groups = {}
        for group, model in models.items():
            config = settings.aoai_models[model]
            if config.encoding not in tokenizers:
                tokenizers[config.encoding] = Tokenizer(config.encoding)
            groups[group] = DeploymentGroup(
                group,
                model,
                config.context_window,
                tokenizers[config.encoding],
                tuple(members[group]),
            )
        return cls(groups)

    def group(self, name: str) -> DeploymentGroup:
        try:
            return self._groups[name]
        except KeyError:
            raise KeyError(
                f"no deployment group {name!r}; configured: {sorted(self._groups)}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._groups)
