"""A server-side SVG chart of cost per business unit per day: stacked bars and a legend.

No script, no external asset, so the page can be mailed or archived as one file and served
under a strict Content-Security-Policy. Every text goes through html.escape. Floats appear only
as pixel coordinates; every amount shown is the exact Decimal, rounded by money.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from html import escape

from shared.domain.usage import DailyRollup
from shared.metering.money import report_money

# Okabe-Ito: a palette that stays distinguishable for the common colour-vision deficiencies
# (https://jfly.uni-koeln.de/color/).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 960, 340
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 16, 64
MAX_X_LABELS = 12


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _nice_step(top: float, ticks: int = 4) -> float:
    """A 1/2/5 x 10^k step so that ``ticks`` steps cover ``top``."""
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


def cost_chart(rollups: Sequence[DailyRollup], first: date, last: date, currency: str) -> str:
    days = _days(first, last)
    units = sorted({r.business_unit for r in rollups})
    cost: dict[tuple[date, str], Decimal] = {}
    for r in rollups:
        key = (date.fromisoformat(r.day), r.business_unit)
        cost[key] = cost.get(key, Decimal(0)) + r.cost
    totals = [sum((cost.get((d, u), Decimal(0)) for u in units), Decimal(0)) for d in days]
    peak = float(max(totals, default=Decimal(0)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    title = f"Cost per business unit per day ({currency})"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    if peak <= 0:
        out.append(
            f'<text x="{WIDTH / 2:.1f}" y="{HEIGHT / 2:.1f}" text-anchor="middle">'
            "No billed usage in this period</text></svg>"
        )
        return "\n".join(out)
    step = _nice_step(peak)
    top = step * math.ceil(peak / step)
    out += _y_axis(top, step, plot_w, plot_h)
    slot = plot_w / len(days)
    bar = max(1.0, slot * 0.8)
    for i, day in enumerate(days):
        base = 0.0
        x = LEFT + i * slot + (slot - bar) / 2
        for n, unit in enumerate(units):
            value = cost.get((day, unit), Decimal(0))
            if not value:
                continue
            height = float(value) / top * plot_h
            y = TOP + plot_h - base - height
            base += height
            label = f"{unit} {day.isoformat()}: {report_money(value)} {currency}"
            out.append(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{bar:.2f}" height="{height:.2f}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(label)}</title></rect>'
            )
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    for i in range(0, len(days), every):
        x = LEFT + i * slot + slot / 2
        out.append(
            f'<text x="{x:.2f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'font-size="11">{days[i].strftime("%m-%d")}</text>'
        )
    out += _legend(units, TOP + plot_h + 40)
    out.append("</svg>")
    return "\n".join(out)


def _y_axis(top: float, step: float, plot_w: float, plot_h: float) -> list[str]:
    lines = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#555"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#555"/>',
    ]
    ticks = round(top / step)
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    for i in range(ticks + 1):
        value = step * i
        y = TOP + plot_h - value / top * plot_h
        lines.append(
            f'<line x1="{LEFT - 4}" y1="{y:.2f}" x2="{LEFT + plot_w}" y2="{y:.2f}" stroke="#ddd"/>'
        )
        lines.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.2f}" text-anchor="end" font-size="11">'
            f"{value:.{decimals}f}</text>"
        )
    return lines


def _legend(units: Sequence[str], y: float) -> list[str]:
    items, x = [], float(LEFT)
    for n, unit in enumerate(units):
        items.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" '
            f'fill="{PALETTE[n % len(PALETTE)]}"/>'
        )
        items.append(f'<text x="{x + 18:.1f}" y="{y:.1f}" font-size="12">{escape(unit)}</text>')
        x += 30 + 7 * len(unit)
    return items
