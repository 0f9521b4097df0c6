"""The JWKS cache: TTL, one refetch on an unknown kid (rate limited), last good keys kept."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth.jwks import JwksCache, parse_jwks
from shared.domain.errors import ServiceUnavailable
from tests.security.conftest import JwksServer, SigningKey, rsa_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tenant:
    """A fake fetcher: the keys the tenant publishes right now, or a failure."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.fail = False

    async def __call__(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        if self.fail:
            raise ConnectionError("login.microsoftonline.com unreachable")
        return {"keys": [k.jwk() for k in self.keys]}


@pytest.fixture
def old() -> SigningKey:
    return rsa_key("old")


@pytest.fixture
def new() -> SigningKey:
    return rsa_key("new")


async def test_rotation_is_picked_up_by_one_refetch_on_the_new_kid(
    old: SigningKey, new: SigningKey
) -> None:
    tenant, clock = Tenant(old), Clock()
    cache = JwksCache("https://idp/keys", tenant, clock=clock)
    assert await cache.key("old") is not None
    tenant.keys.append(new)
    clock.now += 31

    assert await cache.key("new") is not None
    assert tenant.fetches == 2


async def test_unknown_kids_refetch_at_most_once_per_interval(old: SigningKey) -> None:
    tenant, clock = Tenant(old), Clock()
    cache = JwksCache("https://idp/keys", tenant, clock=clock, min_refetch_seconds=30)
    await cache.key("old")
    clock.now += 31
    for kid in ("forged-1", "forged-2", "forged-3"):
        assert await cache.key(kid) is None
    assert tenant.fetches == 2


async def test_keys_expire_after_the_ttl(old: SigningKey) -> None:
    tenant, clock = Tenant(old), Clock()
    cache = JwksCache("https://idp/keys", tenant, clock=clock, ttl_seconds=3600)
    await cache.key("old")
    clock.now += 3599
    await cache.key("old")
    clock.now += 2
    await cache.key("old")
    assert tenant.fetches == 2


async def test_a_failed_refresh_keeps_the_last_good_keys(old: SigningKey) -> None:
    tenant, clock = Tenant(old), Clock()
    cache = JwksCache("https://idp/keys", tenant, clock=clock, ttl_seconds=60)
    await cache.key("old")
    tenant.fail = True
    clock.now += 61
    assert await cache.key("old") is not None


async def test_no_keys_ever_is_503(old: SigningKey) -> None:
    tenant = Tenant(old)
    tenant.fail = True
    cache = JwksCache("https://idp/keys", tenant, clock=Clock())
    with pytest.raises(ServiceUnavailable):
        await cache.key("old")


def test_symmetric_unsigned_and_encryption_keys_are_never_loaded(old: SigningKey) -> None:
    document = {
        "keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {**old.jwk(), "kid": "enc", "use": "enc"},
            {**old.jwk(), "kid": "rs512", "alg": "RS512"},
            {key: value for key, value in old.jwk().items() if key != "kid"},
            "not a key",
            old.jwk(),
        ]
    }
    assert set(parse_jwks(document)) == {"old"}


async def test_real_http_fetch_from_loopback(jwks_server: JwksServer) -> None:
    cache = JwksCache(jwks_server.url)
    assert {await cache.key(k.kid) is not None for k in jwks_server.keys} == {True}
    assert jwks_server.hits == 1
