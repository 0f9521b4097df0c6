"""The frontend sample in Chromium: use cases, an answer, a streamed chat turn, a job, errors."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from devhost.host import LocalHost
from shared.metering.money import plain
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

TEXT = (
    "Revenue rose 12% in the third quarter while costs stayed flat. The board approved the "
    "expansion plan for two new regions and asked for a hiring review in January."
)


async def test_lists_the_use_cases_and_summarizes(page: Page, host: LocalHost) -> None:
    await sign_in(page, "marketing", "alice@contoso.com", next_path="/")
    listed = page.locator(".usecase-list a")
    await expect(listed).to_have_count(4)
    assert sorted(await listed.evaluate_all("els => els.map(e => e.dataset.usecase)")) == [
        "chat",
        "classify",
        "extract",
        "summarize",
    ]
    await page.click("[data-usecase=summarize]")
    await page.fill("textarea[name=text]", TEXT)
    await page.fill("input[name=max_words]", "60")
    await page.click("button[value=run]")
    answer = page.locator(".answer[data-state=done]")
    await expect(answer).to_be_visible()
    shown = (await answer.locator(".text-answer").inner_text()).strip()
    request_id = (await answer.locator(".meta .rid").inner_text()).strip()
    await screenshot(page, "usecase-answer", full_page=True)

    month = host.gateway.now().strftime("%Y-%m")
    record = await host.gateway.stores.ledger.get("marketing", month, request_id)
    assert shown and record is not None and record.user_id == "alice@contoso.com"
    usage = answer.locator(".usage dd")
    assert (await usage.nth(0).inner_text()) == f"{record.prompt_tokens:,}"
    assert (await usage.nth(4).inner_text()) == f"{plain(record.cost)} {record.currency}"


async def test_streams_a_chat_turn_piece_by_piece(page: Page) -> None:
    await sign_in(page, "marketing", "alice@contoso.com", next_path="/%23/chat")
    await expect(page.locator(".chat h1")).to_have_text("Chat")
    # Record the reply's text each time the page changes it, before the turn is sent.
    await page.evaluate(
        """() => {
        window.paints = [];
        new MutationObserver(() => {
          const reply = document.querySelector('.msg.assistant p');
          if (reply) window.paints.push(reply.textContent.length);
        }).observe(document.querySelector('.transcript'),
                   {childList: true, subtree: true, characterData: true});
      }"""
    )
    await page.fill("#chat-input", "Give me three ideas for the quarterly newsletter.")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".msg.assistant p.streaming")
    await screenshot(page, "chat-streaming")
    done = page.locator(".msg.assistant[data-state=done]")
    await expect(done).to_be_visible()
    await done.locator(".turn-facts summary").click()  # the turn's usage and cost
    await expect(done.locator(".usage")).to_contain_text("Cost")
    await screenshot(page, "chat-done")
    paints: list[int] = await page.evaluate("window.paints")
    reply = await done.locator("p").first.inner_text()
    growing = sorted({n for n in paints if n > 0})
    assert len(growing) > 2, paints  # the reply grew in several steps, not all at once
    assert growing[-1] == len(reply) and reply.strip()
    await expect(done.locator(".turn-facts summary")).to_contain_text("Turn 1")


async def test_runs_a_job_and_polls_it_to_done(page: Page) -> None:
    await sign_in(page, "marketing", "alice@contoso.com", next_path="/%23/usecases/classify")
    await page.fill("textarea[name=text]", "I was charged twice for my subscription this month.")
    await page.click("button[value=job]")
    job = page.locator(".job")
    await expect(job).to_be_visible()
    first_status = await job.get_attribute("data-status")
    await screenshot(page, "job-progress")
    answer = page.locator(".answer[data-state=done]")
    await expect(answer).to_be_visible()
    assert first_status in ("queued", "running", "succeeded")
    await expect(answer.locator("h3")).to_have_text("Job result")
    assert (await answer.locator(".badge.big").inner_text()).strip()
    await screenshot(page, "job-done", full_page=True)


async def test_a_prompt_too_large_is_a_clear_413(page: Page) -> None:
    await sign_in(page, "marketing", "alice@contoso.com", next_path="/%23/usecases/summarize")
    # ~190,000 characters of numbers: within the field's length, far past 32,000 tokens.
    await page.fill("textarea[name=text]", " ".join(str(100_000 + i) for i in range(27_000)))
    await page.click("button[value=run]")
    error = page.locator(".error-box")
    await expect(error).to_be_visible()
    await expect(error.locator("h3")).to_have_text("The text is too long for this use case")
    await expect(error.locator(".facts dd").first).to_have_text("413")
    assert await error.get_attribute("data-code") == "prompt_too_large"
    await screenshot(page, "error-413", full_page=True)


async def test_a_budget_refusal_is_a_clear_429(page: Page, host: LocalHost) -> None:
    headers = {"x-business-unit": "legal", "x-user-id": "lea@contoso.com"}
    async with httpx.AsyncClient(base_url=host.base_url, timeout=10) as client:
        # Legal's budget is one nano-unit: this first call spends it.
        first = await client.post("/api/v1/classify", json={"text": "hello"}, headers=headers)
        assert first.status_code == 200, first.text
    await sign_in(page, "legal", "lea@contoso.com", next_path="/%23/usecases/classify")
    await page.fill("textarea[name=text]", "Please cancel my order.")
    await page.click("button[value=run]")
    error = page.locator(".error-box")
    await expect(error).to_be_visible()
    assert await error.get_attribute("data-code") == "budget_exceeded"
    await expect(error.locator("h3")).to_have_text("Your unit's budget is used up")
    await expect(error.locator(".facts dd").first).to_have_text("429")
    await expect(error.locator(".retry-after")).to_contain_text("UTC")  # when the month resets
    await expect(error.locator("button", has_text="Retry")).to_have_count(0)
    await screenshot(page, "error-429", full_page=True)


async def test_works_on_a_narrow_screen(page: Page) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, "marketing", "alice@contoso.com", next_path="/%23/usecases/extract")
    await page.fill(
        "textarea[name=text]", "Invoice 42 from Contoso to Fabrikam, 3 May 2026, EUR 1,250"
    )
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # the Run button, reached from the keyboard
    answer = page.locator(".answer[data-state=done]")
    await expect(answer).to_be_visible()
    await expect(answer.locator(".json-answer")).to_contain_text("parties")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing forces a sideways scroll
    await screenshot(page, "narrow-extract", full_page=True)


async def test_a_truncated_answer_says_so(page: Page) -> None:
    await sign_in(page, "marketing", "alice@contoso.com", next_path="/%23/usecases/summarize")
    await page.fill("textarea[name=text]", TEXT + " " + TEXT.replace("12%", "14%"))
    await page.fill("input[name=max_words]", "10")
    await page.click("button[value=stream]")
    answer = page.locator(".answer[data-state=done]")
    await expect(answer).to_be_visible()
    await expect(answer.locator(".warning")).to_contain_text("cut off")
    await expect(answer.locator(".meta")).to_contain_text("length")
    await screenshot(page, "truncated-answer", full_page=True)
