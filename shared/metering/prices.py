"""The versioned price table: what one call costs, exactly, at the instant it was made.

Format (``shared/prices.json``; the path comes from GATEWAY_PRICE_TABLE_FILE)::

    {"unit": "per_1m_tokens",
     "versions": [{"version": "aoai-global-2025-04", "effective_from": "2025-04-14T00:00:00Z",
                   "currency": "USD",
                   "models": {"gpt-4o-mini": {"input": "0.15", "cached_input": "0.075",
                                              "output": "0.60"}}}]}

A call is charged at the latest version whose ``effective_from`` is at or before the call, and
its usage record keeps that version id, so a later price change never rewrites history.
Prices are read as Decimal (JSON numbers are parsed as Decimal, never float; strings are
preferred). Cost = ((prompt - cached) * input + cached * cached_input + completion * output)
/ 1M. Cached tokens are part of prompt tokens (Azure's prompt_tokens_details) and reasoning
tokens part of completion tokens, so neither is counted twice. The division is by a power of
ten, so the cost is exact: no rounding happens here (a trap on Inexact proves it). Rounding
happens once, when a report is rendered (see reports.REPORT_PRECISION).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

UNIT = "per_1m_tokens"
TOKENS_PER_UNIT_EXPONENT = 6  # prices are per 10**6 tokens
_EXACT_PRECISION = 60  # digits; far more than tokens (~1e12) times any price needs


class PriceTableError(ValueError):
    """The price table is malformed, or does not price a model at an instant."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input: Decimal
    cached_input: Decimal
    output: Decimal

    def cost(self, prompt_tokens: int, cached_tokens: int, completion_tokens: int) -> Decimal:
        # Clamp: a cached count above the prompt count would be bad upstream data, never a
        # reason to charge less than zero for input.
        cached = max(0, min(cached_tokens, prompt_tokens))
        with localcontext() as ctx:
            ctx.prec = _EXACT_PRECISION
            ctx.traps[Inexact] = True
            per_unit = (
                (prompt_tokens - cached) * self.input
                + cached * self.cached_input
                + completion_tokens * self.output
            )
            return per_unit.scaleb(-TOKENS_PER_UNIT_EXPONENT)

    @property
    def highest_rate(self) -> Decimal:
        """The dearest per-token rate: prices an estimate whose prompt/completion split is
        unknown without ever under-reserving."""
        return max(self.input, self.cached_input, self.output)


@dataclass(frozen=True, slots=True)
class PriceVersion:
    version: str
    effective_from: datetime
    currency: str
    models: Mapping[str, ModelPrice]


@dataclass(frozen=True, slots=True)
class Charge:
    cost: Decimal
    currency: str
    price_version: str


class PriceTable:
    def __init__(self, versions: Sequence[PriceVersion]) -> None:
        if not versions:
            raise PriceTableError("the price table has no versions")
        ids = [v.version for v in versions]
        if len(set(ids)) != len(ids):
            raise PriceTableError(f"price versions must be unique, got {ids}")
        currencies = {v.currency for v in versions}
        if len(currencies) != 1:
            # Reports add money across versions; mixing currencies would make that sum wrong.
            raise PriceTableError(f"every price version needs one currency, got {currencies}")
        self._versions = sorted(versions, key=lambda v: v.effective_from)
        self.currency = versions[0].currency

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PriceTableError(f"cannot read price table {path}: {exc.strerror}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "price table") -> PriceTable:
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise PriceTableError(f"{source} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("unit") != UNIT:
            raise PriceTableError(f'{source}: expected an object with "unit": "{UNIT}"')
        versions = data.get("versions")
        if not isinstance(versions, list):
            raise PriceTableError(f'{source}: "versions" must be a list')
        return cls([_version(v, f"{source} versions[{i}]") for i, v in enumerate(versions)])

    @property
    def versions(self) -> tuple[PriceVersion, ...]:
        return tuple(self._versions)

    def version_at(self, at: datetime) -> PriceVersion:
        effective = [v for v in self._versions if v.effective_from <= at]
        if not effective:
            first = self._versions[0].effective_from.isoformat()
            raise PriceTableError(f"no price version is effective at {at.isoformat()} ({first})")
        return effective[-1]

    def price(self, model: str, at: datetime) -> tuple[PriceVersion, ModelPrice]:
        version = self.version_at(at)
        price = version.models.get(model)
        if price is None:
            raise PriceTableError(
                f"price version {version.version!r} has no price for model {model!r} "
                f"(priced: {sorted(version.models)})"
            )
        return version, price

    def charge(self, model: str, at: datetime, prompt: int, cached: int, completion: int) -> Charge:
        version, price = self.price(model, at)
        return Charge(price.cost(prompt, cached, completion), version.currency, version.version)

    def check_covers(self, models: Iterable[str], at: datetime) -> None:
        """Fail at start when a deployed model has no current price (it would go unbilled)."""
        for model in sorted(set(models)):
            self.price(model, at)


def _version(raw: Any, where: str) -> PriceVersion:
    if not isinstance(raw, dict):
        raise PriceTableError(f"{where} must be an object")
    version, currency, models = raw.get("version"), raw.get("currency"), raw.get("models")
    if not isinstance(version, str) or not version:
        raise PriceTableError(f'{where}: "version" must be a non-empty string')
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise PriceTableError(f'{where}: "currency" must be an ISO 4217 code like "USD"')
    if not isinstance(models, dict) or not models:
        raise PriceTableError(f'{where}: "models" must be a non-empty object')
    return PriceVersion(
        version=version,
        effective_from=_instant(raw.get("effective_from"), f"{where}.effective_from"),
        currency=currency,
        models={
            name: ModelPrice(
                **{
                    part: _money(
                        row.get(part) if isinstance(row, dict) else None, where, name, part
                    )
                    for part in ("input", "cached_input", "output")
                }
            )
            for name, row in models.items()
        },
    )


def _instant(raw: Any, where: str) -> datetime:
    try:
        at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise PriceTableError(f"{where} must be an ISO 8601 instant with a zone, got {raw!r}")
    return at


def _money(raw: Any, where: str, model: str, part: str) -> Decimal:
    # bool is an int subclass; "true" is never a price.
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise PriceTableError(f"{where}.models.{model}.{part} must be a decimal, got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise PriceTableError(f"{where}.models.{model}.{part} is not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise PriceTableError(f"{where}.models.{model}.{part} must be >= 0, got {raw!r}")
    return value
