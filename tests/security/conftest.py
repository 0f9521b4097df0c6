"""A local identity provider: key pairs, a token factory and a JWKS served on loopback."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.serve import serve_asgi

ISSUER = "https://login.microsoftonline.com/00000000-0000-0000-0000-0000000000aa/v2.0"
AUDIENCE = "api://genai-gateway"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        data.pop("key_ops", None)
        return {**data, "kid": self.kid, "use": "sig"}


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token assembled by hand, for what PyJWT refuses to produce (alg confusion, none)."""
    parts = [b64url(json.dumps(p).encode()) for p in (header, claims)]
    return ".".join([*parts, b64url(signature)])


@dataclass
class TokenFactory:
    key: SigningKey
    now: float = field(default_factory=time.time)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.now)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "oid": "5f1c2b8e-0000-4000-8000-00000000a11c",
            "business_unit": "marketing",
            "roles": ["Gateway.User"],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}  # None drops a claim

    def token(
        self, key: SigningKey | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        key = key or self.key
        header = {"kid": key.kid, **(headers or {})}
        return jwt.encode(self.claims(**claims), key.private, algorithm=key.alg, headers=header)


@dataclass
class JwksServer:
    url: str
    keys: list[SigningKey]
    hits: int = 0
    down: bool = False


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return rsa_key("key-2026-rsa")


@pytest.fixture(scope="session")
def ec_signing_key() -> SigningKey:
    return ec_key("key-2026-ec")


@pytest.fixture
def tokens(signing_key: SigningKey) -> TokenFactory:
    return TokenFactory(signing_key)


@pytest.fixture
async def jwks_server(
    signing_key: SigningKey, ec_signing_key: SigningKey
) -> AsyncIterator[JwksServer]:
    """The tenant's discovery keys endpoint, over real HTTP on loopback."""
    state = JwksServer(url="", keys=[signing_key, ec_signing_key])

    async def keys(request: Request) -> JSONResponse:
        state.hits += 1
        if state.down:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        return JSONResponse({"keys": [k.jwk() for k in state.keys]})

    app = Starlette(routes=[Route("/discovery/v2.0/keys", keys)])
    async with serve_asgi(app) as base_url:
        state.url = f"{base_url}/discovery/v2.0/keys"
        yield state
