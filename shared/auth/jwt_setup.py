"""The Entra ID JWT caller resolver, built from settings (``GATEWAY_CALLER_AUTH=jwt``)."""

from __future__ import annotations

from shared.auth.jwks import JwksCache, JwksFetcher, fetch_jwks_http
from shared.auth.jwt_caller import JwtCallerResolver, JwtRules
from shared.settings import Settings


def jwt_rules(settings: Settings) -> JwtRules:
    # Comma-separated issuers: Entra v1 (sts.windows.net) and v2 (login.microsoftonline.com)
    # tokens of the same tenant carry different "iss" values.
    issuers = tuple(i.strip() for i in settings.auth_issuer.split(",") if i.strip())
    return JwtRules(
        issuers=issuers,
        audience=settings.auth_audience,
        business_unit_claim=settings.auth_business_unit_claim,
        user_claim=settings.auth_user_claim,
        roles_claim=settings.auth_roles_claim,
    )


def build_jwt_resolver(
    settings: Settings, fetch: JwksFetcher = fetch_jwks_http
) -> JwtCallerResolver:
    keys = JwksCache(settings.auth_jwks_url, fetch)
    return JwtCallerResolver(jwt_rules(settings), keys, settings.business_unit_ids)
