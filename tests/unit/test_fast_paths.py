"""Each shortcut on the request path gives exactly what the plain code it replaces gives."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from functions.http_frame import AnswerResponse, new_request_id
from shared.catalog import Catalog
from shared.domain.chat import Message
from shared.domain.usage import UsageRecord
from shared.handlers.prepare import cache_key
from shared.http.request import header
from shared.tokenizer import MEMO_ENTRIES, MEMO_TEXTS, Tokenizer

AT = datetime(2026, 3, 9, 23, 30, tzinfo=timezone(timedelta(hours=-5)))


def _record() -> UsageRecord:
    values: dict[str, Any] = {f.name: f"v-{f.name}" for f in dataclasses.fields(UsageRecord)}
    return UsageRecord(**{**values, "created_at": AT, "prompt_tokens": 7, "job_id": "job-1"})


def test_priced_is_dataclasses_replace() -> None:
    record = _record()
    changes: dict[str, Any] = {
        "cost": Decimal("0.000123"),
        "savings": Decimal("0.5"),
        "currency": "EUR",
        "price_version": "v9",
        "saved_prompt_tokens": 11,
        "saved_completion_tokens": 12,
    }
    assert record.priced(**changes) == dataclasses.replace(record, **changes)


def test_month_and_day_are_strftime_of_the_records_own_zone() -> None:
    record = _record()
    assert (record.month, record.day) == (AT.strftime("%Y-%m"), AT.strftime("%Y-%m-%d"))


def test_request_ids_are_uuid4_hex() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.hex == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_the_cache_key_is_unchanged() -> None:
    usecase = Catalog.load().get("summarize")
    assert usecase is not None
    messages = (Message("system", "Be brief. é"), Message("user", 'He said "hi"\n'))
    extra = [120, 0.2, {"type": "json_schema"}]
    material = json.dumps(
        ["marketing", "summarize", usecase.version, "gpt-4o-mini",
         [(m.role, m.content) for m in messages], extra],
        separators=(",", ":"),
        ensure_ascii=False,
    )  # fmt: skip
    expected = hashlib.sha256(material.encode()).hexdigest()
    assert cache_key(usecase, "marketing", "gpt-4o-mini", messages, extra) == expected


def test_remembered_token_counts_equal_fresh_ones() -> None:
    tokenizer = Tokenizer("o200k_base")
    messages = (Message("system", "Summarize in at most 120 words."), Message("user", "Hi there"))
    fresh = Tokenizer("o200k_base").count_messages(messages)
    assert tokenizer.count_messages(messages, digest="k") == fresh
    assert tokenizer.count_messages(messages, digest="k") == fresh  # from the memo
    assert tokenizer.count_messages(messages) == fresh  # system prompt and roles remembered
    expected = 3 + sum(3 + tokenizer.count(m.role) + tokenizer.count(m.content) for m in messages)
    assert fresh == expected


def test_the_token_memo_stays_bounded() -> None:
    tokenizer = Tokenizer("o200k_base")
    messages = (Message("user", "x"),)
    for i in range(MEMO_ENTRIES + 10):
        tokenizer.count_messages(messages, digest=str(i))
        tokenizer.count_message(Message("system", f"prompt {i}"))
    assert len(tokenizer._prompt_counts) <= MEMO_ENTRIES
    assert len(tokenizer._text_counts) <= MEMO_TEXTS


def test_header_is_mapping_get() -> None:
    headers = Headers(raw=[(b"accept", b"text/event-stream"), (b"accept", b"second")])
    assert header(headers, "accept") == headers.get("accept") == "text/event-stream"
    assert header(headers, "prefer") == headers.get("prefer", "") == ""
    assert header(headers, "prefer", "x") == "x"
    assert header({"x-user-roles": "a,b"}, "x-user-roles") == "a,b"


def test_utc_record_months_match_across_zones() -> None:
    record = dataclasses.replace(_record(), created_at=AT.astimezone(UTC))
    assert record.month == AT.astimezone(UTC).strftime("%Y-%m")


def test_answers_render_as_starlettes_json_response() -> None:
    body = {"summary": "Résumé — 12%", "usage": {"n": 1, "x": 0.5}, "ok": True, "none": None}
    ours = AnswerResponse(body, status_code=200, headers={"x-budget-warning": "80%"})
    theirs = JSONResponse(body, status_code=200, headers={"x-budget-warning": "80%"})
    assert (ours.body, ours.raw_headers) == (theirs.body, theirs.raw_headers)
    with pytest.raises(ValueError):
        AnswerResponse({"nan": float("nan")})
