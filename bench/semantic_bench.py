"""What a semantic cache adds: to a miss (embed, search, guard, store) and to a hit, over HTTP.

    python -m bench.semantic_bench [--requests 200] [--entries 200]

Serves the app and the simulator on loopback (run_local_host) and sends classify requests one
at a time, with the use case's cache switched between ``exact`` and ``semantic``:

* miss: unique texts. Semantic adds an embeddings call (router, SDK, simulator), a search of
  the partition (pre-filled with ``--entries`` near-identical prompts, so the near-miss guard runs
  on every candidate above the threshold) and the store of the new entry.
* hit: exact = the same text again; semantic = a rewording of a cached text (no exact match),
  served after the embeddings call, the search and the guard.

The simulator answers at once (0 ms), so the differences are the gateway's own cost plus a
loopback round trip to the embeddings "deployment"; against Azure, add that deployment's latency
(the network round trip and the model's time) to every semantic miss and hit.
Also prints the in-process cost of the two pure steps (store search, guard) per call.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from devhost.host import LocalHost, run_local_host
from shared.catalog import Catalog, UseCase
from shared.composition.embedded import open_embedded_stores
from shared.composition.root import use_gateway
from shared.domain.chat import TokenUsage
from shared.domain.embeddings import EMBEDDING_DIMENSIONS, SemanticEntry
from shared.semantic.facts import extract
from shared.semantic.near_miss import near_miss
from shared.settings import Settings
from simulator.embeddings import lexical_embedding

HEADERS = {"x-business-unit": "marketing", "x-user-id": "bench@contoso.com"}
QUESTION = "I was charged twice for my subscription this month, order {i}."
REWORDED = "This month I was charged twice for my subscription, order {i}."


def settings(data_dir: Path) -> Settings:
    base = Settings(gateway_data_dir=data_dir, gateway_telemetry="off")
    deployments = [d.model_copy(update={"tpm": 50_000_000}) for d in base.aoai_deployments]
    return base.model_copy(update={"aoai_deployments": deployments})


def with_cache(host: LocalHost, mode: str) -> None:
    """Serve classify with this cache mode (the gateway's records are frozen: a copy)."""
    gateway = host.gateway
    classify = gateway.catalog.get("classify")
    assert classify is not None
    policy = classify.cache.model_copy(update={"mode": mode})
    usecases: dict[str, UseCase] = {u.id: u for u in gateway.catalog.all()}
    usecases["classify"] = classify.model_copy(update={"cache": policy})
    catalog = Catalog(usecases)
    deps = dataclasses.replace(gateway.usecases, catalog=catalog)
    use_gateway(dataclasses.replace(gateway, catalog=catalog, usecases=deps))


async def timed(client: httpx.AsyncClient, texts: list[str], expect: str) -> list[float]:
    took = []
    for text in texts:
        started = time.perf_counter()
        response = await client.post("/api/v1/classify", json={"text": text}, headers=HEADERS)
        took.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or response.headers.get("x-gateway-cache") != expect:
            raise RuntimeError(f"expected a 200 {expect}, got {response.status_code}: {text!r}")
    return took


def line(label: str, took: list[float]) -> str:
    q = statistics.quantiles(took, n=20)
    return f"{label:<16} {statistics.median(took):8.2f} {q[18]:8.2f} {len(took):6d}"


async def over_http(requests: int, entries: int) -> list[str]:
    with tempfile.TemporaryDirectory() as data_dir:
        async with (
            run_local_host(settings(Path(data_dir)), port=0, simulator_port=0) as host,
            httpx.AsyncClient(base_url=host.base_url, timeout=30) as client,
        ):
            with_cache(host, "semantic")
            await timed(client, [QUESTION.format(i=i) for i in range(entries)], "miss")
            rows = {"semantic miss": [QUESTION.format(i=entries + i) for i in range(requests)]}
            semantic_miss = await timed(client, rows["semantic miss"], "miss")
            semantic_hit = await timed(
                client, [REWORDED.format(i=i % entries) for i in range(requests)], "semantic"
            )
            with_cache(host, "exact")
            fresh = [QUESTION.format(i=10 * entries + i) for i in range(requests)]
            exact_miss = await timed(client, fresh, "miss")
            exact_hit = await timed(client, fresh, "exact")
    added_miss = statistics.median(semantic_miss) - statistics.median(exact_miss)
    added_hit = statistics.median(semantic_hit) - statistics.median(exact_hit)
    return [
        f"classify over HTTP, one caller, {entries} entries in the partition (ms)",
        f"{'':<16} {'p50':>8} {'p95':>8} {'n':>6}",
        line("exact miss", exact_miss),
        line("semantic miss", semantic_miss),
        line("exact hit", exact_hit),
        line("semantic hit", semantic_hit),
        f"added by the semantic lookup: miss path +{added_miss:.2f} ms (p50), "
        f"semantic hit vs exact hit +{added_hit:.2f} ms (p50)",
    ]


async def in_process(entries: int) -> list[str]:
    """The store's brute-force search and the guard, without HTTP or the embeddings call."""
    with tempfile.TemporaryDirectory() as data_dir:
        stores = open_embedded_stores(Path(data_dir))
        assert stores.semantic is not None
        for i in range(entries):
            text = QUESTION.format(i=i)
            entry = SemanticEntry(
                f"r{i}", "p", text, tuple(lexical_embedding(text, EMBEDDING_DIMENSIONS)),
                '{"label": "billing"}', TokenUsage(60, 5), "marketing", "classify",
                "gpt-4o-mini", datetime.now(UTC),
            )  # fmt: skip
            await stores.semantic.put(entry, ttl_seconds=3600)
        query = lexical_embedding(REWORDED.format(i=1), EMBEDDING_DIMENSIONS)
        runs = 200
        started = time.perf_counter()
        for _ in range(runs):
            await stores.semantic.nearest("p", query, 5)
        search_us = (time.perf_counter() - started) / runs * 1e6
        # Texts this process has not seen: the guard remembers the facts of prompts it compared.
        texts = [(REWORDED.format(i=-i), QUESTION.format(i=-i - 1)) for i in range(1, runs + 1)]
        started = time.perf_counter()
        for a, b in texts:
            extract(a)
            extract(b)
        extract_us = (time.perf_counter() - started) / (2 * runs) * 1e6
        started = time.perf_counter()
        for a, b in texts:
            near_miss(a, b)
        guard_us = (time.perf_counter() - started) / runs * 1e6
        await stores.close()
    return [
        f"in process: search of {entries} entries (256 dims, top 5) {search_us:.0f} µs; "
        f"facts of one prompt {extract_us:.0f} µs; guard on a new pair {guard_us:.0f} µs",
    ]


async def run(requests: int, entries: int) -> None:
    for text in await over_http(requests, entries) + await in_process(entries):
        print(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.semantic_bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--entries", type=int, default=200)
    args = parser.parse_args(argv)
    asyncio.run(run(args.requests, args.entries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
