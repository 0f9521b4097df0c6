"""The OpenAPI operations that are not use cases: jobs, chat sessions, reports, health, the doc.

Routes are the Functions routes of functions/*.py; statuses are the ones their handlers raise.
The chat sessions' operations and schemas are in chat.py.
"""

from __future__ import annotations

from typing import Any

from shared.catalog import Catalog
from shared.openapi.chat import chat_operations
from shared.openapi.parts import (
    Operation,
    caller_params,
    json_content,
    ok,
    operation,
    ref,
    with_params,
)
from shared.settings import Settings

READ_ERRORS = (401, 403, 500)


def _query(name: str, schema: dict[str, Any], required: bool, text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": text,
    }


def report_parameters() -> list[dict[str, Any]]:
    day = {"type": "string", "format": "date"}
    return [
        _query(
            "from",
            day,
            False,
            "First day (UTC), inclusive; default: the first of to's month (the month to date)",
        ),
        _query(
            "to",
            day,
            False,
            "Last day (UTC), inclusive; at most 366 days after from; default: today",
        ),
        _query(
            "group_by",
            {
                "type": "string",
                "pattern": r"^(business_unit|use_case|model|day)"
                r"(,(business_unit|use_case|model|day))*$",
            },
            False,
            "Comma-separated: business_unit, use_case, model, day",
        ),
        _query(
            "business_unit",
            {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{0,62}$"},
            False,
            "One unit (finance role), or your own",
        ),
        _query("format", {"type": "string", "enum": ["json", "csv"]}, False, "Wins over Accept"),
        _query(
            "refresh",
            {"type": "string", "enum": ["true", "false", "1", "0"]},
            False,
            "Recompute the rollups of the range's whole months first (for a record that "
            "arrived late on an earlier day). Without it, a unit's rollups older than 60 s are "
            "brought up to date from the day they were computed (usually just today)",
        ),
    ]


def _report_operations(settings: Settings) -> list[Operation]:
    params = with_params(caller_params(settings), *report_parameters())
    report = {**json_content(ref("ChargebackReport")), "text/csv": {"schema": {"type": "string"}}}
    page = {"text/html": {"schema": {"type": "string"}}}
    errors = (400, *READ_ERRORS)
    return [
        (
            "v1/reports/chargeback",
            "GET",
            operation(
                "chargeback_report",
                "Usage and cost by business unit, use case, model or day",
                {
                    200: ok(
                        "The report (JSON, or CSV with format=csv / Accept: text/csv)",
                        report,
                        "x-report-as-of",
                    )
                },
                errors,
                tags=["reports"],
                **params,
            ),
        ),
        (
            "v1/reports/chargeback.html",
            "GET",
            operation(
                "chargeback_page",
                "The report as a page with a chart",
                {200: ok("An HTML page", page, "x-report-as-of")},
                errors,
                tags=["reports"],
                **params,
            ),
        ),
    ]


def static_operations(catalog: Catalog, settings: Settings) -> list[Operation]:
    caller = caller_params(settings)
    job = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    anonymous: dict[str, Any] = {"security": [], "tags": ["operations"]}
    return [
        (
            "v1/usecases",
            "GET",
            operation(
                "list_usecases",
                "The use cases this caller may run",
                {200: ok("Use cases", json_content(ref("UseCaseList")))},
                READ_ERRORS,
                tags=["use cases"],
                **caller,
            ),
        ),
        (
            "v1/jobs/{job_id}",
            "GET",
            operation(
                "get_job",
                "A queued call's status and, once done, its answer",
                {200: ok("The job", json_content(ref("JobView")))},
                (401, 403, 404, 500),
                tags=["use cases"],
                **with_params(caller, job),
            ),
        ),
        *chat_operations(settings),
        *_report_operations(settings),
        (
            "health",
            "GET",
            operation(
                "health_live",
                "Liveness: the worker answers",
                {200: ok("Alive", json_content(ref("Liveness")))},
                (),
                **anonymous,
            ),
        ),
        (
            "health/ready",
            "GET",
            operation(
                "health_ready",
                "Readiness: store, queue and deployments",
                {
                    200: ok("Ready", json_content(ref("ReadinessReport"))),
                    503: ok("Not ready; the checks say why", json_content(ref("NotReady"))),
                },
                (),
                **anonymous,
            ),
        ),
        (
            "openapi.json",
            "GET",
            operation(
                "openapi",
                "This document",
                {200: ok("OpenAPI 3.1", json_content({"type": "object"}))},
                (500,),
                tags=["operations"],
                security=[{"functionKey": []}, {"functionKeyQuery": []}, {}],
            ),
        ),
        *dev_signin_operations(settings),
    ]


def dev_signin_operations(settings: Settings) -> list[Operation]:
    """Local development only: listed when the developer sign-in is on (headers mode)."""
    if settings.gateway_caller_auth != "headers" or not settings.gateway_dev_signin:
        return []
    page = {"text/html": {"schema": {"type": "string"}}}
    tags: dict[str, Any] = {"security": [], "tags": ["developer sign-in (local only)"]}
    nxt = _query("next", {"type": "string", "maxLength": 2048}, False, "Path to return to")
    form = {
        "type": "object",
        "required": ["business_unit", "user_id"],
        "properties": {
            "business_unit": {"type": "string"},
            "user_id": {"type": "string"},
            "roles": {"type": "string", "description": "Comma-separated"},
            "next": {"type": "string"},
        },
    }
    body = {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": form}},
        }
    }
    redirect = {"description": "Signed in (cookie set), or back to the form with the error"}
    return [
        (
            "dev/signin",
            "GET",
            operation(
                "dev_signin_form",
                "The sign-in form",
                {200: ok("An HTML page", page)},
                (404,),
                parameters=[nxt],
                **tags,
            ),
        ),
        (
            "dev/signin",
            "POST",
            operation(
                "dev_signin",
                "Sign this browser in as a business unit, user and roles",
                {303: redirect},
                (404, 413, 415),
                **body,
                **tags,
            ),
        ),
        (
            "dev/session",
            "GET",
            operation(
                "dev_session",
                "Who this browser is signed in as",
                {200: ok("The identity", json_content(ref("DevSession")))},
                (401, 404),
                **tags,
            ),
        ),
        (
            "dev/session",
            "DELETE",
            operation(
                "dev_signout",
                "Sign this browser out",
                {204: ok("Signed out", None)},
                (404,),
                **tags,
            ),
        ),
    ]
