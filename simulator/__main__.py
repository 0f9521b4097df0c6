"""``python -m simulator``: serve the simulator with uvicorn.

Without ``--deployment``, it serves the deployments in the gateway's settings (``AOAI_*`` and
``SIMULATOR_*``), which by default point at this simulator on 127.0.0.1:7072.
"""

from __future__ import annotations

import argparse

import uvicorn

from shared.settings import Settings, load_settings
from simulator.app import create_app
from simulator.config import SimDeployment, SimulatorConfig
from simulator.settings import SIMULATOR_HOST, SIMULATOR_PORT, SimulatorSettings


def _deployment(text: str) -> tuple[str, str, int]:
    try:
        name, model, tpm = text.split(":")
        return name, model, int(tpm)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected name:model:tpm, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default=SIMULATOR_HOST)
    parser.add_argument("--port", type=int, default=SIMULATOR_PORT)
    parser.add_argument(
        "--deployment",
        type=_deployment,
        action="append",
        default=[],
        metavar="NAME:MODEL:TPM",
        help="repeatable; replaces the deployments from settings",
    )
    parser.add_argument("--latency-ms", type=float, default=None)
    parser.add_argument("--latency-per-token-ms", type=float, default=None)
    parser.add_argument("--fault-rate", type=float, default=None)
    parser.add_argument("--time-scale", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def build_config(
    args: argparse.Namespace, settings: Settings, knobs: SimulatorSettings
) -> SimulatorConfig:
    base = SimulatorConfig.from_settings(settings, knobs)
    if args.deployment:
        # Encoding by model as the gateway knows it, so both count prompt tokens alike.
        models = settings.aoai_models
        base = base.model_copy(
            update={
                "deployments": tuple(
                    SimDeployment(
                        name=name,
                        model=model,
                        tpm=tpm,
                        encoding=models[model].encoding if model in models else "o200k_base",
                    )
                    for name, model, tpm in args.deployment
                )
            }
        )
    live = {
        "latency_ms": args.latency_ms,
        "latency_per_token_ms": args.latency_per_token_ms,
        "fault_rate": args.fault_rate,
    }
    defaults = {
        "latency_ms": knobs.latency_ms,
        "latency_per_token_ms": knobs.latency_per_token_ms,
        "fault_rate": knobs.fault_rate,
    }
    patch = {k: (defaults[k] if v is None else v) for k, v in live.items()}
    time_scale = knobs.time_scale if args.time_scale is None else args.time_scale
    return SimulatorConfig(
        deployments=tuple(d.updated(patch) for d in base.deployments),
        time_scale=time_scale,
        seed=args.seed,
    )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    config = build_config(args, load_settings(), SimulatorSettings())
    names = ", ".join(f"{d.name} ({d.model}, {d.tpm} TPM)" for d in config.deployments)
    print(f"Azure OpenAI simulator on http://{args.host}:{args.port}: {names}")
    uvicorn.run(create_app(config), host=args.host, port=args.port, access_log=False)


if __name__ == "__main__":
    main()
