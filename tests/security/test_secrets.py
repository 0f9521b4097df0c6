"""No key in the repository and none in the logs: keys come only from settings / Key Vault
references, and production runs on managed identity with no keys at all (docs/security.md)."""

from __future__ import annotations

import base64
import logging
import re
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

ROOT = Path(__file__).resolve().parents[2]
# The Cosmos DB emulator's key is published by Microsoft and identical on every machine.
# https://learn.microsoft.com/azure/cosmos-db/emulator#authentication
EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)
KEY_PATTERNS = {
    # 64-byte keys (Cosmos DB, Storage, Service Bus/Event Hubs namespace keys) are 88 base64 chars.
    "base64-88": re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"),
    "AccountKey": re.compile(r"AccountKey=[A-Za-z0-9+/]{20,}"),
    "SharedAccessKey": re.compile(r"SharedAccessKey=[A-Za-z0-9+/]{20,}"),
    "openai-sk": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),
    # Azure OpenAI keys are 32 hex characters; only flagged next to a key-ish name.
    "api-key": re.compile(r"(?i)api[_-]?key[\"']?\s*[:=]\s*[\"'][0-9a-f]{32}[\"']"),
    "private-key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"),
}
MAX_SCANNED_BYTES = 2_000_000


def repo_files() -> list[Path]:
    """Tracked files plus new ones not yet committed (but not ignored ones like .venv)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    paths = (ROOT / name for name in listed.split("\0") if name)
    return [p for p in paths if p.is_file() and p.stat().st_size <= MAX_SCANNED_BYTES]


def key_findings(text: str) -> list[str]:
    return [
        f"{name}: {match.group(0)[:12]}..."
        for name, pattern in KEY_PATTERNS.items()
        for match in pattern.finditer(text)
        if match.group(0) != EMULATOR_KEY and EMULATOR_KEY not in match.group(0)
    ]


def test_no_key_in_the_repository() -> None:
    files = repo_files()
    assert len(files) > 20, "git ls-files found too little to be the repository"
    problems = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        found = key_findings(text)
        if found:
            problems[str(path.relative_to(ROOT))] = found
    assert problems == {}, "move these to App Settings / Key Vault references"


def test_the_scan_finds_planted_keys() -> None:
    cosmos_like = base64.b64encode(secrets.token_bytes(64)).decode()
    planted = [
        f'COSMOS_KEY="{cosmos_like}"',
        f"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey={cosmos_like[:44]}",
        f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={cosmos_like}",
        f"OPENAI_API_KEY=sk-proj-{secrets.token_urlsafe(30)}",
        f'"api_key": "{secrets.token_hex(16)}"',
    ]
    for line in planted:
        assert key_findings(line), line
    assert key_findings(f'COSMOS_KEY="{EMULATOR_KEY}"') == []


async def test_no_token_or_function_key_reaches_the_logs(
    client: httpx.AsyncClient, chat: FakeChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    function_key = secrets.token_urlsafe(40)
    bearer = secrets.token_urlsafe(60)
    chat.replies = [RuntimeError("upstream exploded")]  # the unexpected-error path logs a trace
    headers = {**HEADERS, "x-functions-key": function_key, "authorization": f"Bearer {bearer}"}
    with caplog.at_level(logging.DEBUG):
        crashed = await client.post("/api/v1/summarize", json={"text": "hi"}, headers=headers)
        await client.get("/api/v1/jobs/nope", headers=headers)
    assert crashed.status_code == 500
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert function_key not in logged and bearer not in logged
    assert function_key not in crashed.text and bearer not in crashed.text
