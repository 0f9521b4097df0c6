"""The two servers of the overhead bench, each in its own process, on loopback.

The simulator runs as ``python -m simulator`` and the gateway as ``python -m devhost`` (the local
host, with its embedded SQLite store and queue) pointed at it through ``AOAI_DEPLOYMENTS``. The
bench process only generates load (wrk) and reads the gateway's memory with psutil, so none of
the three competes with another inside one event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped, unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENTS = (
    ("gpt-4o-mini-eastus", "eastus"),
    ("gpt-4o-mini-swedencentral", "swedencentral"),
    ("gpt-4o-mini-westus3", "westus3"),
)
# Quota is not what this bench measures: 10^9 TPM per deployment keeps both the simulator's
# limiter and the router's headroom from ever throttling a run.
BENCH_TPM = 1_000_000_000
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return float(psutil.Process(self.pid).memory_info().rss) / 2**20

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process ever had (Linux)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return self.rss_mb()

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


def _wait_until(url: str, headers: dict[str, str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {STARTUP_SECONDS} s")


def _start(name: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(  # noqa: S603 - our own interpreter and modules
        [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def simulator(workdir: Path, latency_ms: float) -> Iterator[Server]:
    port = free_port()
    args = ["-m", "simulator", "--port", str(port), "--latency-ms", str(latency_ms)]
    for name, _ in DEPLOYMENTS:
        args += ["--deployment", f"{name}:gpt-4o-mini:{BENCH_TPM}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AOAI_", "SIMULATOR_"))}
    process = _start("simulator", args, env, workdir / f"simulator-{port}.log")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(f"{url}/_sim/stats", {}, process)
        yield Server("simulator", url, process)
    finally:
        _stop(process)


def gateway_env(simulator_url: str, data_dir: Path) -> dict[str, str]:
    deployments = [
        {
            "name": name,
            "endpoint": simulator_url,
            "model": "gpt-4o-mini",
            "region": region,
            "priority": 0,
            "tpm": BENCH_TPM,
        }
        for name, region in DEPLOYMENTS
    ]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AOAI_", "GATEWAY_", "COSMOS_"))
    }
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    env.pop("SERVICEBUS_CONNECTION_STRING", None)
    env.pop("SERVICEBUS_FULLY_QUALIFIED_NAMESPACE", None)
    env.update(
        {
            "AOAI_DEPLOYMENTS": json.dumps(deployments),
            "AOAI_AUTH": "none",  # the simulator checks no credential
            "GATEWAY_DATA_DIR": str(data_dir),
        }
    )
    return env


@contextlib.contextmanager
def gateway(
    workdir: Path,
    simulator_url: str,
    headers: dict[str, str],
    extra_env: dict[str, str],
) -> Iterator[Server]:
    port = free_port()
    data_dir = workdir / f"gateway-{port}"
    env = {**gateway_env(simulator_url, data_dir), **extra_env}
    # --settings at a missing file: a developer's local.settings.json must not change the run.
    options = ["--port", str(port), "--no-simulator", "--settings", str(workdir / "none.json")]
    args = ["-m", "devhost", *options]
    process = _start("gateway", args, env, workdir / f"gateway-{port}.log")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(f"{url}/api/v1/usecases", headers, process)
        yield Server("gateway", url, process)
    finally:
        _stop(process)
