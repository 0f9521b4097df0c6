"""``scripts/serve`` installs only what serving needs: the "serve" extra, not the test tools.

The app, the local host and the simulator must import and index with every dev-only package
missing (each is made unimportable in a fresh interpreter), so the serve install is enough.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib

from shared.settings import ROOT

# The dev extra's packages that install no module of that name, or that the app's own packages
# already bring (psutil comes with azure-monitor-opentelemetry).
NOT_MODULES = {"genai-gateway", "py-spy", "types-jsonschema", "psutil"}
IMPORT_NAMES = {"import-linter": "importlinter", "pycep-parser": "pycep"}


def extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found: dict[str, list[str]] = project["optional-dependencies"]
    return found


def dev_only_modules() -> list[str]:
    names = [re.split(r"[\[<>=]", spec)[0] for spec in extras()["dev"]]
    return [IMPORT_NAMES.get(n, n.replace("-", "_")) for n in names if n not in NOT_MODULES]


def test_dev_builds_on_serve_and_serve_holds_the_local_host() -> None:
    assert "genai-gateway[serve]" in extras()["dev"]
    assert {spec.split(">")[0] for spec in extras()["serve"]} == {"uvicorn", "uvloop", "httptools"}
    modules = dev_only_modules()
    assert {"pytest", "playwright", "importlinter"} <= set(modules)
    for name in modules:  # each name really is what the dev install provides
        assert importlib.util.find_spec(name) is not None, name
    serve_script = (ROOT / "scripts" / "serve").read_text()
    assert "bash scripts/bootstrap.sh serve\n" in serve_script


def test_the_local_host_starts_without_any_dev_only_package() -> None:
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in dev_only_modules())
    program = (
        f"import sys; {blocked}; "
        "from devhost.host import indexed_app; from devhost.__main__ import parse_args; "
        "import simulator.app; app = indexed_app(); print(len(app.http))"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 5
