"""Check a deployment through API Management: ``python -m scripts.smoke <APIM gateway URL>``.

Calls, as a real caller does (an APIM subscription key and an Entra ID access token):
  1. GET  /api/health         liveness
  2. GET  /api/health/ready   readiness (store, queue, breakers)
  3. GET  /api/v1/reports/chargeback?refresh=true   today's usage of the caller's unit, before
  4. POST /api/v1/summarize   one use case, answered by a model (never the cache: the text is new)
  5. the same report again: the call must be on the books (one more call, its tokens counted)
and prints each check. Exit 0 when all pass. The token comes from --token, $SMOKE_TOKEN, or
`az account get-access-token --scope <audience>/.default` (docs/deploy.md, "Smoke check").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

USE_CASE = "summarize"


class SmokeFailure(RuntimeError):
    pass


def check(ok: bool, what: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        raise SmokeFailure(what)


async def usage_today(client: httpx.AsyncClient) -> dict[str, int]:
    today = datetime.now(UTC).date().isoformat()
    params = {"from": today, "to": today, "group_by": "use_case", "refresh": "true"}
    answer = await client.get("/api/v1/reports/chargeback", params=params)
    check(answer.status_code == 200, f"chargeback report: {answer.status_code}")
    rows = [r for r in answer.json()["rows"] if r.get("use_case") == USE_CASE]
    keys = ("calls", "prompt_tokens", "completion_tokens")
    return {k: sum(int(r[k]) for r in rows) for k in keys}


async def run(client: httpx.AsyncClient) -> None:
    health = await client.get("/api/health")
    check(health.status_code == 200, f"GET /api/health: {health.status_code}")
    ready = await client.get("/api/health/ready")
    check(
        ready.status_code == 200, f"GET /api/health/ready: {ready.status_code} {ready.text[:200]}"
    )

    before = await usage_today(client)
    print(f"     usage of {USE_CASE} today before: {before}")
    text = f"Smoke check {uuid.uuid4()}: revenue rose 12% while costs stayed flat."
    answer = await client.post(f"/api/v1/{USE_CASE}", json={"text": text, "max_words": 20})
    request_id = answer.headers.get("x-request-id", "?")
    check(
        answer.status_code == 200, f"POST /api/v1/{USE_CASE}: {answer.status_code} ({request_id})"
    )
    body: dict[str, Any] = answer.json()
    usage = body["usage"]
    check(not body.get("cached") and usage["prompt_tokens"] > 0, f"model answered: {usage}")
    admitted = answer.headers.get("x-gateway-tokens-admitted")
    check(admitted is not None and int(admitted) > 0, f"tokens admitted (APIM counts): {admitted}")

    after = await usage_today(client)
    print(f"     usage of {USE_CASE} today after:  {after}")
    check(after["calls"] >= before["calls"] + 1, "the call is on the chargeback report")
    for key in ("prompt_tokens", "completion_tokens"):
        grew = after[key] - before[key]
        check(grew >= usage[key], f"{key} on the report grew by {grew} >= {usage[key]}")


def entra_token(audience: str) -> str:
    command = ["az", "account", "get-access-token", "--scope", f"{audience}/.default"]
    done = subprocess.run(  # noqa: S603 - the Azure CLI, fixed arguments
        [*command, "--query", "accessToken", "-o", "tsv"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.smoke", description=__doc__)
    parser.add_argument(
        "base_url", help="the APIM gateway URL (azd env get-value APIM_GATEWAY_URL)"
    )
    parser.add_argument("--subscription-key", default=os.environ.get("APIM_SUBSCRIPTION_KEY"))
    parser.add_argument("--token", default=os.environ.get("SMOKE_TOKEN"))
    parser.add_argument("--audience", default=os.environ.get("AUTH_AUDIENCE"))
    args = parser.parse_args(argv)
    if not args.subscription_key:
        parser.error("give --subscription-key or set APIM_SUBSCRIPTION_KEY")
    if not (args.token or args.audience):
        parser.error("give --token, or --audience to get one from the Azure CLI")
    token = args.token or entra_token(args.audience)
    headers = {
        "authorization": f"Bearer {token}",
        "ocp-apim-subscription-key": args.subscription_key,
    }
    client = httpx.AsyncClient(base_url=args.base_url.rstrip("/"), headers=headers, timeout=60)
    return asyncio.run(smoke(client))


async def smoke(client: httpx.AsyncClient) -> int:
    async with client:
        try:
            await run(client)
        except SmokeFailure:
            return 1
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            print(f"FAIL {type(exc).__name__}: {exc}")
            return 1
    print("smoke check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
