"""``python -m devhost`` as a developer runs it: --port moves the simulator too, and a taken port
is one line naming the port and the flag that moves it (no traceback)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devhost.__main__ import parse_args
from tests.conftest import HEADERS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0


def _listening(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def free_pair() -> int:
    """A port P with P + 1 also free (at the time of asking)."""
    for _ in range(50):
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(_listening())
            port = int(first.getsockname()[1])
            try:
                stack.enter_context(_listening(port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no two consecutive free ports")


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    with _listening() as sock:
        yield int(sock.getsockname()[1])


def devhost(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    options = [*args, "--settings", str(tmp_path / "none.json")]
    return subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "devhost", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_simulator_takes_the_next_port_unless_told_otherwise() -> None:
    assert parse_args([]).simulator_port == 7072
    assert parse_args(["--port", "8000"]).simulator_port == 8001
    assert parse_args(["--port", "8000", "--simulator-port", "0"]).simulator_port == 0
    assert parse_args(["--no-simulator"]).simulator_port is None


def test_port_alone_moves_the_gateway_and_the_simulator(tmp_path: Path) -> None:
    port = free_pair()
    process = devhost(tmp_path, "--port", str(port))
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        answer = None
        while answer is None and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/summarize",
                    json={"text": "Revenue rose 12% in Q3."},
                    headers=HEADERS,
                    timeout=10,
                )
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=STARTUP_SECONDS)
    assert answer is not None and answer.status_code == 200, err
    assert f"Azure OpenAI simulator on http://127.0.0.1:{port + 1}" in out


def test_a_taken_gateway_port_is_one_line_naming_it(tmp_path: Path) -> None:
    with taken_port() as port:
        process = devhost(tmp_path, "--port", str(port), "--simulator-port", "0")
        _, err = process.communicate(timeout=STARTUP_SECONDS)
    assert process.returncode == 1
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert f"port {port} on 127.0.0.1 is already in use" in last and "--port N" in last


def test_a_taken_simulator_port_names_it_and_its_flag(tmp_path: Path) -> None:
    with taken_port() as taken:
        process = devhost(tmp_path, "--port", "0", "--simulator-port", str(taken))
        _, err = process.communicate(timeout=STARTUP_SECONDS)
    assert process.returncode == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [
        f"the simulator's port {taken} on 127.0.0.1 is already in use: pick another with "
        "--simulator-port N (0: any free port) or move both with --port N"
    ]
