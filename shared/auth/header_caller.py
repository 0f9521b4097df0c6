"""Who is calling, from what APIM forwards.

``headers`` mode trusts ``x-business-unit`` / ``x-user-id`` / ``x-user-roles``: APIM sets them
from the subscription or token and strips any client-supplied copy (see apim/policy.xml). It is
for local development and for deployments where APIM is the only way in; it is refused at start
in Azure unless explicitly allowed (shared/auth/startup_checks.py). ``jwt`` mode lives in
shared/auth/jwt_caller.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Protocol

from shared.domain.caller import Caller
from shared.domain.errors import Forbidden, Unauthorized
from shared.http.request import header, safe_log_value

log = logging.getLogger("gateway.auth")

USER_ID = re.compile(r"^[A-Za-z0-9@._:-]{1,128}$")
ROLE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Identity headers are short; a long one is refused before it is split or matched.
MAX_BUSINESS_UNIT_CHARS = 63
MAX_ROLES_HEADER_CHARS = 2048
_NO_ROLES: frozenset[str] = frozenset()


class CallerResolver(Protocol):
    async def resolve(self, headers: Mapping[str, str]) -> Caller: ...


def check_business_unit(business_unit: str, known: frozenset[str]) -> str:
    if not business_unit:
        raise Unauthorized("the caller's business unit is missing", code="missing_business_unit")
    if business_unit not in known:
        log.info("unknown business unit %s", safe_log_value(business_unit))
        raise Forbidden(
            f"the business unit {business_unit!r} is not enabled{_case_hint(business_unit, known)}",
            code="unknown_business_unit",
            details={"business_unit": business_unit},
        )
    return business_unit


def _case_hint(business_unit: str, known: frozenset[str]) -> str:
    """Unit ids are lowercase (BusinessUnitConfig.id), so "Marketing" is not "marketing"; the
    match stays exact (an identity is never guessed at) and the answer says which id is meant."""
    folded = business_unit.lower()
    return f" (ids are lowercase: did you mean {folded!r}?)" if folded in known else ""


def check_user(user_id: str) -> str:
    if not user_id:
        raise Unauthorized("the caller's user id is missing", code="missing_user")
    if not USER_ID.fullmatch(user_id):
        raise Unauthorized("the caller's user id is malformed", code="invalid_user")
    return user_id


def parse_roles(raw: str) -> frozenset[str]:
    if not raw:
        return _NO_ROLES  # the usual case: no roles header
    if len(raw) > MAX_ROLES_HEADER_CHARS:
        raise Unauthorized("the caller's roles header is too long", code="invalid_roles")
    return frozenset(r for r in (p.strip() for p in raw.split(",")) if r and ROLE.fullmatch(r))


class HeaderCallerResolver:
    def __init__(self, business_units: frozenset[str]) -> None:
        self._business_units = business_units

    async def resolve(self, headers: Mapping[str, str]) -> Caller:
        business_unit = headers.get("x-business-unit", "").strip()
        if len(business_unit) > MAX_BUSINESS_UNIT_CHARS:
            raise Unauthorized(
                "the caller's business unit is malformed", code="invalid_business_unit"
            )
        check_business_unit(business_unit, self._business_units)
        user_id = check_user(headers.get("x-user-id", "").strip())
        return Caller(business_unit, user_id, parse_roles(header(headers, "x-user-roles")))
