"""`azd deploy` ships only what runs: .funcignore and the package agree.

azd zips the project folder minus .funcignore (gitignore syntax); git applies the same syntax,
so `git ls-files` says what the package holds. The package must be exactly the app (entry point,
host.json, requirements.txt, functions/, shared/) and must import nothing that is left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FILES = {"function_app.py", "host.json", "requirements.txt"}
RUNTIME_DIRS = {"functions", "shared"}
LEFT_OUT = {"devhost", "simulator", "bench", "tests", "scripts", "infra", "apim", "frontend"}


def git_files(*args: str) -> set[str]:
    listed = subprocess.run(  # noqa: S603 - fixed arguments
        ["git", "ls-files", "-z", *args],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return {p for p in listed.split("\0") if p}


def package() -> set[str]:
    """The tracked files .funcignore keeps: what azd ships from a clean checkout."""
    return git_files("--cached") - git_files("--cached", "-i", "--exclude-from=.funcignore")


def test_the_package_is_exactly_the_app() -> None:
    files = package()
    tops = {f.split("/", 1)[0] for f in files}
    assert tops == RUNTIME_FILES | RUNTIME_DIRS, f"unexpected in the package: {tops}"
    # Data files the app reads at run time travel with it.
    assert "shared/prices.json" in files
    assert any(f.startswith("shared/usecases/") and f.endswith("usecase.json") for f in files)


def test_no_stray_file_here_would_ship() -> None:
    """azd zips the folder, not the commit: an untracked file .funcignore keeps would ship too."""
    stray = {
        f
        for f in git_files("--others", "--exclude-from=.funcignore")
        if f.split("/", 1)[0] not in RUNTIME_DIRS or f.endswith((".log", ".tmp"))
    }
    assert not stray, f"azd deploy would ship these untracked files; delete them: {sorted(stray)}"


def test_local_state_and_caches_never_ship() -> None:
    patterns = (ROOT / ".funcignore").read_text(encoding="utf-8").split()
    for name in (".venv", ".tools", ".data", "__pycache__", "local.settings.json"):
        assert name in patterns


def test_what_ships_imports_nothing_that_is_left_out() -> None:
    for name in sorted(f for f in package() if f.endswith(".py")):
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"), filename=name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                assert top not in LEFT_OUT, f"{name} imports {module}, which is not deployed"


def test_requirements_are_the_runtime_dependencies_only() -> None:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    names = {line.split(">")[0].split("[")[0].strip() for line in lines if line[:1].isalpha()}
    for dev_tool in ("pytest", "uvicorn", "ruff", "mypy", "checkov", "pycep-parser"):
        assert dev_tool not in names
    assert "azure-functions" in names
    assert sys.version_info[:2] == (3, 11)  # the runtime infra/ deploys (functionAppConfig)
