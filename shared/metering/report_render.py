"""Chargeback reports as CSV (for spreadsheets) and as one self-contained HTML page.

CSV follows RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180): a header row, CRLF line ends,
UTF-8, quotes only where needed; money as plain decimal strings. A text cell that starts with
= + - @, a tab or a carriage return is prefixed with a single quote, so a spreadsheet never runs
it as a formula (OWASP "CSV Injection"). Numbers are produced here and never need it.
The HTML page is well-formed XML as well as HTML, with every value escaped (html.escape).
"""

from __future__ import annotations

import csv
import io
from html import escape

from shared.metering.chart import cost_chart
from shared.metering.money import REPORT_PRECISION, report_money
from shared.metering.reports import COUNTS, FRESH_FOR, Report, ReportRow

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MONEY = ("cost", "savings")
# After currency, so the columns before it keep their places for existing spreadsheets.
ESTIMATED = ("estimated_calls", "estimated_cost")
# A page whose period reaches today reloads itself this often (each view recomputes at most
# today's rollups, and only when they are older than FRESH_FOR).
RELOAD_SECONDS = 300
# The page has no script and loads nothing; only its own inline style is allowed.
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


def csv_safe(cell: str) -> str:
    return f"'{cell}" if cell.startswith(FORMULA_PREFIXES) else cell


def csv_filename(report: Report) -> str:
    return f"chargeback_{report.query.first.isoformat()}_{report.query.last.isoformat()}.csv"


def _columns(report: Report) -> list[str]:
    return [*report.query.group_by, *COUNTS, "saved_tokens", *MONEY, "currency", *ESTIMATED]


def render_csv(report: Report) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_columns(report))
    for row in report.rows:
        # Every cell goes through the guard; counts and money never start with a prefix.
        writer.writerow([csv_safe(cell) for cell in _raw(row, report)])
    return buffer.getvalue()


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.meta { color: #555; margin: 0 0 1rem; }
.cards { display: flex; gap: 1rem; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; }
.card b { display: block; font-size: 1.2rem; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: .3rem .6rem; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: bold; border-top: 2px solid #999; }
"""


def render_html(report: Report) -> str:
    q, cur = report.query, report.currency
    period = f"{q.first.isoformat()} to {q.last.isoformat()}"
    units = "all" if report.business_units is None else ", ".join(report.business_units)
    t = report.totals
    share = f"{report.estimated_share * 100:.2f}".rstrip("0").rstrip(".")
    cards = [
        ("Cost", f"{report_money(t.cost)} {cur}"),
        ("Cache savings", f"{report_money(t.savings)} {cur}"),
        ("Upstream calls", str(t.calls)),
        ("Cache hits", str(t.cache_hits)),
        ("Estimated", f"{share}% of cost ({t.estimated_calls} calls)"),
    ]
    live = q.last >= report.generated_at.date()
    reload = f'<meta http-equiv="refresh" content="{RELOAD_SECONDS}"/>' if live else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en" xmlns="http://www.w3.org/1999/xhtml">',
        f'<head><meta charset="utf-8"/>{reload}',
        f"<title>{escape(f'Chargeback {period}')}</title>",
        f"<style>{_STYLE}</style></head>",
        "<body>",
        f"<h1>Chargeback {escape(period)}</h1>",
        f'<p class="meta">Business units: {escape(units)}. Amounts in {escape(cur)}, rounded '
        f"to {REPORT_PRECISION} (half-even) from exact sums. Generated "
        f"{escape(report.generated_at.isoformat())} from daily rollups.</p>",
        f'<p class="meta" id="as-of">{escape(_as_of(report, live))}</p>',
        '<div class="cards">',
        *(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in cards),
        "</div>",
        f"<figure>{cost_chart(report.daily, q.first, q.last, cur)}",
        f"<figcaption>Cost per business unit per day ({escape(cur)})</figcaption></figure>",
        _table(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _as_of(report: Report, live: bool) -> str:
    if report.as_of is None:
        return "Data as of: never computed (no usage rolled up yet)."
    text = f"Data as of {report.as_of.isoformat()}: usage after that is not in this report yet."
    if live:
        text += (
            f" Today's figures are recomputed when older than {int(FRESH_FOR.total_seconds())} s;"
            f" this page reloads every {RELOAD_SECONDS // 60} minutes."
        )
    estimated = report.totals.estimated_calls
    if estimated:
        text += (
            f" {estimated} calls ({report_money(report.totals.estimated_cost)} "
            f"{report.currency}) are counted from the gateway's own estimate of their usage."
        )
    return text


def _table(report: Report) -> str:
    columns = _columns(report)
    numeric = set(columns) - set(report.query.group_by) - {"currency"}

    def cell(tag: str, column: str, value: str) -> str:
        klass = ' class="n"' if column in numeric else ""
        return f"<{tag}{klass}>{escape(value)}</{tag}>"

    head = "".join(cell("th", c, c.replace("_", " ")) for c in columns)
    body = [
        "<tr>"
        + "".join(cell("td", c, v) for c, v in zip(columns, _raw(r, report), strict=True))
        + "</tr>"
        for r in report.rows
    ]
    totals = _raw(report.totals, report)
    span = len(report.query.group_by)
    foot = (
        f'<tr><td colspan="{span}">Total</td>'
        + "".join(cell("td", c, v) for c, v in zip(columns[span:], totals[span:], strict=True))
        + "</tr>"
    )
    if not report.rows:
        body = [f'<tr><td colspan="{len(columns)}">No usage in this period.</td></tr>']
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"<tfoot>{foot}</tfoot></table>"
    )


def _raw(row: ReportRow, report: Report) -> list[str]:
    """A row's cells as text, in _columns order."""
    keys = [v for _, v in row.keys] or [""] * len(report.query.group_by)
    counts = [str(getattr(row, c)) for c in (*COUNTS, "saved_tokens")]
    money = [report_money(row.cost), report_money(row.savings)]
    estimated = [str(row.estimated_calls), report_money(row.estimated_cost)]
    return [*keys, *counts, *money, report.currency, *estimated]
