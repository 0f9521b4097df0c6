"""Developer sign-in: an identity for a browser session on a developer's machine.

A browser cannot send ``x-business-unit`` / ``x-user-id``, so in ``headers`` mode a developer
signs in once at ``/api/dev/signin`` (functions/dev_signin_http.py) and gets a cookie that names
the business unit, the user and the roles, signed with HMAC-SHA256 under a key kept in the data
directory. The caller check reads it when a request carries no identity headers. It is a local
development convenience with exactly the trust of headers mode (anyone can choose any identity),
so it exists only in headers mode and is refused at start in Azure
(shared/auth/startup_checks.py). In Azure, people sign in with Entra ID (docs/frontend.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

from shared.auth.header_caller import ROLE, HeaderCallerResolver, check_business_unit, check_user
from shared.domain.caller import Caller
from shared.domain.errors import GatewayError
from shared.http.request import header

COOKIE_NAME = "gateway_dev_identity"
COOKIE_PATH = "/api"
MAX_AGE_SECONDS = 12 * 3600
KEY_FILE = "dev-signin.key"
# A signed identity is a few hundred bytes; anything longer is not one of ours.
MAX_COOKIE_CHARS = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(data_dir: Path) -> bytes:
    """The signing key, created (0600) on first use so sign-ins survive a restart."""
    path = data_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex())
    return key


class DevSignIn:
    """Issues and reads the signed identity cookie."""

    def __init__(self, data_dir: Path, business_units: frozenset[str]) -> None:
        self._data_dir = data_dir
        self._business_units = business_units
        self._key: bytes | None = None

    @property
    def business_units(self) -> frozenset[str]:
        return self._business_units

    def _sign(self, payload: str) -> str:
        if self._key is None:
            self._key = load_or_create_key(self._data_dir)
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def check(self, business_unit: str, user_id: str, roles: frozenset[str]) -> Caller:
        """The identity a developer asked for, checked as headers mode checks headers."""
        check_business_unit(business_unit, self._business_units)
        check_user(user_id)
        return Caller(business_unit, user_id, frozenset(r for r in roles if ROLE.fullmatch(r)))

    def issue(self, caller: Caller, now: float | None = None) -> str:
        body = {
            "bu": caller.business_unit,
            "user": caller.user_id,
            "roles": sorted(caller.roles),
            "exp": int((time.time() if now is None else now) + MAX_AGE_SECONDS),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def read(self, value: str, now: float | None = None) -> Caller | None:
        """The caller a cookie value names, or None when it is not a valid, unexpired one."""
        payload, _, signature = value.partition(".")
        if not payload or len(value) > MAX_COOKIE_CHARS:
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            body: Any = json.loads(_unb64(payload))
            if int(body["exp"]) < (time.time() if now is None else now):
                return None
            roles = frozenset(str(r) for r in body["roles"])
            return self.check(str(body["bu"]), str(body["user"]), roles)
        except (ValueError, KeyError, TypeError, GatewayError):
            return None  # a unit since removed, or a shape we never issued

    def from_headers(self, headers: Mapping[str, str]) -> Caller | None:
        raw = header(headers, "cookie")
        if COOKIE_NAME not in raw:
            return None
        try:
            morsel = SimpleCookie(raw).get(COOKIE_NAME)
        except CookieError:
            return None
        return None if morsel is None else self.read(morsel.value)

    def set_cookie_header(self, caller: Caller) -> str:
        return (
            f"{COOKIE_NAME}={self.issue(caller)}; Path={COOKIE_PATH}; Max-Age={MAX_AGE_SECONDS}; "
            "HttpOnly; SameSite=Lax"
        )


def clear_cookie_header() -> str:
    return f"{COOKIE_NAME}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax"


class DevSignInCallerResolver(HeaderCallerResolver):
    """Headers mode, plus the developer sign-in cookie when no identity header is sent.

    Identity headers win (curl and APIM keep working as before); the cookie is read only when
    neither ``x-business-unit`` nor ``x-user-id`` is present.
    """

    def __init__(self, business_units: frozenset[str], signin: DevSignIn) -> None:
        super().__init__(business_units)
        self.signin = signin

    async def resolve(self, headers: Mapping[str, str]) -> Caller:
        if "x-business-unit" not in headers and "x-user-id" not in headers:
            caller = self.signin.from_headers(headers)
            if caller is not None:
                return caller
        return await super().resolve(headers)
