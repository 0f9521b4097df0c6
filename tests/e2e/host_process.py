"""The local host in its own process (so a test can SIGKILL it), pointed at a simulator that
runs in the test's process and tallies what it served per business unit.

The unit of a call is named in its prompt (``unit=<id>``): the simulator cannot know it
otherwise. The tally reads each chat-completions request and its 200 answer's ``usage``, and is
checked against the simulator's own ``/_sim/stats`` before anyone relies on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.composition.embedded import open_embedded_stores
from shared.domain.intent import UsageIntent
from shared.settings import ROOT, Settings
from simulator.app import create_app
from simulator.config import SimDeployment, SimulatorConfig
from simulator.serve import serve_asgi

REGIONS = ("eastus", "swedencentral", "westus3")
_UNIT = re.compile(rb"unit=([a-z0-9-]+)")
_SERVING = re.compile(r"genai-gateway is serving (http://\S+)/api")
START_TIMEOUT_SECONDS = 90.0

Scope = dict[str, Any]
Message = dict[str, Any]


class ServedPerUnit:
    """ASGI middleware before the simulator: calls and tokens served (200), per unit."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.served: dict[str, Counter[str]] = defaultdict(Counter)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        request, answer, status = bytearray(), bytearray(), [0]

        async def reading() -> Message:
            message: Message = await receive()
            request.extend(message.get("body", b""))
            return message

        async def answering(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))
            await send(message)  # a client gone: the simulator has counted it all the same

        try:
            await self.app(scope, reading, answering)
        finally:
            found = _UNIT.search(bytes(request))
            if status[0] == 200 and found:
                usage = json.loads(bytes(answer))["usage"]
                tally = self.served[found.group(1).decode()]
                tally.update(
                    ok=1,
                    prompt_tokens=usage["prompt_tokens"],
                    completion_tokens=usage["completion_tokens"],
                )


def simulated(latency_ms: float, per_token_ms: float) -> SimulatorConfig:
    return SimulatorConfig(
        deployments=tuple(
            SimDeployment(
                name=f"gpt-4o-mini-{region}",
                model="gpt-4o-mini",
                tpm=10**9,
                latency_ms=latency_ms,
                latency_per_token_ms=per_token_ms,
            )
            for region in REGIONS
        )
    )


@contextlib.asynccontextmanager
async def tallied_simulator(config: SimulatorConfig) -> AsyncIterator[tuple[str, ServedPerUnit]]:
    tally = ServedPerUnit(create_app(config))
    async with serve_asgi(tally, "127.0.0.1", 0) as url:
        yield url, tally


async def check_tally(client: httpx.AsyncClient, url: str, tally: ServedPerUnit) -> Counter[str]:
    """What the simulator says it served, which the per-unit tally must add up to."""
    stats = (await client.get(f"{url}/_sim/stats")).json()
    total: Counter[str] = Counter()
    for deployment in stats.values():
        total.update({k: deployment[k] for k in ("ok", "prompt_tokens", "completion_tokens")})
    summed: Counter[str] = Counter()
    for served in tally.served.values():
        summed.update(served)
    assert summed == total, (summed, total)
    return total


def host_env(simulator_url: str, data_dir: Path, settings: dict[str, str]) -> dict[str, str]:
    deployments = [
        {
            "name": f"gpt-4o-mini-{region}",
            "endpoint": simulator_url,
            "model": "gpt-4o-mini",
            "region": region,
            "priority": 0,
            "tpm": 10**9,
        }
        for region in REGIONS
    ]
    prefixes = ("AOAI_", "GATEWAY_", "COSMOS_", "SERVICEBUS_", "SIMULATOR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    env.update(
        {
            "AOAI_DEPLOYMENTS": json.dumps(deployments),
            "AOAI_AUTH": "none",
            "GATEWAY_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            **settings,
        }
    )
    return env


@dataclass
class HostProcess:
    """``python -m devhost`` on a free port; start, SIGKILL and start again on the same data."""

    env: dict[str, str]
    workdir: Path
    url: str = ""
    output: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    starts: int = 0

    def start(self) -> float:
        """Start and wait until it serves; returns the seconds it took."""
        began = time.monotonic()
        ready = threading.Event()
        self.process = process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "devhost", "--port", "0", "--no-simulator",
             "--settings", str(self.workdir / "none.json")],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.starts += 1

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.output.append(line.rstrip())
                serving = _SERVING.search(line)
                if serving:
                    self.url = serving.group(1)
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        while not ready.wait(0.1):
            if process.poll() is not None or time.monotonic() - began > START_TIMEOUT_SECONDS:
                raise RuntimeError("the host did not start:\n" + "\n".join(self.output[-40:]))
        return time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL, and reap it: a zombie would still look alive to the next host."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


async def open_intents(data_dir: Path, limit: float) -> list[UsageIntent]:
    """Wait for every intent in the host's store to be settled (the sweeper settles each one
    its deadline after its call left); returns what is still open after ``limit`` seconds."""
    stores = open_embedded_stores(data_dir)
    units = [u.id for u in Settings().gateway_business_units]
    try:
        began = time.monotonic()
        while True:
            far = datetime.now(UTC) + timedelta(days=1)
            left = [i for u in units for i in await stores.intents.due(u, far, 1000)]
            if not left or time.monotonic() - began > limit:
                return left
            await asyncio.sleep(0.5)
    finally:
        await stores.close()
