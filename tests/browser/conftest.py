"""Browser tests: the frontend sample and the report page in real headless Chromium.

One local host (simulator included) and one browser per module, on ephemeral ports; a fresh
browser context (no cookies) per test. Chromium is Debian's (/usr/bin/chromium, installed by
scripts/bootstrap.sh); Playwright drives it through ``executable_path`` (its own browser
download does not work here). With ``GATEWAY_SCREENSHOTS=<dir>`` the tests also save the
screenshots committed under docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from devhost.host import LocalHost, run_local_host
from shared.settings import Settings
from simulator.settings import SimulatorSettings

CHROMIUM = os.environ.get("GATEWAY_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Legal's hard budget is one nano-unit: its first call is admitted, every call after is refused.
BUDGETS = (
    '[{"business_unit": "legal", "use_case": null, "limit_cost": "0.000000001", "kind": "hard"}]'
)
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which(CHROMIUM) is None:
        skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (bash scripts/bootstrap.sh)")
        for item in items:
            if "tests/browser/" in str(item.fspath):
                item.add_marker(skip)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalHost]:
    settings = Settings(
        gateway_data_dir=tmp_path_factory.mktemp("browser"), gateway_budgets=BUDGETS
    )
    # Per-token latency makes a stream arrive in visibly separate pieces.
    simulator = SimulatorSettings(latency_per_token_ms=6.0)
    async with run_local_host(settings, port=0, simulator_port=0, simulator=simulator) as local:
        yield local


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, host: LocalHost) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=host.base_url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def sign_in(page: Page, unit: str, user: str, roles: str = "", next_path: str = "/") -> None:
    """The developer sign-in, as a person does it: the form, then back to ``next_path``."""
    await page.goto(f"/api/dev/signin?next={next_path}")
    await page.select_option("#business_unit", unit)
    await page.fill("#user_id", user)
    await page.fill("#roles", roles)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("GATEWAY_SCREENSHOTS")
    if folder:  # Playwright creates the folder
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)
