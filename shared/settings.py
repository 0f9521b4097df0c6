"""The one typed settings object.

Field names are the keys of ``local.settings.sample.json`` "Values" (App Settings in Azure),
matched case-insensitively, so ``cosmos_endpoint`` reads ``COSMOS_ENDPOINT``. Structured values
(deployments, models, business units, budgets) are JSON strings, because App Settings are strings.
Read settings only through :func:`get_settings`; tests build ``Settings(...)`` explicitly.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from shared.structured_settings import (
    BusinessUnitConfig,
    DeploymentConfig,
    ModelConfig,
    default_business_units,
    default_deployments,
    default_models,
)

ROOT = Path(__file__).resolve().parent.parent

__all__ = [
    "ROOT",
    "BusinessUnitConfig",
    "DeploymentConfig",
    "ModelConfig",
    "Settings",
    "SettingsError",
    "get_settings",
    "load_settings",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, populate_by_name=True
    )

    # --- gateway ---------------------------------------------------------------------------
    gateway_data_dir: Path = Field(default=ROOT / ".data", description="Embedded store + queue")
    gateway_business_units: list[BusinessUnitConfig] = Field(
        default_factory=default_business_units,
        description='JSON list of enabled business units: [{"id": "marketing", "name": ...}]',
    )
    gateway_caller_auth: Literal["headers", "jwt"] = Field(
        default="headers",
        description="How the caller is identified: trusted APIM headers (local dev) or a JWT",
    )
    gateway_allow_trusted_headers_in_azure: bool = Field(
        default=False, description="Allow headers mode when WEBSITE_INSTANCE_ID is set (Azure)"
    )
    gateway_allow_embedded_in_azure: bool = Field(
        default=False,
        description="Allow the embedded store, the local queue and the simulator when "
        "WEBSITE_INSTANCE_ID is set (Azure): a throwaway demo only; the ledger then lives on one "
        "instance's temporary disk",
    )
    gateway_dev_signin: bool = Field(
        default=True,
        description="Developer sign-in for browsers at /api/dev/signin (headers mode only; "
        "refused in Azure)",
    )
    gateway_finance_role: str = Field(
        default="finance", description="Role that may read every unit's chargeback"
    )
    gateway_max_body_bytes: int = Field(
        default=256 * 1024, gt=0, description="Request body cap; larger bodies get 413"
    )
    gateway_request_deadline_seconds: float = Field(
        default=30.0, gt=0, description="Overall deadline of one upstream request, retries included"
    )
    gateway_settle_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Time after the request deadline for a paid call's usage to be written; "
        "a call still unsettled then is settled as an estimate by the sweeper",
    )
    gateway_sweep_schedule: str = Field(
        default="0 * * * * *",
        description="NCRONTAB schedule of the sweeper that settles calls cut off by a crash",
    )
    gateway_max_inflight: int = Field(
        default=256, gt=0, description="Upstream calls in flight per process before shedding"
    )
    gateway_session_ttl_seconds: int = Field(
        default=24 * 3600, gt=0, description="Idle time after which a chat session expires"
    )
    gateway_session_max_turns: int = Field(
        default=200, gt=0, description="Most turns one chat session may hold"
    )
    gateway_job_ttl_seconds: int = Field(
        default=7 * 24 * 3600, gt=0, description="How long a queued job and its result are kept"
    )
    gateway_price_table_file: Path = Field(
        default=ROOT / "shared" / "prices.json", description="Versioned price table (JSON)"
    )
    gateway_budgets: str = Field(
        default="[]", description="JSON list of per-unit (and per-use-case) monthly budgets"
    )
    gateway_log_prompts_for: list[str] = Field(
        default_factory=list, description="Use case ids whose prompts/completions may be logged"
    )

    # --- caller check (JWT) ----------------------------------------------------------------
    auth_issuer: str = Field(default="", description="Expected JWT issuer (jwt mode)")
    auth_audience: str = Field(default="", description="Expected JWT audience (jwt mode)")
    auth_jwks_url: str = Field(default="", description="Tenant JWKS URL (jwt mode)")
    auth_business_unit_claim: str = Field(
        default="business_unit", description="Claim holding the business unit"
    )
    auth_roles_claim: str = Field(default="roles", description="Claim holding the roles")
    auth_user_claim: str = Field(default="oid", description="Claim holding the user id")

    # --- Azure OpenAI ----------------------------------------------------------------------
    aoai_deployments: list[DeploymentConfig] = Field(
        default_factory=default_deployments,
        description="JSON list of deployments: name, endpoint, model, region, group, priority, "
        "weight, tpm, rpm, api_key_setting (empty: Entra ID). Default: three simulated chat "
        "regions and two embeddings regions (text-embedding-3-small)",
    )
    aoai_models: dict[str, ModelConfig] = Field(
        default_factory=default_models,
        description='JSON map model -> {"context_window", "encoding"}',
    )
    aoai_auth: Literal["entra", "key", "none"] = Field(
        default="entra",
        description="How deployments without api_key_setting authenticate: entra (Entra ID via "
        "DefaultAzureCredential), key (every deployment must name its key setting) or none (no "
        "credential: the local simulator). A deployment's configured key is always used",
    )
    aoai_api_version: str = Field(default="2024-10-21", description="Azure OpenAI API version")
    aoai_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Timeout of one upstream HTTP call"
    )
    aoai_default_cooldown_seconds: float = Field(
        default=10.0, gt=0, description="Cooldown after a 429 that carries no retry-after"
    )
    aoai_breaker_failures: int = Field(
        default=5, gt=0, description="Consecutive 5xx/timeouts that open a deployment's breaker"
    )
    aoai_breaker_open_seconds: float = Field(
        default=30.0, gt=0, description="How long an open breaker keeps a deployment out"
    )

    # --- identity --------------------------------------------------------------------------
    azure_client_id: str = Field(
        default="",
        description="Client id of the app's user-assigned managed identity: in Azure the one "
        "credential of the process (Cosmos DB, Service Bus, Azure OpenAI) is a managed identity "
        "pinned to it; empty: the system-assigned identity",
    )

    # --- Cosmos DB (unset: embedded SQLite store) ------------------------------------------
    cosmos_endpoint: str = Field(
        default="", description="Cosmos DB account URL; without a key, Entra ID is used"
    )
    cosmos_key: SecretStr = Field(
        default=SecretStr(""), description="Cosmos DB key (prefer Entra ID)"
    )
    cosmos_connection_string: SecretStr = Field(
        default=SecretStr(""),
        description="Cosmos DB connection string (alternative to endpoint + key)",
    )
    cosmos_database: str = Field(default="genai-gateway", description="Cosmos DB database")
    cosmos_create_containers: bool = Field(
        default=True, description="Create database and containers if missing at start"
    )
    cosmos_throttle_retries: int = Field(
        default=3, ge=1, description="Retries of a throttled (429) Cosmos DB request by the SDK"
    )
    cosmos_throttle_wait_seconds: int = Field(
        default=2, ge=1, description="Longest the SDK waits in all on one throttled request"
    )

    # --- Service Bus (unset: embedded durable queue) ---------------------------------------
    servicebus_fully_qualified_namespace: str = Field(
        default="", description="Service Bus namespace host; Entra ID is used"
    )
    servicebus_connection_string: SecretStr = Field(
        default=SecretStr(""),
        description="Service Bus connection string (alternative to the namespace)",
    )
    servicebus_queue_name: str = Field(default="overflow", description="Overflow queue name")
    servicebus_max_delivery_count: int = Field(
        default=5, gt=0, description="Deliveries before a job fails / dead-letters"
    )

    # --- telemetry -------------------------------------------------------------------------
    applicationinsights_connection_string: str = Field(
        default="", description="Azure Monitor; set it to export traces, metrics and logs"
    )
    gateway_telemetry: Literal["off", "console", "otlp", "azure"] = Field(
        default="off", description="Exporter when no Application Insights connection string"
    )
    python_applicationinsights_enable_telemetry: bool = Field(
        default=False,
        description="Set true in Azure: the Functions Python worker sets up Azure Monitor itself "
        "(with host.json telemetryMode OpenTelemetry: one pipeline, each invocation's spans "
        "children of the host's) and the gateway uses its providers instead of its own",
    )
    python_applicationinsights_logger_name: str = Field(
        default="gateway",
        description="Logger whose records are exported (read by the worker's Azure Monitor "
        "setup, and by the gateway's own): the gateway's, not every library's",
    )
    otel_python_disabled_instrumentations: str = Field(
        default="fastapi,httpx,httpx2,requests,urllib,urllib3,azure_sdk",
        description="Auto-instrumentations left off (docs/telemetry.md says why each): the host "
        "traces each request, attempt spans trace each Azure OpenAI call, and a span per "
        "Cosmos DB call would multiply ingestion",
    )

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        names = [d.name for d in self.aoai_deployments]
        if not names:
            raise ValueError("AOAI_DEPLOYMENTS: at least one deployment is required")
        if len(set(names)) != len(names):
            raise ValueError(f"AOAI_DEPLOYMENTS: deployment names must be unique, got {names}")
        for d in self.aoai_deployments:
            if d.model not in self.aoai_models:
                raise ValueError(
                    f"AOAI_DEPLOYMENTS: deployment {d.name!r} uses model {d.model!r}, "
                    f"which AOAI_MODELS does not define (known: {sorted(self.aoai_models)})"
                )
        keyless = [d.name for d in self.aoai_deployments if not d.api_key_setting]
        if self.aoai_auth == "key" and keyless:
            raise ValueError(
                f"AOAI_AUTH=key: deployments {keyless} name no api_key_setting in AOAI_DEPLOYMENTS"
            )
        bus = [b.id for b in self.gateway_business_units]
        if len(set(bus)) != len(bus):
            raise ValueError(f"GATEWAY_BUSINESS_UNITS: ids must be unique, got {bus}")
        if self.gateway_caller_auth == "jwt" and not (
            self.auth_issuer and self.auth_audience and self.auth_jwks_url
        ):
            raise ValueError(
                "GATEWAY_CALLER_AUTH=jwt needs AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URL"
            )
        try:
            json.loads(self.gateway_budgets)
        except json.JSONDecodeError as exc:
            raise ValueError(f"GATEWAY_BUDGETS is not valid JSON: {exc}") from exc
        return self

    @property
    def business_unit_ids(self) -> frozenset[str]:
        return frozenset(b.id for b in self.gateway_business_units)

    @property
    def uses_cosmos(self) -> bool:
        return bool(self.cosmos_endpoint or self.cosmos_connection_string.get_secret_value())

    @property
    def uses_servicebus(self) -> bool:
        return bool(
            self.servicebus_fully_qualified_namespace
            or self.servicebus_connection_string.get_secret_value()
        )


class SettingsError(RuntimeError):
    """Raised at start when a setting is missing or malformed; the message names it."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
    except SourceError as exc:
        # A structured (JSON) value that does not parse: name the setting, not the field.
        match = re.search(r'field "([a-z0-9_]+)"', str(exc))
        name = match.group(1).upper() if match else "a structured setting"
        raise SettingsError(f"invalid settings: {name}: not valid JSON") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
