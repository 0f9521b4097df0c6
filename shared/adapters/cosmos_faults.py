"""Which Cosmos DB failures mean "the store cannot take this now", as the ports say it.

A throttled request (429, after the client's own retries: see ``cosmos_client.build_client``), a
timeout, a 5xx or an unreachable account become ``StoreUnavailable``, which the gateway answers
with 503 and ``Retry-After`` before any model call, and which the meter retries within the
request's deadline after one. Everything else (404, 409, 412: the adapters' own business, or a
bad request) passes unchanged. Status codes:
https://learn.microsoft.com/rest/api/cosmos-db/http-status-codes-for-cosmosdb
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos.exceptions import CosmosHttpResponseError

from shared.ports import StoreUnavailable

P = ParamSpec("P")
T = TypeVar("T")

# 403 is here too: a key or role taken away makes every write fail until it is given back.
_UNAVAILABLE = frozenset({403, 408, 429, 449, 500, 502, 503, 504})
RETRY_AFTER_MS_HEADER = "x-ms-retry-after-ms"


def store_fault(exc: BaseException) -> StoreUnavailable | None:
    """The StoreUnavailable that ``exc`` amounts to, or None when it is not a store fault."""
    if isinstance(exc, CosmosHttpResponseError):
        status = exc.status_code
        if status is None or int(status) not in _UNAVAILABLE:
            return None
        retry_after = None
        raw = (exc.headers or {}).get(RETRY_AFTER_MS_HEADER)
        if raw is not None:
            try:
                retry_after = max(0.0, float(raw) / 1000)
            except ValueError:
                retry_after = None
        return StoreUnavailable(f"Cosmos DB answered {status}", retry_after=retry_after)
    if isinstance(exc, ServiceRequestError | ServiceResponseError | TimeoutError):
        return StoreUnavailable(f"Cosmos DB unreachable: {type(exc).__name__}")
    return None


_FAULTS = (CosmosHttpResponseError, ServiceRequestError, ServiceResponseError, TimeoutError)


def translated(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Wrap an adapter method so store faults leave it as StoreUnavailable."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except _FAULTS as exc:
            fault = store_fault(exc)
            if fault is None:
                raise
            raise fault from exc

    return wrapper
