"""``scripts/serve`` installs only what serving needs: the "serve" extra, not the test tools.

The app, the local host and the simulator must import and index with every dev-only package
missing (each is made unimportable in a fresh interpreter), so the serve install is enough.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

from shared.settings import ROOT

# Import names of the "dev" extra's own packages (not the serve extra's, not the app's).
DEV_ONLY_MODULES = (
    "pytest",
    "pytest_asyncio",
    "httpx",
    "ruff",
    "mypy",
    "openapi_spec_validator",
    "schemathesis",
)


def test_dev_builds_on_serve_and_serve_holds_the_local_host() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert "genai-gateway[serve]" in extras["dev"]
    assert {spec.split(">")[0] for spec in extras["serve"]} == {"uvicorn", "uvloop", "httptools"}
    serve_script = (ROOT / "scripts" / "serve").read_text()
    assert "bash scripts/bootstrap.sh serve\n" in serve_script


def test_the_local_host_starts_without_any_dev_only_package() -> None:
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in DEV_ONLY_MODULES)
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
