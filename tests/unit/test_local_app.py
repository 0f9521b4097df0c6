"""The local host's ASGI app answers a remembered route exactly as Starlette's own path does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from devhost.asgi import build_asgi
from devhost.functions_index import HttpFunction
from shared.composition.root import Gateway
from tests.conftest import HEADERS


def _fn(name: str, route: str, methods: tuple[str, ...], handler: Any) -> HttpFunction:
    return HttpFunction(name, route, methods, "req", handler)


async def _echo(req: Request) -> Response:
    return JSONResponse({"path_params": req.path_params, "route": req.scope["route"].name})


async def _broken(req: Request) -> Response:
    raise RuntimeError("boom")


async def _refused(req: Request) -> Response:
    raise HTTPException(status_code=404)


FUNCTIONS = (
    _fn("echo", "v1/things/{thing}", ("GET",), _echo),
    _fn("literal", "v1/things/special", ("POST",), _echo),
    _fn("broken", "v1/broken", ("GET",), _broken),
    _fn("refused", "v1/refused", ("GET",), _refused),
)


def _client(functions: tuple[HttpFunction, ...] = FUNCTIONS) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_asgi(functions), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def _twice(client: httpx.AsyncClient, method: str, path: str) -> list[httpx.Response]:
    return [await client.request(method, path) for _ in range(2)]


async def test_a_remembered_route_answers_as_the_first_time() -> None:
    async with _client() as client:
        first, second = await _twice(client, "GET", "/api/v1/things/a")
        other = await client.get("/api/v1/things/b")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"path_params": {"thing": "a"}, "route": "echo"}
    assert other.json()["path_params"] == {"thing": "b"}


async def test_the_full_match_wins_over_an_earlier_partial_one_every_time() -> None:
    # POST matches the literal route fully; GET only the parameter route.
    async with _client() as client:
        posts = await _twice(client, "POST", "/api/v1/things/special")
        gets = await _twice(client, "GET", "/api/v1/things/special")
    assert [r.json()["route"] for r in posts] == ["literal", "literal"]
    assert [r.json()["route"] for r in gets] == ["echo", "echo"]


async def test_405_and_404_keep_their_json_errors_on_every_request() -> None:
    async with _client() as client:
        wrong = await _twice(client, "DELETE", "/api/v1/things/a")
        missing = await _twice(client, "GET", "/api/nothing")
    for response in wrong:
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"
        assert "GET" in response.headers["allow"]
    assert [r.json()["error"]["code"] for r in missing] == ["not_found", "not_found"]


async def test_a_failing_handler_is_a_plain_500_every_time() -> None:
    async with _client() as client:
        responses = await _twice(client, "GET", "/api/v1/broken")
    assert [(r.status_code, r.text) for r in responses] == [(500, "Internal Server Error")] * 2


async def test_an_http_exception_gets_the_apps_json_error_every_time() -> None:
    async with _client() as client:
        responses = await _twice(client, "GET", "/api/v1/refused")
    codes = [(r.status_code, r.json()["error"]["code"]) for r in responses]
    assert codes == [(404, "not_found")] * 2


async def test_a_failing_handler_is_still_raised_for_the_servers_log() -> None:
    transport = httpx.ASGITransport(app=build_asgi(FUNCTIONS))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for _ in range(2):
            with pytest.raises(RuntimeError, match="boom"):
                await client.get("/api/v1/broken")


async def test_the_use_case_route_serves_the_same_answer_through_the_fast_lane(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    body = {"text": "Revenue rose 12% while costs stayed flat."}
    first = await client.post("/api/v1/summarize", json=body, headers=HEADERS)
    second = await client.post("/api/v1/summarize", json=body, headers=HEADERS)
    assert first.status_code == second.status_code == 200
    assert second.json()["cached"] is True
    assert second.json()["summary"] == first.json()["summary"]
    assert first.headers["x-request-id"] == first.json()["request_id"]
    assert second.headers["x-request-id"] == second.json()["request_id"]
