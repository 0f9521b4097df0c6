"""The caller check chosen by ``GATEWAY_CALLER_AUTH``: trusted headers (local) or Entra ID JWT.

Nothing is imported here, so the start-up check (``startup_checks``) loads without PyJWT and
cryptography (~0.1 s of a cold start); ``jwt_setup`` builds the JWT resolver.
"""
