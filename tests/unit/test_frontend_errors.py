"""The frontend sample names every error code the gateway can answer with."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# code="x" keyword arguments, `status, code = 4xx, "x"` class attributes, and the JWT check's
# (exception, "code", "message") table.
PATTERNS = (
    re.compile(r'\bcode="([a-z0-9_]+)"'),
    re.compile(r'status, code = \d{3}, "([a-z0-9_]+)"'),
    re.compile(r'\(jwt\.\w+, "([a-z0-9_]+)"'),
    re.compile(r'unauthorized\(\s*"([a-z0-9_]+)"'),
    re.compile(r'\bcode = "([a-z0-9_]+)"'),
    re.compile(r'JsonRefused\(\s*"([a-z0-9_]+)"'),  # shared/json_limits.py
)
KEY = re.compile(r"^\s{2}([a-z0-9_]+): \[", re.MULTILINE)


def gateway_codes() -> set[str]:
    codes: set[str] = set()
    for folder in ("shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in PATTERNS:
                codes.update(pattern.findall(text))
    return codes


def test_the_scan_finds_the_codes_it_should() -> None:
    codes = gateway_codes()
    # One of each way a code is written, so a broken pattern cannot pass silently.
    assert {"prompt_too_large", "payload_too_large", "token_expired", "missing_token"} <= codes
    assert {"budget_exceeded", "capacity_exhausted", "internal_error"} <= codes
    assert {"json_number_too_long"} <= codes


def test_every_code_has_words_in_the_frontend() -> None:
    shown = set(KEY.findall((ROOT / "frontend" / "js" / "errors.js").read_text(encoding="utf-8")))
    missing = sorted(gateway_codes() - shown)
    assert not missing, f"frontend/js/errors.js has no text for: {missing}"
