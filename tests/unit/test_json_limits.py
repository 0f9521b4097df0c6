"""JSON decoded with limits (shared/json_limits.py): what it refuses, with which code, and that
it agrees with json.loads on everything else. Fuzzed over nesting depth and number length."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.json_limits import (
    MAX_JSON_DEPTH,
    MAX_JSON_NUMBER_CHARS,
    JsonRefused,
    check_nesting,
    loads_limited,
)

FUZZ = settings(
    max_examples=100, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


def refused(data: bytes | str) -> str:
    with pytest.raises(JsonRefused) as caught:
        loads_limited(data)
    return caught.value.code


def nest(depth: int, inner: str = "1", kinds: str = "[", gap: str = "", sibling: str = "") -> str:
    """``depth`` containers around ``inner``, innermost first of ``kinds`` ([ and {, cycled),
    each with ``sibling`` (a JSON value) before the nested one: with a container as sibling the
    brackets interleave, and no run of opening brackets gives the depth away."""
    opens, closes = [], []
    before = f"{sibling},{gap}" if sibling else ""
    for level in range(depth):
        if kinds[level % len(kinds)] == "{":
            key = f'"s":{gap}{before}' if sibling else ""
            opens.append(f'{{{gap}{key}"k{level}"{gap}:{gap}')
            closes.append(f"{gap}}}")
        else:
            opens.append(f"[{gap}{before}")
            closes.append(f"{gap}]")
    return "".join(reversed(opens)) + inner + "".join(closes)


def test_a_100000_deep_array_is_refused_before_decoding() -> None:
    assert refused(b"[" * 100_000 + b"]" * 100_000) == "json_too_deep"


def test_unbalanced_deep_brackets_are_refused_without_recursing() -> None:
    assert refused(b"[" * 100_000) == "json_too_deep"  # a run deeper than the limit
    assert refused(b"[ " * 100_000) == "json_too_deep"
    assert refused(b"[]" * 20 + b"]" * 5 + b"[" * 5) == "invalid_json"


def test_a_5000_digit_integer_is_refused() -> None:
    assert refused(b'{"n": ' + b"9" * 5000 + b"}") == "json_number_too_long"
    assert refused(b"-" + b"1" * 5000 + b".5e3") == "json_number_too_long"


def test_not_json_constants_and_encodings_are_invalid_json() -> None:
    for text in (b"NaN", b"[Infinity]", b'{"a": -Infinity}', b'{"a": 1', b"\xff"):
        assert refused(text) == "invalid_json", text
    assert refused(json.dumps({"a": "b"}).encode("utf-16")) == "invalid_json"


def test_a_utf8_byte_order_mark_is_ignored() -> None:
    assert loads_limited(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert loads_limited('\ufeff{"a": 1}') == {"a": 1}


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"text": "[" * 1000 + '\\"{' * 100, "list": [[1], [2]]})
    assert loads_limited(text)["list"] == [[1], [2]]
    assert loads_limited(text.encode())["text"].startswith("[[[")


def test_escaped_quotes_and_backslashes_do_not_hide_brackets() -> None:
    # A string ending in an escaped backslash closes at the next quote: the brackets after it
    # are structure, and they are deep.
    deep = nest(MAX_JSON_DEPTH + 1)
    assert refused(f'["a\\\\", {deep}]') == "json_too_deep"
    assert refused(f'["a\\\\\\"", {deep}]') == "json_too_deep"
    # An escaped quote does not close the string: these brackets are text.
    assert loads_limited(f'["a\\"{"[" * 40}"]') == ['a"' + "[" * 40]


SIBLINGS = {"": 0, "0": 0, '"]]"': 0, "[]": 1, "{}": 1, "[[]]": 2, '[{"a": [0]}]': 3}


@pytest.mark.parametrize("sibling", SIBLINGS)
@pytest.mark.parametrize("kinds", ["[", "{", "[{", "{[["])
def test_the_limit_is_exact(kinds: str, sibling: str) -> None:
    containers = MAX_JSON_DEPTH - SIBLINGS[sibling]  # the innermost one's sibling nests deeper
    assert loads_limited(nest(containers, kinds=kinds, gap=" ", sibling=sibling)) is not None
    too_deep = nest(containers + 1, kinds=kinds, gap=" ", sibling=sibling)
    assert refused(too_deep) == "json_too_deep"


def test_many_shallow_containers_pass() -> None:
    many = json.dumps([[i, [i]] for i in range(2_000)])
    assert loads_limited(many) == json.loads(many)
    check_nesting(many.encode(), 3)  # three deep at most
    with pytest.raises(JsonRefused):
        check_nesting(many.encode(), 2)


@FUZZ
@given(
    depth=st.integers(0, 3 * MAX_JSON_DEPTH) | st.integers(0, 50_000),
    kinds=st.sampled_from(["[", "{", "[{", "{{[", "[[{"]),
    gap=st.sampled_from(["", " ", "\n\t"]),
    sibling=st.sampled_from(sorted(SIBLINGS)),
    digits=st.integers(1, 2 * MAX_JSON_NUMBER_CHARS) | st.integers(1, 10_000),
    number=st.sampled_from(["{}", "-{}", "{}.5", "0.{}", "1e{}", "{}E-2"]),
)
def test_fuzz_depth_and_number_length(
    depth: int, kinds: str, gap: str, sibling: str, digits: int, number: str
) -> None:
    literal = number.format("7" * digits)
    text = nest(depth, literal, kinds, gap, sibling)
    if depth and depth + SIBLINGS[sibling] > MAX_JSON_DEPTH:
        assert refused(text) == "json_too_deep"
    elif len(literal) > MAX_JSON_NUMBER_CHARS:
        assert refused(text.encode()) == "json_number_too_long"
    else:
        assert loads_limited(text.encode()) == json.loads(text)


SCALARS = st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text()
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@FUZZ
@given(value=JSON_VALUES)
def test_fuzz_agrees_with_json_loads_within_the_limits(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    try:
        result = loads_limited(text.encode())
    except JsonRefused as exc:
        assert exc.code in ("json_too_deep", "json_number_too_long")
        return
    assert result == json.loads(text)


@FUZZ
@given(text=st.text(alphabet='[]{}"\\,: 0123456789.e-atrufnlsINaity', max_size=300))
def test_fuzz_anything_is_a_value_or_a_refusal(text: str) -> None:
    """Never another exception (RecursionError, ValueError); a value only where json agrees."""
    try:
        result = loads_limited(text)
    except JsonRefused:
        return
    assert result == json.loads(text)
