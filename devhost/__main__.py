"""``python -m devhost``: serve the app on http://127.0.0.1:7071/api with the embedded defaults.

Reads ``local.settings.json`` "Values" into the environment first (as ``func start`` does), so the
same file drives both hosts; variables already set in the environment win. The simulator listens
on the next port (7072 by default; ``--simulator-port``, 0 for any free one): the gateway is
pointed at wherever it runs, so ``--port`` alone moves both.
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
from simulator.serve import PortInUse
from simulator.settings import SIMULATOR_HOST, SIMULATOR_PORT, SimulatorSettings

DEFAULT_PORT = 7071


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


async def main(port: int, simulator_port: int | None) -> None:
    settings = load_settings()
    async with run_local_host(
        settings,
        port=port,
        simulator_port=simulator_port if points_at_simulator(settings) else None,
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


def port_in_use(exc: PortInUse, port: int) -> str:
    """One line for a taken port: which one, and the flag that moves it."""
    if exc.port == port:
        return (
            f"port {exc.port} on {exc.host} is already in use (another `python -m devhost`?): "
            "serve on another with --port N (the simulator then takes N+1)"
        )
    return (
        f"the simulator's port {exc.port} on {exc.host} is already in use: "
        "pick another with --simulator-port N (0: any free port) or move both with --port N"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    parser.add_argument(
        "--simulator-port", type=int, default=None, help="default: --port + 1; 0: any free port"
    )
    parser.add_argument("--no-simulator", action="store_true", help="deployments are real")
    parser.add_argument("--settings", type=Path, default=ROOT / "local.settings.json")
    args = parser.parse_args(argv)
    if args.simulator_port is None:
        args.simulator_port = args.port + 1
    if args.no_simulator:
        args.simulator_port = None
    return args


def cli(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for chatty in ("httpx", "httpx2", "openai"):  # one line per upstream call drowns the rest
        logging.getLogger(chatty).setLevel(logging.WARNING)
    load_local_settings(args.settings)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(main(args.port, args.simulator_port))
    except SettingsError as exc:
        raise SystemExit(str(exc)) from None
    except PortInUse as exc:
        raise SystemExit(port_in_use(exc, args.port)) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    cli()
