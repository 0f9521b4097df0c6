"""infra/ and .github/workflows/ pass the checks that run without Azure: every .bicep file parses
(pycep-parser), checkov finds no failed check and every skip carries its reason, the workflows
validate against the GitHub workflow schema and pass zizmor (offline)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.infra import bicep

WORKFLOWS = sorted((bicep.ROOT / ".github" / "workflows").glob("*.yml"))


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own tool from .tools/, fixed arguments
        [str(bicep.iac_tool(tool)), *args],
        cwd=bicep.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.name)
def test_every_bicep_file_parses(path: Path) -> None:
    tree = bicep.parse(path)
    assert tree["resources"] or tree["modules"], f"{path.name} declares nothing"


def test_main_wires_every_module() -> None:
    used = {m["detail"]["path"] for m in bicep.main()["modules"].values()}
    on_disk = {f"modules/{p.name}" for p in bicep.MODULES.glob("*.bicep")}
    assert used == on_disk


@pytest.fixture(scope="module")
def checkov() -> dict[str, Any]:
    done = run("checkov", "--framework", "bicep", "--skip-download", "-d", "infra",
               "--compact", "-o", "json")  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_checkov_finds_no_failed_check(checkov: dict[str, Any]) -> None:
    summary = checkov["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in checkov["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0 and summary["resource_count"] > 0


def test_every_skipped_check_says_why(checkov: dict[str, Any]) -> None:
    for check in checkov["results"]["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']} has no reason"


def test_the_workflows_validate_against_the_github_workflow_schema() -> None:
    assert WORKFLOWS
    done = run("check-jsonschema", "--builtin-schema", "vendor.github-workflows",
               *map(str, WORKFLOWS))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflows_pass_zizmor() -> None:
    done = run("zizmor", "--offline", "--no-progress", *map(str, WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr


def load(name: str) -> dict[str, Any]:
    text = (bicep.ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8")
    workflow: dict[str, Any] = yaml.safe_load(text)
    return workflow


def steps(workflow: dict[str, Any], job: str) -> list[str]:
    return [str(step.get("run", "")) for step in workflow["jobs"][job]["steps"]]


def test_ci_runs_the_readme_test_command() -> None:
    assert "bash scripts/test" in steps(load("ci.yml"), "test")
    assert "bash scripts/test" in (bicep.ROOT / "README.md").read_text(encoding="utf-8")


def test_deploy_signs_in_with_oidc_and_keeps_no_secret() -> None:
    workflow = load("deploy.yml")
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert deploy["permissions"]["id-token"] == "write"
    commands = " ".join(steps(workflow, "deploy"))
    assert "--federated-credential-provider github" in commands
    assert "azd provision" in commands and "azd deploy" in commands
    assert "secrets." not in (bicep.ROOT / ".github" / "workflows" / "deploy.yml").read_text()
