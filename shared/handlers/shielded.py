"""Work a request starts that must finish even if the request is cancelled.

A client that goes away cancels its request (Starlette cancels the handler; a stream's generator
is closed), but a model call that reached Azure is billed all the same, so it must still be
metered. Such work runs in its own task behind ``asyncio.shield``: the request may stop waiting
for it, the task runs on. Strong references keep the tasks alive; ``drain`` waits for them
before the stores close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_pending: set[asyncio.Task[Any]] = set()


def _forget(task: asyncio.Task[Any]) -> None:
    _pending.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved here: whoever awaited it may have gone


async def shielded(work: Coroutine[Any, Any, T]) -> T:
    task = asyncio.ensure_future(work)
    _pending.add(task)
    task.add_done_callback(_forget)
    return await asyncio.shield(task)


async def drain() -> None:
    """Wait for shielded work whose requests went away (for tests and a graceful shutdown)."""
    while _pending:
        await asyncio.gather(*_pending, return_exceptions=True)
