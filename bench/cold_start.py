"""Cold start, in fresh processes: ``python -m bench.cold_start [--runs N]``. Not part of the tests.

A new Flex Consumption instance pays for this before it answers its first request: the worker
imports ``function_app`` and indexes it, then the first invocation builds the gateway (settings,
store, queue, clients, tokenizer) and answers. Each run is a new interpreter
(``python -m bench.cold_child MODE``) against one shared simulator (no latency: the model's time
is not the app's) and a fresh embedded data directory. Phases, median (min-max) of N runs:

* import: ``import function_app`` + ``app.get_functions()``
* build: ``await get_gateway()`` after the import, before any request
* first <mode>: import + the first answered request (health, ready, summarize), body read
* spawn -> <mode>: the same, measured from just before the spawn (interpreter start included)

Each phase also reads as CPU seconds of the process (``... CPU``; from the interpreter's start,
so it includes the ~20 ms before the clock): on a shared machine the wall times swing with other
load, the CPU times much less.

The ``import`` and ``first`` rows are the cold start's two readings the issue names; the gateway
is built lazily, inside the first request that needs it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.servers import ROOT, gateway_env, simulator

MODES = ("import", "build", "health", "ready", "summarize")


def one_run(mode: str, env: dict[str, str]) -> dict[str, Any]:
    spawned = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.cold_child", mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    lines = done.stdout.decode().strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"cold_child {mode} failed:\n{done.stderr.decode()[-3000:]}")
    reading: dict[str, Any] = json.loads(lines[-1])
    reading["spawned"] = spawned
    if reading.get("status", 200) != 200:
        raise RuntimeError(f"cold_child {mode}: the first request answered {reading['status']}")
    return reading


def phases(mode: str, reading: dict[str, Any]) -> dict[str, float]:
    started, imported = reading["started"], reading["imported"]
    out = {"import": imported - started, "import CPU": reading["imported_cpu"]}
    if "built" in reading:
        out["build"] = reading["built"] - imported
        out["build CPU"] = reading["built_cpu"] - reading["imported_cpu"]
    if "answered" in reading:
        out[f"first {mode}"] = reading["answered"] - started
        out[f"first {mode} CPU"] = reading["answered_cpu"]
        out[f"spawn -> {mode}"] = reading["answered"] - reading["spawned"]
    out[f"peak RSS MB ({mode})"] = float(reading["max_rss_mb"])
    return out


def summarize(samples: dict[str, list[float]]) -> list[str]:
    lines = [f"{'phase':<26}{'median':>10}{'min':>10}{'max':>10}   (seconds; RSS in MB)"]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"{name:<26}{median:>10.3f}{min(values):>10.3f}{max(values):>10.3f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per mode")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--json", type=Path, default=None, help="also write the raw readings")
    args = parser.parse_args(argv)
    samples: dict[str, list[float]] = {}
    raw: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="gateway-cold-") as tmp,
        simulator(Path(tmp), 0.0) as sim,
    ):
        for run in range(args.runs):
            for mode in args.modes:  # interleaved, so a busy moment hits every mode alike
                env = gateway_env(sim.url, Path(tmp) / f"data-{mode}-{run}")
                env["GATEWAY_TELEMETRY"] = "off"
                reading = one_run(mode, env)
                raw.append({"mode": mode, **reading})
                for name, value in phases(mode, reading).items():
                    if name.startswith("import") and mode != "import":
                        continue  # import is read from the import-only runs
                    samples.setdefault(name, []).append(value)
    print(f"cold start: {args.runs} fresh processes per mode, python {sys.version.split()[0]}")
    print("\n".join(summarize(samples)))
    if args.json is not None:
        args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
