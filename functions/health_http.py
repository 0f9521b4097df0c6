"""Health probes: GET /api/health (liveness) and GET /api/health/ready (readiness).

Both are anonymous so App Service health checks and APIM backend probes can call them without a
function key (https://learn.microsoft.com/azure/app-service/monitor-instances-health-check).
Liveness touches nothing: the worker answers, so it lives. Readiness checks what a request needs:

* store: a small write (the embedded store rewrites one row, Cosmos DB upserts one tiny item):
  a store that cannot write cannot meter, and no model call is made, so not ready (503).
* deployments: each breaker from the router; a group whose every deployment is open cannot
  answer, so not ready (503). A 429 cooldown is not a failure: the overflow queue absorbs it.
* queue: its depth; failing is reported as "degraded" but stays 200, because every instance
  shares the one queue and taking them all out of rotation would turn a partial outage (no async
  overflow) into a full one.

The answer lists each check; nothing in it is secret (no keys, no quotas, no exception text).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from functions.http_frame import model_response, new_request_id
from shared.handlers.results import ErrorDetail
from shared.http.answers import Liveness, NotReady, ReadinessReport

if TYPE_CHECKING:
    from shared.composition.root import Gateway

bp = func.Blueprint()
log = logging.getLogger("gateway.health")

CHECK_TIMEOUT_SECONDS = 2.0  # probes time out at 2-5 s; a slower dependency is a failed one
NO_STORE = {"Cache-Control": "no-store"}


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health_live(req: Request) -> Response:
    return model_response(
        Liveness(status="ok"), headers={**NO_STORE, "x-request-id": new_request_id()}
    )


@bp.route(route="health/ready", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health_ready(req: Request) -> Response:
    from shared.composition.root import get_gateway

    request_id = new_request_id()
    try:
        gateway = await get_gateway()
    except Exception:
        log.exception("readiness: the gateway could not be built")
        status, body = 503, _report({"gateway": {"status": "fail"}})
    else:
        status, body = await readiness(gateway)
    headers = {**NO_STORE, "x-request-id": request_id}
    if status == 200:
        return model_response(ReadinessReport(**body), headers=headers)
    error = ErrorDetail(
        code="not_ready",
        message="the gateway is not ready; see checks",
        request_id=request_id,
        details=None,
    )
    return model_response(NotReady(**body, error=error), status, headers)


async def readiness(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    store, queue = await asyncio.gather(
        _timed(gateway.stores.ping()), _timed(gateway.queue.depth())
    )
    checks: dict[str, Any] = {
        "store": {"status": "ok" if store[0] else "fail", "duration_ms": store[2]},
        "queue": {
            "status": "ok" if queue[0] else "degraded",
            "depth": queue[1] if queue[0] else None,
            "duration_ms": queue[2],
        },
        "deployments": deployment_check(gateway.router),
    }
    body = _report(checks)
    return (200 if body["status"] == "ready" else 503), body


def deployment_check(router: Any) -> dict[str, Any]:
    snapshot = getattr(router, "snapshot", None)
    if not callable(snapshot):
        return {"status": "ok", "groups": []}  # no router (tests, a single fake model)
    groups: dict[str, list[dict[str, Any]]] = {}
    for health in snapshot():
        groups.setdefault(str(health.group), []).append(
            {
                "name": str(health.name),
                "region": str(health.region),
                "breaker": str(health.breaker),
                "cooling_seconds": round(float(health.cooling_for), 3),
            }
        )
    rows = [
        {
            "group": group,
            "status": "fail" if all(d["breaker"] == "open" for d in members) else "ok",
            "deployments": members,
        }
        for group, members in sorted(groups.items())
    ]
    failed = any(row["status"] == "fail" for row in rows)
    return {"status": "fail" if failed else "ok", "groups": rows}


def _report(checks: dict[str, Any]) -> dict[str, Any]:
    ready = all(check["status"] != "fail" for check in checks.values())
    return {"status": "ready" if ready else "not_ready", "checks": checks}


async def _timed(awaitable: Awaitable[Any]) -> tuple[bool, Any, float]:
    """(succeeded, value, milliseconds); a failure is logged here, never shown to the caller."""
    started = time.perf_counter()
    try:
        value = await asyncio.wait_for(awaitable, CHECK_TIMEOUT_SECONDS)
        ok = True
    except Exception:
        log.warning("readiness check failed", exc_info=True)
        value, ok = None, False
    return ok, value, round((time.perf_counter() - started) * 1000, 3)
