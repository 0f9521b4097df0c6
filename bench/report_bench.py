"""What a chargeback view costs: fresh, stale (only the days since the last computation are
recomputed), and ``refresh=true`` (whole months), against a month of usage in the embedded store.

    python -m bench.report_bench [--per-day 4000]

One unit spends ``per-day`` records a day from the 1st to noon on the 28th; finance then views
the default period (the month to date) as the page and the CSV do.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from shared.composition.embedded import open_embedded_queue, open_embedded_stores
from shared.composition.root import Gateway, assemble
from shared.domain.caller import Caller
from shared.domain.chat import ChatRequest, ChatResult, StreamEvent
from shared.domain.usage import UsageRecord
from shared.handlers.reports import chargeback
from shared.metering.reports import FRESH_FOR, ReportQuery, parse_query
from shared.settings import Settings

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
FINANCE = Caller("finance", "cfo", frozenset({"finance"}))


class NoModel:
    """The bench calls no model; the gateway needs one to be assembled."""

    async def complete(self, request: ChatRequest) -> ChatResult:
        raise NotImplementedError

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError


def usage(request_id: str, at: datetime) -> UsageRecord:
    return UsageRecord(
        request_id=request_id,
        business_unit="marketing",
        user_id="alice",
        use_case="summarize",
        use_case_version="1",
        model="gpt-4o-mini",
        deployment="gpt-4o-mini-eastus",
        region="eastus",
        prompt_tokens=1000,
        cached_tokens=0,
        completion_tokens=100,
        reasoning_tokens=0,
        estimated=False,
        cache_hit=False,
        latency_ms=10.0,
        outcome="ok",
        created_at=at,
        cost=Decimal("0.00021"),
        price_version="bench",
    )


async def seed(gw: Gateway, per_day: int) -> int:
    written = 0
    step = timedelta(seconds=86_400 / per_day)
    for day in range(1, NOW.day + 1):
        at = datetime(NOW.year, NOW.month, day, tzinfo=UTC)
        for i in range(per_day):
            if at > NOW:
                break
            await gw.stores.ledger.record(usage(f"{day}-{i}", at))
            at += step
            written += 1
    return written


async def view(gw: Gateway, label: str, query: ReportQuery) -> None:
    started = time.perf_counter()
    report = await chargeback(gw.reports, FINANCE, query)
    elapsed = (time.perf_counter() - started) * 1000
    print(f"| {label} | {elapsed:,.1f} | {report.totals.calls:,} |")


async def main(per_day: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="report-bench-"))
    stores, queue = open_embedded_stores(data), open_embedded_queue(data)
    clock = [NOW]
    settings = Settings(gateway_data_dir=data)
    gw = assemble(settings, stores, queue, NoModel(), receiver=queue, now=lambda: clock[0])
    gw.closers.extend([stores.close, queue.close])
    try:
        records = await seed(gw, per_day)
        month_to_date = parse_query([], NOW.date())
        print(f"{records:,} records this month, {per_day:,} a day\n")
        print("| view | ms | calls |\n| --- | ---: | ---: |")
        await view(gw, "first view (never computed: the month in full)", month_to_date)
        clock[0] += FRESH_FOR / 2
        await view(gw, f"within {FRESH_FOR.seconds} s (reads rollups only)", month_to_date)
        clock[0] += FRESH_FOR
        await view(gw, f"after {FRESH_FOR.seconds} s (today's records only)", month_to_date)
        refresh = parse_query([("refresh", "true")], NOW.date())
        await view(gw, "refresh=true (the month in full)", refresh)
    finally:
        await gw.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.report_bench", description=__doc__)
    parser.add_argument("--per-day", type=int, default=4000)
    asyncio.run(main(parser.parse_args().per_day))
