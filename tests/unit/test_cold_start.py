"""What a new instance loads before its first answer: only what that answer needs.

In a fresh interpreter (as a new worker process), the app is imported and the readiness probe
answered through the registered function. The openai SDK (~0.45 s of CPU), the tokenizer's
vocabulary (~0.25 s), jsonschema and PyJWT must not have been loaded for it: each is loaded by
the first request that uses it. bench/cold_start.py measures the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import asyncio, json, sys
import function_app
from bench.cold_child import _call, _handlers
handler = _handlers(function_app.app)["health_ready"]
status = asyncio.run(_call(handler, "GET", "/api/health/ready", b""))
from shared.composition.root import get_gateway
gateway = asyncio.run(get_gateway())
groups = gateway.usecases.calls.groups
tokenizers = [groups.group(n).tokenizer for n in groups.names()]
print(json.dumps({
    "status": status,
    "loaded": sorted(m for m in ("openai", "jsonschema", "jwt") if m in sys.modules),
    "vocabularies": sum("_enc" in vars(t) for t in tokenizers),
}))
"""


def test_readiness_on_a_fresh_process_loads_no_sdk_vocabulary_or_schema_checker(
    tmp_path: Path,
) -> None:
    deployments = [
        {"name": "gpt-4o-mini-eastus", "endpoint": "https://eastus.example.test",
         "model": "gpt-4o-mini", "region": "eastus", "tpm": 60_000, "api_key_setting": "AOAI_KEY"},
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AOAI_", "GATEWAY_"))}
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    env.update(
        AOAI_DEPLOYMENTS=json.dumps(deployments),
        AOAI_KEY="not-used-by-readiness",
        GATEWAY_DATA_DIR=str(tmp_path),
        GATEWAY_TELEMETRY="off",
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert result == {"status": 200, "loaded": [], "vocabularies": 0}
