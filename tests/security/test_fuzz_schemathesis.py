"""Schemathesis fuzzes every operation of GET /api/openapi.json on the local host (with the Azure
OpenAI simulator, so upstream calls succeed): no 5xx, and every error in the one error shape.

Bounded and repeatable: 25 valid and 25 invalid examples per operation, derandomized, no
deadline, no example database. Schemathesis' Python API drives Hypothesis directly (its lazy
pytest fixture loader does not work with pytest 9), and its calls are synchronous, so the local
host runs in a background thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from devhost.host import run_local_host
from shared.settings import Settings

pytestmark = pytest.mark.e2e

HEADERS = {"x-business-unit": "marketing", "x-user-id": "fuzz@contoso.com"}
ERROR_KEYS = {"code", "message", "request_id", "details"}
STARTUP_SECONDS = 30.0
MAX_EXAMPLES = 25  # per operation and mode


@dataclass
class FuzzHost:
    base_url: str
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)


def serve_in_thread(settings: Settings) -> Iterator[str]:
    """run_local_host in its own thread and loop; yields the base URL, stops it afterwards."""
    ready: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = []
    started = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        stop = asyncio.Event()
        async with run_local_host(settings) as host:
            ready.append((host.base_url, asyncio.get_running_loop(), stop))
            started.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=run, name="fuzz-local-host", daemon=True)
    thread.start()
    started.wait(STARTUP_SECONDS)
    if not ready:
        raise RuntimeError(f"the local host did not start: {failure!r}")
    base_url, loop, stop = ready[0]
    try:
        yield base_url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(STARTUP_SECONDS)


@pytest.fixture(scope="module")
def fuzz_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzHost]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    for base_url in serve_in_thread(Settings(gateway_data_dir=data_dir)):
        yield FuzzHost(base_url)


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_host: FuzzHost) -> Any:
    response = httpx.get(f"{fuzz_host.base_url}/api/openapi.json", headers=HEADERS)
    response.raise_for_status()
    return schemathesis.openapi.from_dict(response.json())


@schemathesis.check
def standard_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx body is {"error": {"code", "message", "request_id", "details"}}."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"{response.status_code} body has no 'error' object"
    assert set(error) == ERROR_KEYS, f"error keys {sorted(error)} != {sorted(ERROR_KEYS)}"
    assert isinstance(error["code"], str) and error["code"], "error.code is empty"
    assert isinstance(error["request_id"], str) and error["request_id"], "no request id"
    return True


def fuzz(operation: Any, mode: GenerationMode, host: FuzzHost) -> None:
    """One Hypothesis run over one operation: valid (positive) or invalid (negative) input."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,  # no replay of earlier failures: every run is the same 25 cases
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        # The document's server is "/api": its paths are relative to the Functions prefix.
        response = case.call(base_url=f"{host.base_url}/api", headers=HEADERS)
        host.statuses[(operation.label, mode.value, response.status_code)] += 1
        case.validate_response(response, checks=[not_a_server_error, standard_error_shape])

    run()


def report(capsys: pytest.CaptureFixture[str], host: FuzzHost) -> None:
    """The counts on the terminal (not captured): cases and statuses per operation and mode."""
    rows: dict[tuple[str, str], Counter[int]] = {}
    for (label, mode, status), count in sorted(host.statuses.items()):
        rows.setdefault((label, mode), Counter())[status] += count
    lines = [f"schemathesis: {sum(host.statuses.values())} cases"]
    for (label, mode), statuses in rows.items():
        shown = ", ".join(f"{s}x{n}" for s, n in sorted(statuses.items()))
        lines.append(f"  {label} [{mode}]: {sum(statuses.values())} ({shown})")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_no_server_error_and_one_error_shape(
    fuzz_host: FuzzHost, fuzz_schema: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert operations, "the OpenAPI document has no operations"
    failures: dict[str, str] = {}
    try:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, mode, fuzz_host)
                except Unsatisfiable:
                    continue  # nothing to negate: e.g. a free-form string path parameter
                except Exception as exc:  # collect every operation's failure, then fail once
                    failures[f"{operation.label} [{mode.value}]"] = f"{type(exc).__name__}: {exc}"
    finally:
        report(capsys, fuzz_host)
    assert failures == {}
    # The fuzzing reached the handlers: successes, not only routing 404s.
    assert sum(n for (_, _, status), n in fuzz_host.statuses.items() if status < 300) > 0
