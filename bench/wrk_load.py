"""The load generator: wrk (C, epoll; Debian's ``wrk`` package) driven by a generated Lua script.

wrk keeps ``connections`` requests in flight (a closed loop: one per simulated caller) on one
thread, which costs a few percent of a core at these rates: on this 2-core machine that leaves
the CPU to the two servers being measured. Each request gets a unique text (cache misses) or the
same text (cache hits). Latencies are wrk's own, in microseconds, client-side on loopback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TEXT_MARK = "@@TEXT@@"

LUA = """
local path = [==[%(path)s]==]
local template = [==[%(template)s]==]
local prefix = [==[%(prefix)s]==]
local fixed = %(fixed)s
wrk.method = "POST"
%(headers)s
local n = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  n = n + 1
  local text = prefix
  if not fixed then text = prefix .. " " .. tid .. "-" .. n end
  local body = template:gsub("%(mark)s", text)
  return wrk.format(nil, path, nil, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"errors":%%d,"status_errors":%%d,' ..
    '"p50":%%d,"p90":%%d,"p99":%%d,"max":%%d,"mean":%%.1f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


@dataclass(frozen=True)
class Target:
    """One kind of request: where it goes and its body, with TEXT_MARK where the text goes."""

    base_url: str
    path: str
    template: str
    headers: dict[str, str]


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    status_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return found


def lua_script(target: Target, prefix: str, fixed: bool) -> str:
    headers = {"Content-Type": "application/json", **target.headers}
    lines = "\n".join(f'wrk.headers["{k}"] = [==[{v}]==]' for k, v in headers.items())
    values = {
        "path": target.path,
        "template": target.template,
        "prefix": prefix,
        "fixed": "true" if fixed else "false",
        "headers": lines,
        "mark": TEXT_MARK,
    }
    return LUA % values


def run_wrk(
    target: Target, workdir: Path, *, connections: int, seconds: float, prefix: str, fixed: bool
) -> WrkResult:
    script = workdir / f"load-{abs(hash((target.path, prefix, fixed)))}.lua"
    script.write_text(lua_script(target, prefix, fixed), encoding="utf-8")
    command = [
        wrk_path(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        target.base_url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=raw["errors"],
        status_errors=raw["status_errors"],
        p50_ms=raw["p50"] / 1000,
        p90_ms=raw["p90"] / 1000,
        p99_ms=raw["p99"] / 1000,
        max_ms=raw["max"] / 1000,
    )
