"""The tenant's signing keys (JWKS), fetched over HTTPS and cached.

Entra ID rotates its signing keys without notice and publishes the new key in the JWKS some time
before using it, so: keys are cached for ``ttl_seconds``; a token whose ``kid`` is not in the cache
triggers one refetch, at most once per ``min_refetch_seconds`` (otherwise a caller could make every
request cost an outbound fetch by inventing key ids). A failed fetch keeps serving the last good
keys. https://learn.microsoft.com/entra/identity-platform/signing-key-rollover
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import jwt

from shared.domain.errors import ServiceUnavailable

log = logging.getLogger("gateway.auth")

# Asymmetric only: with HS* the public JWKS would be the secret; "none" signs nothing.
ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
MAX_JWKS_BYTES = 256 * 1024

JwksFetcher = Callable[[str], Awaitable[dict[str, Any]]]


async def fetch_jwks_http(url: str, timeout_seconds: float = 5.0) -> dict[str, Any]:
    """GET the JWKS document. A session per fetch: fetches are hourly, not per request."""
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, allow_redirects=False) as response,
    ):
        response.raise_for_status()
        body = await response.content.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError(f"JWKS document larger than {MAX_JWKS_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("JWKS document is not a JSON object")
    return document


def parse_jwks(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """Signing keys by kid; keys without a kid, for encryption or of other algorithms skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list):
        raise ValueError("JWKS document has no 'keys' list")
    for raw in raw_keys:
        if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
            continue
        kid = raw.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            key = jwt.PyJWK(raw)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in ALLOWED_ALGORITHMS:
            keys[kid] = key
    return keys


class JwksCache:
    def __init__(
        self,
        url: str,
        fetch: JwksFetcher = fetch_jwks_http,
        *,
        ttl_seconds: float = 3600.0,
        min_refetch_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last success
        self._attempted_at: float | None = None  # last try, success or not
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The signing key for ``kid``, or None when the tenant does not publish it."""
        if self._is_stale():
            await self._refresh()
        if self._fetched_at is None:
            raise ServiceUnavailable(
                "the identity provider's signing keys are unavailable; retry later",
                code="jwks_unavailable",
                headers={"Retry-After": str(max(1, round(self._min_refetch)))},
            )
        found = self._keys.get(kid)
        if found is None:
            await self._refresh()
            found = self._keys.get(kid)
        return found

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl

    def _may_attempt(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._min_refetch

    async def _refresh(self) -> None:
        async with self._lock:
            # Rate limit: also covers requests that queued on the lock behind a refresh.
            if not self._may_attempt():
                return
            self._attempted_at = self._clock()
            self.fetches += 1
            try:
                keys = parse_jwks(await self._fetch(self._url))
            except Exception as exc:
                # Keep the last good keys (if any); the next attempt waits min_refetch_seconds.
                log.warning("JWKS fetch from %s failed: %s", self._url, type(exc).__name__)
                return
            self._keys = keys
            self._fetched_at = self._clock()
