"""Finance's chargeback page in Chromium: developer sign-in, the month's totals, unit scoping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from devhost.host import LocalHost
from shared.metering.money import report_money
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

FINANCE = {"x-business-unit": "finance", "x-user-id": "cfo@contoso.com", "x-user-roles": "finance"}
CALLS = [
    (
        "marketing",
        "summarize",
        {"text": "Q3 revenue rose 12% and costs stayed flat.", "max_words": 20},
    ),
    ("marketing", "classify", {"text": "I was charged twice this month."}),
    ("legal", "extract", {"text": "Invoice 42 from Contoso to Fabrikam, 3 May, EUR 1,250.00"}),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def month(host: LocalHost) -> AsyncIterator[dict[str, str]]:
    """Usage for two units this month, rolled up; the period the page shows by default."""
    async with httpx.AsyncClient(base_url=host.base_url, timeout=10) as client:
        for unit, usecase, body in CALLS:
            who = {"x-business-unit": unit, "x-user-id": f"someone@{unit}.example"}
            answer = await client.post(f"/api/v1/{usecase}", json=body, headers=who)
            assert answer.status_code == 200, answer.text
        now = host.gateway.now()
        period = {"from": now.strftime("%Y-%m-01"), "to": now.strftime("%Y-%m-%d")}
        refreshed = await client.get(
            "/api/v1/reports/chargeback", params={**period, "refresh": "true"}, headers=FINANCE
        )
        assert refreshed.status_code == 200, refreshed.text
    yield period


async def json_report(host: LocalHost, period: dict[str, str], headers: dict[str, str]) -> Any:
    async with httpx.AsyncClient(base_url=host.base_url, timeout=10) as client:
        params = {**period, "group_by": "business_unit,use_case,model"}
        answer = await client.get("/api/v1/reports/chargeback", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def footer(page: Page) -> list[str]:
    return [c.strip() for c in await page.locator("tfoot td").all_inner_texts()]


async def test_finance_opens_the_page_signs_in_and_sees_every_unit(
    page: Page, host: LocalHost, month: dict[str, str]
) -> None:
    url = f"/api/v1/reports/chargeback.html?from={month['from']}&to={month['to']}"
    await page.goto(url)
    await expect(page.locator("h1")).to_have_text("Developer sign-in")  # sent to sign in first
    await page.select_option("#business_unit", "finance")
    await page.fill("#user_id", "cfo@contoso.com")
    await page.fill("#roles", "finance")
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("Chargeback")
    assert page.url.endswith(url)
    await screenshot(page, "finance-report", full_page=True)

    expected = await json_report(host, month, FINANCE)
    totals = expected["totals"]
    cells = await footer(page)
    assert cells[0] == "Total" and cells[1] == str(totals["calls"]) == "3"
    assert report_money(Decimal(totals["cost"])) in cells
    units = await page.locator("tbody td:first-child").all_inner_texts()
    assert sorted(set(units)) == ["legal", "marketing"]


async def test_a_unit_user_sees_only_their_unit_in_the_app(
    page: Page, host: LocalHost, month: dict[str, str]
) -> None:
    await sign_in(page, "marketing", "mia@contoso.com", next_path="/%23/reports")
    report = page.frame_locator(".report-frame iframe")
    await expect(report.locator("h1")).to_contain_text("Chargeback")
    await expect(page.locator(".report-form .muted")).to_contain_text("your business unit")
    own = await json_report(host, month, {"x-business-unit": "marketing", "x-user-id": "mia"})
    cells = [c.strip() for c in await report.locator("tfoot td").all_inner_texts()]
    units = await report.locator("tbody td:first-child").all_inner_texts()
    assert set(units) == {"marketing"}
    assert cells[1] == str(own["totals"]["calls"]) == "2"
    assert report_money(Decimal(own["totals"]["cost"])) in cells
    await screenshot(page, "reports-in-app", full_page=True)


async def test_the_api_docs_page_renders_the_openapi_document(page: Page) -> None:
    await page.goto("/docs/")
    await expect(page.locator(".swagger-ui .title")).to_contain_text("genai-gateway")
    operations = page.locator(".opblock-summary-path")
    await expect(operations.first).to_be_visible()
    paths = await operations.all_inner_texts()
    assert any("/v1/summarize" in p for p in paths)
    await screenshot(page, "api-docs")
