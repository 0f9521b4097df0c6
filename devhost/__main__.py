"""``python -m devhost``: serve the app on http://127.0.0.1:7071/api with the embedded defaults.

Reads ``local.settings.json`` "Values" into the environment first (as ``func start`` does), so the
same file drives both hosts; variables already set in the environment win.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from devhost.host import run_local_host
from shared.settings import ROOT, Settings, SettingsError, load_settings
from simulator.settings import SIMULATOR_HOST, SIMULATOR_PORT, SimulatorSettings


def load_local_settings(path: Path) -> None:
    if not path.is_file():
        return
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    for key, value in values.items():
        os.environ.setdefault(key, str(value))


def points_at_simulator(settings: Settings) -> bool:
    """Whether any deployment has the default endpoint, where this host serves the simulator."""
    default = f"http://{SIMULATOR_HOST}:{SIMULATOR_PORT}"
    return any(str(d.endpoint).rstrip("/") == default for d in settings.aoai_deployments)


async def main(port: int, simulator: bool) -> None:
    settings = load_settings()
    async with run_local_host(
        settings,
        port=port,
        simulator_port=SIMULATOR_PORT if simulator and points_at_simulator(settings) else None,
        simulator=SimulatorSettings(),
    ) as local:
        print(f"genai-gateway is serving {local.base_url}/api  (Ctrl-C stops it)", flush=True)
        if local.simulator_url:
            print(f"Azure OpenAI simulator on {local.simulator_url}", flush=True)
        await asyncio.Event().wait()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (the dev extra brings it): the HTTP server, the openai client and
    the simulator all spend less CPU on it. None: asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--no-simulator", action="store_true", help="deployments are real")
    parser.add_argument("--settings", type=Path, default=ROOT / "local.settings.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for chatty in ("httpx", "httpx2", "openai"):  # one line per upstream call drowns the rest
        logging.getLogger(chatty).setLevel(logging.WARNING)
    load_local_settings(args.settings)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(main(args.port, not args.no_simulator))
    except SettingsError as exc:
        raise SystemExit(str(exc)) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    cli()
