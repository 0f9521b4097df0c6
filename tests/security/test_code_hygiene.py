"""Source scans: no caller value is built into a Cosmos query or written raw into a log line."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest

from shared.auth.header_caller import HeaderCallerResolver
from shared.domain.errors import Forbidden
from shared.http.request import safe_log_value

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(r"\bSELECT\b|\bWHERE\b|\bFROM\s+c\b", re.IGNORECASE)
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
# Names that hold what a caller (or a queue message anyone with Sender rights) sent.
CALLER_VALUES = {"body", "headers", "payload", "request", "req", "claims", "data", "params"}
# Known, reported, not ours to edit: (file, source of the argument). Remove once wrapped.
PENDING: set[tuple[str, str]] = set()


def sources(*globs: str) -> list[Path]:
    return sorted(p for g in globs for p in ROOT.glob(g) if ".venv" not in p.parts)


def is_sql_text(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(SQL.search(node.value))
    )


def built_queries(tree: ast.AST) -> list[str]:
    """f-strings, %, + and .format() whose literal text is SQL: values spliced into a query."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            spliced = any(is_sql_text(v) for v in node.values)
        elif isinstance(node, ast.BinOp):
            spliced = is_sql_text(node.left) or is_sql_text(node.right)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            spliced = node.func.attr == "format" and is_sql_text(node.func.value)
        else:
            spliced = False
        if spliced:
            found.append(ast.unparse(node))
    return found


def unparameterised_queries(tree: ast.AST) -> list[str]:
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "query_items"
        and not any(k.arg == "parameters" for k in node.keywords)
    ]


def test_cosmos_adapters_exist_to_be_scanned() -> None:
    assert sources("shared/adapters/cosmos_*.py")


def test_no_query_text_is_built_from_values() -> None:
    problems = {}
    for path in sources("shared/**/*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = built_queries(tree) + unparameterised_queries(tree)
        if found:
            problems[str(path.relative_to(ROOT))] = found
    assert problems == {}, "pass values as parameters=[{'name': '@x', 'value': x}]"


def test_the_query_scan_catches_splicing() -> None:
    bad = ast.parse(
        "q1 = f\"SELECT * FROM c WHERE c.pk = '{pk}'\"\n"
        'q2 = "SELECT * FROM c WHERE c.id = " + job_id\n'
        "q3 = \"SELECT * FROM c WHERE c.bu = '{}'\".format(bu)\n"
        "container.query_items(q1, partition_key=pk)\n"
    )
    assert len(built_queries(bad)) == 3
    assert len(unparameterised_queries(bad)) == 1


def raw_caller_values_in_logs(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOG_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"log", "logger", "logging"}
        ):
            continue
        for arg in node.args[1:]:
            if isinstance(arg, ast.Call) and getattr(arg.func, "id", "") == "safe_log_value":
                continue
            names = {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
            if names & CALLER_VALUES:
                found.append(ast.unparse(arg))
    return found


def test_caller_values_are_logged_only_through_safe_log_value() -> None:
    raw = [
        (str(path.relative_to(ROOT)), arg)
        for path in sources("shared/**/*.py", "functions/*.py", "function_app.py")
        for arg in raw_caller_values_in_logs(path)
    ]
    assert [r for r in raw if r not in PENDING] == [], "wrap these in safe_log_value()"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice", "alice"),
        (
            "evil\r\n2026-01-01 INFO admin logged in",
            "evil\\u000d\\u000a2026-01-01 INFO admin logged in",
        ),
        ("a\u2028b\u202ec\x1b[31m", "a\\u2028b\\u202ec\\u001b[31m"),
        ("back\\u000aslash", "back\\\\u000aslash"),  # a literal \u000a cannot pass for an escape
    ],
)
def test_safe_log_value_escapes_line_breaks_and_controls(value: str, expected: str) -> None:
    assert safe_log_value(value) == expected


def test_safe_log_value_cuts_long_values() -> None:
    cut = safe_log_value("x" * 1000, limit=10)
    assert cut == "xxxxxxxxxx...(+990 chars)"


async def test_a_forged_log_line_stays_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    resolver = HeaderCallerResolver(frozenset({"marketing"}))
    forged = "x\nERROR gateway.auth admin granted\r\n"
    with caplog.at_level(logging.INFO, logger="gateway.auth"), pytest.raises(Forbidden):
        await resolver.resolve({"x-business-unit": forged, "x-user-id": "alice"})
    messages = [r.getMessage() for r in caplog.records]
    assert messages and all("\n" not in m and "\r" not in m for m in messages)
