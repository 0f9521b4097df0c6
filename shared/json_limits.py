"""JSON from outside, decoded with limits: nesting depth is checked before decoding and number
length during it, so a pathological document is refused with a reason instead of reaching the
decoder's own limits (a ``RecursionError`` past Python's recursion limit, a ``ValueError`` past
its integer-string limit: https://docs.python.org/3/library/stdtypes.html#int-max-str-digits).

Text is UTF-8, as RFC 8259 §8.1 requires of JSON exchanged between systems (a UTF-8 byte order
mark is ignored, as §8.1 allows). ``NaN`` and ``Infinity``, which Python's decoder accepts, are
not JSON and are refused.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 16
# Digits, sign, point and exponent of one number. A double needs 17 significant digits; the
# room above that is for exact decimals, far below the 4,300 digits where int() gives up.
MAX_JSON_NUMBER_CHARS = 64

_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_UTF8_BOM = b"\xef\xbb\xbf"


class JsonRefused(ValueError):
    """The text is not JSON, or not JSON within the limits. ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def loads_limited(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses (JsonRefused) what it cannot decode cheaply and safely."""
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
        check_nesting(text.encode("utf-8", "surrogatepass"), max_depth)
    else:
        raw = data.removeprefix(_UTF8_BOM)
        check_nesting(raw, max_depth)
        try:
            # Decoded here, not by json.loads: its bytes path also guesses UTF-16 and UTF-32,
            # and decodes with 'surrogatepass', slower than plain UTF-8 on a long body.
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRefused("invalid_json", "not UTF-8") from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonRefused("invalid_json", f"line {exc.lineno}: not JSON") from None


def check_nesting(raw: bytes, max_depth: int) -> None:
    """Refuse arrays and objects nested deeper than ``max_depth``, without decoding.

    No more opening brackets than the limit cannot nest past it: most bodies stop there, after
    a few ``find`` calls (memchr). Otherwise the brackets outside strings are kept, and each
    pass of removing adjacent pairs peels one level: ``max_depth`` passes empty a balanced
    sequence no deeper than that. On a hostile body (256 KiB of brackets) this costs about what
    decoding it would; on a long text that merely holds brackets, about as much as decoding.
    """
    if _openers_at_most(raw, max_depth):
        return
    brackets = _outside_strings(raw).translate(_BRACES_AS_BRACKETS, _NOT_BRACKETS)
    if b"[" * (max_depth + 1) in brackets:
        raise _too_deep(max_depth)
    for _ in range(max_depth):
        if not brackets:
            return
        brackets = brackets.replace(b"[]", b"")
    if not brackets:
        return
    if brackets[:1] == b"[" and brackets[-1:] == b"]" and _balanced(brackets):
        raise _too_deep(max_depth)
    # Not JSON; and the decoder must not be the one to find out, by recursing.
    raise JsonRefused("invalid_json", "brackets do not balance")


def _openers_at_most(raw: bytes, limit: int) -> bool:
    found = 0
    for opener in (b"[", b"{"):
        at = raw.find(opener)
        while at != -1:
            found += 1
            if found > limit:
                return False
            at = raw.find(opener, at + 1)
    return True


def _outside_strings(raw: bytes) -> bytes:
    """What lies outside string literals. Escapes pair up left to right, as the decoder reads
    them: ``\\\\`` first, then ``\\"``; what remains of the quotes delimit strings. Where the
    text is not JSON this may misjudge, but only past the point where the decoder stops."""
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    if b'"' not in raw:
        return raw
    return b"".join(raw.split(b'"')[::2])


def _balanced(brackets: bytes) -> bool:
    return brackets.count(b"[") == brackets.count(b"]")


def _too_deep(max_depth: int) -> JsonRefused:
    return JsonRefused("json_too_deep", f"JSON nested deeper than {max_depth}")


def _number_too_long(text: str) -> JsonRefused:
    return JsonRefused(
        "json_number_too_long", f"a number is longer than {MAX_JSON_NUMBER_CHARS} characters"
    )


def _parse_int(text: str) -> int:
    if len(text) > MAX_JSON_NUMBER_CHARS:
        raise _number_too_long(text)
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_JSON_NUMBER_CHARS:
        raise _number_too_long(text)
    return float(text)


def _refuse_constant(name: str) -> Any:
    raise JsonRefused("invalid_json", f"{name} is not a JSON value")


# The C scanner calls a hook only for the values it applies to: a body without numbers pays
# nothing, one with a few numbers pays a Python call each.
_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
)
