"""Refuse, at start, a caller check that would be unsafe where the app runs.

``headers`` mode believes whatever ``x-business-unit`` says. On a laptop that is the point; in
Azure it is safe only when APIM is the one way in and strips client copies of those headers, so it
takes an explicit ``GATEWAY_ALLOW_TRUSTED_HEADERS_IN_AZURE=true``. The developer sign-in
(``GATEWAY_DEV_SIGNIN``, shared/auth/dev_signin.py) has the same trust and is refused in Azure.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from shared.settings import Settings, SettingsError

# Set by App Service / Functions on every instance; never set on a developer machine.
# https://learn.microsoft.com/azure/app-service/reference-app-settings#scaling
AZURE_INSTANCE_VARIABLE = "WEBSITE_INSTANCE_ID"


def running_in_azure(environ: Mapping[str, str]) -> bool:
    return bool(environ.get(AZURE_INSTANCE_VARIABLE, "").strip())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_jwks_url(url: str) -> None:
    """HTTPS only (the keys decide who is trusted), except loopback for tests and emulators."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    raise SettingsError(f"AUTH_JWKS_URL must be an https:// URL, got {url!r}")


def check_caller_auth(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Raises SettingsError when the configured caller check is unsafe where the app runs."""
    environ = os.environ if environ is None else environ
    if settings.gateway_caller_auth == "jwt":
        check_jwks_url(settings.auth_jwks_url)
        return
    if running_in_azure(environ) and not settings.gateway_allow_trusted_headers_in_azure:
        raise SettingsError(
            "GATEWAY_CALLER_AUTH=headers trusts x-business-unit/x-user-id as sent and is for "
            f"local development; this app runs in Azure ({AZURE_INSTANCE_VARIABLE} is set). "
            "Set GATEWAY_CALLER_AUTH=jwt with AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URL, or, "
            "only if APIM is the sole way in and strips those headers, "
            "GATEWAY_ALLOW_TRUSTED_HEADERS_IN_AZURE=true"
        )
    if running_in_azure(environ) and settings.gateway_dev_signin:
        raise SettingsError(
            "GATEWAY_DEV_SIGNIN=true lets a browser choose any identity and is for local "
            f"development; this app runs in Azure ({AZURE_INSTANCE_VARIABLE} is set). Set "
            "GATEWAY_DEV_SIGNIN=false (people sign in with Entra ID through APIM: docs/frontend.md)"
        )
