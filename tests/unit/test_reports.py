"""Rollups and chargeback reports: reconciliation with raw records, who may read what, query
validation, CSV (RFC 4180, formula guard) and the HTML page with its SVG chart."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from azure.functions.timer import TimerRequest

from shared.composition.root import Gateway
from shared.domain.chat import TokenUsage
from shared.domain.usage import UsageRecord
from shared.handlers.rollups import rollup_month
from shared.metering.report_render import csv_safe, render_csv, render_html
from shared.metering.reports import Report, ReportQuery, ReportRow
from tests.conftest import HEADERS
from tests.unit.test_prices import record, tokens

FINANCE = {**HEADERS, "x-user-roles": "finance"}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def at(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, 9, 30, tzinfo=UTC)


def seed_records() -> list[UsageRecord]:
    rows: list[tuple[str, str, str, datetime, int, int, int]] = [
        ("marketing", "summarize", "gpt-4o-mini", at(3), 1200, 200, 150),
        ("marketing", "summarize", "gpt-4o-mini", at(3), 800, 0, 90),
        ("marketing", "summarize", "gpt-4o-mini", at(5), 333, 0, 77),
        ("marketing", "classify", "gpt-4o", at(4), 5000, 1024, 3),
        ("legal", "extract", "gpt-4o-mini", at(4), 7000, 0, 900),
        ("legal", "extract", "gpt-4o-mini", at(30), 10, 0, 1),
        ("legal", "extract", "gpt-4o-mini", at(31, 10), 99, 0, 9),  # the day before the range
        ("finance", "summarize", "gpt-4o", at(1, 12), 99, 0, 9),  # the day after
    ]
    return [
        record(
            request_id=f"r{i}",
            business_unit=bu,
            use_case=uc,
            model=m,
            created_at=when,
            **tokens(p, c, o),
        )
        for i, (bu, uc, m, when, p, c, o) in enumerate(rows)
    ]


@pytest.fixture
async def seeded(gateway: Gateway) -> list[UsageRecord]:
    settled = [await gateway.meter.settle(None, r) for r in seed_records()]
    hit = record(
        request_id="hit", created_at=at(3), cache_hit=True, outcome="cache_hit", **tokens(0, 0, 0)
    )
    settled.append(await gateway.meter.settle_cache_hit(hit, TokenUsage(1200, 150, 200)))
    for month in ("2026-10", "2026-11", "2026-12"):
        await rollup_month(gateway.reports.rollup, month)
    return settled


def in_november(records: list[UsageRecord], unit: str | None = None) -> list[UsageRecord]:
    return [r for r in records if r.month == "2026-11" and unit in (None, r.business_unit)]


async def test_rollups_reconcile_exactly_with_the_raw_records(
    gateway: Gateway, seeded: list[UsageRecord]
) -> None:
    # A second run recomputes, never adds.
    again = await rollup_month(gateway.reports.rollup, "2026-11")
    rollups = await gateway.stores.rollups.query(None, "2026-11-01", "2026-11-30")
    assert sorted(r.id for r in rollups) == sorted(r.id for r in again)
    for unit in ("marketing", "legal", "finance"):
        raw = await gateway.stores.ledger.list_partition(unit, "2026-11")
        mine = [r for r in rollups if r.business_unit == unit]
        assert sum(r.cost for r in mine) == sum(r.cost for r in raw)  # exact, not approximately
        assert sum(r.savings for r in mine) == sum(r.savings for r in raw)
        for field in ("prompt_tokens", "cached_tokens", "completion_tokens"):
            assert sum(getattr(r, field) for r in mine) == sum(getattr(r, field) for r in raw)
        assert sum(r.calls + r.cache_hits for r in mine) == len(raw)


async def test_finance_reads_every_unit_and_totals_match_tokens_times_prices(
    client: httpx.AsyncClient, seeded: list[UsageRecord]
) -> None:
    query = {**NOVEMBER, "group_by": "business_unit"}
    response = await client.get("/api/v1/reports/chargeback", params=query, headers=FINANCE)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    body = response.json()
    assert [r["business_unit"] for r in body["rows"]] == ["legal", "marketing"]
    marketing = body["rows"][1]
    assert (marketing["calls"], marketing["cache_hits"], marketing["saved_tokens"]) == (4, 1, 1350)
    # Independently: (prompt - cached) * input + cached * cached_input + completion * output.
    mini, gpt4o = (
        (Decimal("0.15"), Decimal("0.075"), Decimal("0.60")),
        (Decimal("2.50"), Decimal("1.25"), Decimal("10.00")),
    )
    expected = Decimal(0)
    for r in in_november(seeded):
        rate = gpt4o if r.model == "gpt-4o" else mini
        expected += (
            (r.prompt_tokens - r.cached_tokens) * rate[0]
            + r.cached_tokens * rate[1]
            + r.completion_tokens * rate[2]
        )
    expected /= 10**6
    assert Decimal(body["totals"]["cost"]) == expected.quantize(Decimal("0.000001"))
    assert body["totals"]["cost"] == "0.013367"  # 13367.25 per 1M: half-even drops the 25
    assert body["totals"]["savings"] == "0.000255"
    assert body["totals"]["prompt_tokens"] == sum(r.prompt_tokens for r in in_november(seeded))
    assert (body["currency"], body["business_units"], body["precision"]) == (
        "USD",
        "all",
        "0.000001",
    )


async def test_a_unit_reads_only_its_own_chargeback(
    client: httpx.AsyncClient, seeded: list[UsageRecord]
) -> None:
    own = await client.get("/api/v1/reports/chargeback", params=NOVEMBER, headers=HEADERS)
    other = await client.get(
        "/api/v1/reports/chargeback", params={**NOVEMBER, "business_unit": "legal"}, headers=HEADERS
    )
    filtered = await client.get(
        "/api/v1/reports/chargeback", params={**NOVEMBER, "business_unit": "legal"}, headers=FINANCE
    )
    assert {r["business_unit"] for r in own.json()["rows"]} == {"marketing"}
    assert [(r["use_case"], r["model"]) for r in own.json()["rows"]] == [
        ("classify", "gpt-4o"),
        ("summarize", "gpt-4o-mini"),
    ]
    assert other.status_code == 403 and other.json()["error"]["code"] == "report_forbidden"
    assert {r["business_unit"] for r in filtered.json()["rows"]} == {"legal"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-31", "to": "2026-12-01"}, "from"),
        ({"to": "2026-11-31"}, "to"),
        ({"from": "20261101", "to": "2026-11-30"}, "from"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
        ({**NOVEMBER, "group_by": "business_unit,colour"}, "group_by"),
        ({**NOVEMBER, "format": "xlsx"}, "format"),
        ({**NOVEMBER, "business_unit": "<b>"}, "business_unit"),
        ({**NOVEMBER, "groupby": "day"}, "groupby"),
    ],
)
async def test_bad_queries_are_400_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/reports/chargeback", params=params, headers=FINANCE)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_query"
    assert ["query", field] in [d["loc"] for d in error["details"]]


async def test_a_full_leap_year_is_allowed(client: httpx.AsyncClient) -> None:
    params = {"from": "2028-01-01", "to": "2028-12-31"}  # 366 days
    response = await client.get("/api/v1/reports/chargeback", params=params, headers=HEADERS)
    assert response.status_code == 200
    assert response.json()["totals"]["cost"] == "0.000000"


@pytest.mark.parametrize(
    "how", [{"params": {"format": "csv"}}, {"headers": {"accept": "text/csv"}}]
)
async def test_csv_is_rfc4180_with_a_filename(
    client: httpx.AsyncClient, seeded: list[UsageRecord], how: dict[str, Any]
) -> None:
    params = {**NOVEMBER, "group_by": "day,business_unit", **how.get("params", {})}
    headers = {**FINANCE, **how.get("headers", {})}
    response = await client.get("/api/v1/reports/chargeback", params=params, headers=headers)

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition == "attachment; filename=chargeback_2026-11-01_2026-11-30.csv"
    text = response.content.decode("utf-8")
    assert text.count("\r\n") == text.count("\n") == 6  # header + 5 rows, CRLF only
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0])[:3] == ["day", "business_unit", "calls"]
    assert [r["day"] for r in rows] == sorted(r["day"] for r in rows)
    assert sum(Decimal(r["cost"]) for r in rows) == Decimal("0.013367")


def crafted_report(key: str) -> Report:
    cost = Decimal("0.0000015")
    row = ReportRow((("business_unit", key),), 1, 0, 10, 0, 5, 0, cost, Decimal(0), 0, Decimal(0))
    query = ReportQuery(
        first=date(2026, 11, 1), last=date(2026, 11, 2), group_by=("business_unit",)
    )
    generated = datetime(2026, 11, 3, tzinfo=UTC)
    return Report(query, None, "USD", (row,), row, (), generated, generated)


def test_csv_cells_cannot_become_formulas() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(cell) == "'" + cell
    assert csv_safe("marketing") == "marketing"
    text = render_csv(crafted_report('=HYPERLINK("http://evil","x")'))
    assert text.splitlines()[1].startswith('"\'=HYPERLINK(""http://evil"",""x"")"')
    assert ",0.000002," in text  # 0.0000015 rounds half-even to 0.000002


def parse_page(page: str) -> ET.Element:
    # Our own output, parsed to prove it is well-formed; expat fetches no external entity.
    return ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))  # noqa: S314


def test_html_escapes_every_value() -> None:
    page = render_html(crafted_report("<script>alert(1)</script>"))
    assert "<script>" not in page and "&lt;script&gt;" in page
    parse_page(page)


async def test_html_page_is_well_formed_with_an_inline_svg_chart(
    client: httpx.AsyncClient, seeded: list[UsageRecord]
) -> None:
    response = await client.get("/api/v1/reports/chargeback.html", params=NOVEMBER, headers=FINANCE)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert "http" not in page.replace("http://www.w3.org/", "")  # no external asset
    root = parse_page(page)
    ns = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}
    svg = root.find(".//s:svg", ns)
    assert svg is not None
    bars = [r for r in svg.findall("s:rect", ns) if r.find("s:title", ns) is not None]
    labels = [t.text for t in svg.findall("s:text", ns)]
    assert len(bars) == 5 and "legal" in labels and "marketing" in labels
    cells = [td.text for td in root.findall(".//h:tfoot//h:td", ns)]
    assert cells[0] == "Total" and "0.013367" in cells


async def test_refresh_recomputes_rollups_before_reading(
    client: httpx.AsyncClient, gateway: Gateway, seeded: list[UsageRecord]
) -> None:
    late = record(request_id="late", created_at=at(20), **tokens(10**6, 0, 0))
    await gateway.meter.settle(None, late)
    params = {**NOVEMBER, "business_unit": "marketing"}
    stale = await client.get("/api/v1/reports/chargeback", params=params, headers=HEADERS)
    fresh = await client.get(
        "/api/v1/reports/chargeback", params={**params, "refresh": "true"}, headers=HEADERS
    )
    delta = Decimal(fresh.json()["totals"]["cost"]) - Decimal(stale.json()["totals"]["cost"])
    assert delta == Decimal("0.15")


async def test_the_timer_function_rolls_up_this_month(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    from functions.rollup_timer import usage_rollup

    now = gateway.now()
    await gateway.meter.settle(None, record(request_id="now", created_at=now))
    await usage_rollup.build().get_user_function()(TimerRequest(past_due=False))

    day = now.date().isoformat()
    rollups = await gateway.stores.rollups.query(["marketing"], day, day)
    assert [(r.calls, r.prompt_tokens) for r in rollups] == [(1, 1000)]
