"""Read infra/ as data: each .bicep file parsed by pycep-parser, plus the IaC tools' location.

pycep gives a plain tree: params (with defaults and decorators), variables, resources (type and
config) and modules. A reference to a parameter or variable is its bare name as a string, so
tests compare names where a value flows through a parameter and literals where it is fixed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MODULES = INFRA / "modules"
# scripts/bootstrap.sh installs checkov (with pycep-parser), check-jsonschema and zizmor here,
# apart from the app's venv: their pins are theirs.
IAC_BIN = ROOT / ".tools" / "iac" / "bin"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    tree: dict[str, Any] = dict(BicepParser().parse(file_path=path))
    return tree


def module(name: str) -> dict[str, Any]:
    return parse(MODULES / f"{name}.bicep")


def main() -> dict[str, Any]:
    return parse(INFRA / "main.bicep")


def resource(tree: dict[str, Any], symbol: str) -> dict[str, Any]:
    config: dict[str, Any] = tree["resources"][symbol]["config"]
    return config


def resources_of_type(tree: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in tree["resources"].values() if r["type"] == kind]


def param_default(tree: dict[str, Any], name: str) -> Any:
    return literal(tree["parameters"][name]["default"])


def example_deployments(main: dict[str, Any]) -> list[dict[str, Any]]:
    """AOAI_DEPLOYMENTS as main.bicep builds it from its default ``aoaiDeployments`` (one entry
    per region, TPM = capacity x 1,000), with example endpoints."""
    return [
        {
            "name": f"{d['model']}-{d['region']}",
            "endpoint": f"https://oai-example-{i}.openai.azure.com/",
            "model": d["model"],
            "region": d["region"],
            "priority": d["priority"],
            "tpm": d["capacity"] * 1000,
        }
        for i, d in enumerate(param_default(main, "aoaiDeployments"))
    ]


def literal(value: Any) -> Any:
    """A Bicep literal as Python: pycep keeps the quotes of a quoted object key ('gpt-4o-mini')
    and reads -1 as a minus operator; both are undone here."""
    if isinstance(value, dict):
        operator = value.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "minus":
            return -int(operator["operands"]["integer_value"])
        return {str(k).strip("'"): literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [literal(v) for v in value]
    return value


def allowed(tree: dict[str, Any], name: str) -> list[Any]:
    for decorator in tree["parameters"][name]["decorators"]:
        if decorator["type"] == "allowed":
            values: list[Any] = decorator["argument"]
            return values
    raise KeyError(f"parameter {name} has no @allowed")


def module_params(symbol: str) -> dict[str, Any]:
    """The params main.bicep passes to one of its modules (a for-loop module: its body's)."""
    config = main()["modules"][symbol]["config"]
    params: dict[str, Any] = (config.get("config") or config)["params"]
    return params


def iac_tool(name: str) -> Path:
    path = IAC_BIN / name
    assert path.exists(), f"{path} is missing: run `bash scripts/bootstrap.sh`"
    return path
