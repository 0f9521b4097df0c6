"""Cosmos DB failures as the ports name them: throttling, timeouts, 5xx and an unreachable
account are StoreUnavailable (with the server's retry-after); the adapters' own answers are not."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.cosmos.exceptions import CosmosHttpResponseError, CosmosResourceNotFoundError

from shared.adapters.cosmos_faults import store_fault, translated
from shared.ports import StoreUnavailable


def answered(status: int, **headers: str) -> CosmosHttpResponseError:
    exc = CosmosHttpResponseError(status_code=status, message=f"status {status}")  # type: ignore[no-untyped-call]
    exc.headers = headers
    return exc


def test_throttling_carries_the_servers_retry_after() -> None:
    fault = store_fault(answered(429, **{"x-ms-retry-after-ms": "250"}))
    assert isinstance(fault, StoreUnavailable) and fault.retry_after == 0.25


@pytest.mark.parametrize("status", [403, 408, 500, 503])
def test_server_side_failures_are_unavailable_without_a_hint(status: int) -> None:
    fault = store_fault(answered(status))
    assert isinstance(fault, StoreUnavailable) and fault.retry_after is None


def test_an_unreachable_account_is_unavailable() -> None:
    assert isinstance(store_fault(ServiceRequestError("no route")), StoreUnavailable)


@pytest.mark.parametrize("status", [400, 404, 409, 412])
def test_the_adapters_own_answers_pass_unchanged(status: int) -> None:
    assert store_fault(answered(status)) is None


async def test_a_translated_method_raises_store_unavailable_and_passes_the_rest() -> None:
    @translated
    async def throttled() -> None:
        raise answered(429, **{"x-ms-retry-after-ms": "1000"})

    @translated
    async def missing() -> None:
        raise CosmosResourceNotFoundError(status_code=404, message="no such item")  # type: ignore[no-untyped-call]

    with pytest.raises(StoreUnavailable) as caught:
        await throttled()
    assert caught.value.retry_after == 1.0
    with pytest.raises(CosmosResourceNotFoundError):
        await missing()
