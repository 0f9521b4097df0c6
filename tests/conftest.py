"""Shared fixtures: a gateway wired from the embedded stores and a fake chat model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.composition.embedded import open_embedded_queue, open_embedded_stores
from shared.composition.root import Gateway, assemble, use_gateway
from shared.settings import Settings
from tests.fakes import FakeChatModel

HEADERS = {"x-business-unit": "marketing", "x-user-id": "alice@contoso.com"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(gateway_data_dir=tmp_path)


@pytest.fixture
def chat() -> FakeChatModel:
    return FakeChatModel()


@pytest.fixture
async def gateway(settings: Settings, chat: FakeChatModel) -> AsyncIterator[Gateway]:
    stores = open_embedded_stores(settings.gateway_data_dir)
    queue = open_embedded_queue(settings.gateway_data_dir)
    gw = assemble(settings, stores, queue, chat, receiver=queue)
    gw.closers.extend([stores.close, queue.close])
    use_gateway(gw)
    yield gw
    use_gateway(None)
    await gw.close()


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """The registered functions, in process, through the local host's ASGI app."""
    from devhost.asgi import build_asgi
    from devhost.host import indexed_app

    app = build_asgi(indexed_app().http)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c
