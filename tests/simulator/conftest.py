"""Fixtures for the simulator tests: a fake clock and in-process HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulator import SimDeployment, SimulatorConfig, create_app
from simulator.testing import FakeClock

ClientFactory = Callable[..., httpx.AsyncClient]


def make_config(time_scale: float = 1.0, **deployment: Any) -> SimulatorConfig:
    fields: dict[str, Any] = {"name": "sim", "model": "gpt-4o-mini", "tpm": 100_000}
    fields.update(deployment)
    return SimulatorConfig(deployments=(SimDeployment(**fields),), time_scale=time_scale)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_client(clock: FakeClock) -> AsyncIterator[ClientFactory]:
    """``make_client(tpm=..., time_scale=...)``: one deployment "sim", on the fake clock."""
    clients: list[httpx.AsyncClient] = []

    def build(**kwargs: Any) -> httpx.AsyncClient:
        app = create_app(make_config(**kwargs), clock=clock)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://sim", headers={"api-key": "k"}
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return make_client()
