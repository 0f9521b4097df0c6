"""Money helpers shared by metering, budgets and reports: one place decides every rounding.

- Usage records and rollups hold exact Decimal costs (prices.py never rounds).
- Budget counters hold integer nano-units (1e-9), because CounterStore adds integers; a cost is
  converted rounding UP (ROUND_CEILING), so a budget may count a fraction of a nano-unit too
  much but never too little.
- Reports round once, at the end, to REPORT_PRECISION (1e-6, "micro-dollars") with
  ROUND_HALF_EVEN (banker's rounding, unbiased over many rows). Every row and the total are
  each rounded from their exact sums, so a total is never a sum of rounded rows; at most
  ``rows x 0.0000005`` apart, far under a cent.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

NANO_EXPONENT = 9
REPORT_PRECISION = Decimal("0.000001")


def to_nano(amount: Decimal) -> int:
    return int(amount.scaleb(NANO_EXPONENT).to_integral_value(rounding=ROUND_CEILING))


def from_nano(nano: int) -> Decimal:
    return Decimal(nano).scaleb(-NANO_EXPONENT)


def report_amount(amount: Decimal) -> Decimal:
    return amount.quantize(REPORT_PRECISION, rounding=ROUND_HALF_EVEN)


def plain(amount: Decimal) -> str:
    """A decimal string without exponent ("0.000100", never "1E-4"): safe for CSV and JSON."""
    return format(amount, "f")


def report_money(amount: Decimal) -> str:
    return plain(report_amount(amount))
