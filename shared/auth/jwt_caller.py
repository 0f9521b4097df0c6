"""``GATEWAY_CALLER_AUTH=jwt``: the caller is whoever the Entra ID bearer token says it is.

APIM validates the token first (apim/policy.xml) and forwards it; the gateway validates it again,
because the function key alone proves only that the caller knows the key. Every check is explicit:
signature against the tenant's JWKS (RS256/ES256 only, chosen by the key, never by the token),
issuer, audience, expiry with a small leeway for clock skew. Business unit, user and roles come
from configured claims, never from headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from shared.auth.header_caller import ROLE, check_business_unit, check_user
from shared.auth.jwks import ALLOWED_ALGORITHMS, JwksCache
from shared.domain.caller import Caller
from shared.domain.errors import Unauthorized

# Entra access tokens are 1-3 KB; a much larger header is an attack on the parser, not a token.
MAX_TOKEN_CHARS = 16 * 1024
MAX_ROLES = 64
DEFAULT_LEEWAY_SECONDS = 60.0

_ERRORS: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "the bearer token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "the bearer token is not valid yet"),
    (jwt.InvalidAudienceError, "invalid_audience", "the bearer token is for another audience"),
    (jwt.InvalidIssuerError, "invalid_issuer", "the bearer token has an untrusted issuer"),
    (jwt.InvalidSignatureError, "invalid_signature", "the bearer token's signature is invalid"),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm", "the token's algorithm is not allowed"),
    (jwt.MissingRequiredClaimError, "missing_claim", "the bearer token lacks a required claim"),
    (jwt.DecodeError, "malformed_token", "the bearer token is malformed"),
)


@dataclass(frozen=True, slots=True)
class JwtRules:
    issuers: tuple[str, ...]
    audience: str
    business_unit_claim: str
    user_claim: str
    roles_claim: str
    leeway_seconds: float = DEFAULT_LEEWAY_SECONDS


def unauthorized(code: str, message: str, details: Any = None) -> Unauthorized:
    # RFC 6750 §3: a 401 for a bearer resource says so in WWW-Authenticate.
    challenge = f'Bearer error="invalid_token", error_description="{code}"'
    return Unauthorized(
        message, code=code, details=details, headers={"WWW-Authenticate": challenge}
    )


def bearer_token(headers: Mapping[str, str]) -> str:
    raw = headers.get("authorization", "")
    scheme, _, token = raw.strip().partition(" ")
    if not raw or scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("missing_token", "send an Entra ID access token as 'Bearer <token>'")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise unauthorized("malformed_token", "the bearer token is too long")
    return token


def _roles(value: Any) -> frozenset[str]:
    # Entra puts app roles in a list; accept a space/comma separated string too (custom claims).
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list):
        return frozenset()
    return frozenset([r for r in items if isinstance(r, str) and ROLE.fullmatch(r)][:MAX_ROLES])


def _claim_text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    # A multi-valued business unit claim is ambiguous: refuse it rather than pick one.
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value.strip() if isinstance(value, str) else ""


class JwtCallerResolver:
    def __init__(self, rules: JwtRules, keys: JwksCache, business_units: frozenset[str]) -> None:
        self._rules = rules
        self._keys = keys
        self._business_units = business_units

    async def resolve(self, headers: Mapping[str, str]) -> Caller:
        claims = await self.validate(bearer_token(headers))
        rules = self._rules
        return Caller(
            check_business_unit(
                _claim_text(claims, rules.business_unit_claim), self._business_units
            ),
            check_user(_claim_text(claims, rules.user_claim)),
            _roles(claims.get(rules.roles_claim, [])),
        )

    async def validate(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthorized("malformed_token", "the bearer token is malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise unauthorized(
                "unsupported_algorithm",
                "the token's algorithm is not allowed",
                {"allowed": sorted(ALLOWED_ALGORITHMS)},
            )
        if not isinstance(kid, str) or not kid:
            raise unauthorized("unknown_key", "the bearer token names no signing key (kid)")
        key = await self._keys.key(kid)
        if key is None:
            raise unauthorized("unknown_key", "the bearer token's signing key is not the tenant's")
        try:
            return jwt.decode(
                token,
                key.key,
                # The key decides the algorithm: a token cannot downgrade it (RFC 8725 §2.1).
                algorithms=[key.algorithm_name],
                audience=self._rules.audience,
                issuer=self._rules.issuers,
                leeway=self._rules.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise _translate(exc) from None


def _translate(exc: jwt.PyJWTError) -> Unauthorized:
    for kind, code, message in _ERRORS:
        if isinstance(exc, kind):
            details = (
                {"claim": exc.claim} if isinstance(exc, jwt.MissingRequiredClaimError) else None
            )
            return unauthorized(code, message, details)
    return unauthorized("invalid_token", "the bearer token is invalid")
