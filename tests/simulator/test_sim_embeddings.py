"""The embeddings API: Azure shapes, token counts, quota, 429s; lexical deterministic vectors."""

from __future__ import annotations

import base64
import math
from array import array
from collections.abc import Callable

import httpx
import pytest

from shared.tokenizer import Tokenizer
from simulator.embeddings import lexical_embedding
from simulator.testing import FakeClock, chat_path, embeddings_path

EMBED = {"model": "text-embedding-3-small", "encoding": "cl100k_base"}
CL100K = Tokenizer("cl100k_base")
ClientFactory = Callable[..., httpx.AsyncClient]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def _embed(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post(embeddings_path("sim"), json=body)


async def test_azure_shape_and_tokens_counted_with_the_models_tokenizer(
    make_client: ClientFactory,
) -> None:
    client = make_client(**EMBED)
    texts = ["Refund order 1042, please.", "Where is my parcel?"]

    response = await _embed(client, input=texts)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list" and body["model"] == "text-embedding-3-small"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 1536 for d in body["data"])
    tokens = sum(CL100K.count(t) for t in texts)
    assert body["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    assert response.headers["x-ratelimit-remaining-tokens"] == str(100_000 - tokens)
    stats = (await client.get("/_sim/stats")).json()["sim"]
    assert (stats["ok"], stats["prompt_tokens"], stats["completion_tokens"]) == (1, tokens, 0)


async def test_vectors_are_unit_length_deterministic_and_sized_by_dimensions(
    make_client: ClientFactory,
) -> None:
    client = make_client(**EMBED)
    first = (await _embed(client, input="Reset my password", dimensions=256)).json()
    again = (await _embed(client, input="Reset my password", dimensions=256)).json()

    vector = first["data"][0]["embedding"]
    assert len(vector) == 256
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)
    assert vector == again["data"][0]["embedding"] == lexical_embedding("Reset my password", 256)


async def test_base64_is_the_little_endian_float32_array(make_client: ClientFactory) -> None:
    client = make_client(**EMBED)
    body = (await _embed(client, input="hello", dimensions=8, encoding_format="base64")).json()
    decoded = array("f", base64.b64decode(body["data"][0]["embedding"]))
    assert list(decoded) == pytest.approx(lexical_embedding("hello", 8), abs=1e-7)


def test_lexically_close_texts_are_close_and_unrelated_ones_are_not() -> None:
    base = lexical_embedding("How do I reset my password?")
    reworded = lexical_embedding("how can I reset my password")
    near_miss = lexical_embedding("How do I reset my password? Order 1043")
    unrelated = lexical_embedding("Quarterly revenue grew in the northern region")
    assert cosine(base, reworded) > 0.7
    assert cosine(base, unrelated) < 0.2
    assert cosine(base, near_miss) > cosine(base, unrelated)
    # Lexical only: a paraphrase with other words is NOT close (a real model would say it is).
    assert cosine(base, lexical_embedding("I forgot my login credentials")) < 0.3


async def test_token_arrays_are_decoded_and_embedded_like_their_text(
    make_client: ClientFactory,
) -> None:
    client = make_client(**EMBED)
    tokens = CL100K.encode("refund my order")
    body = (await _embed(client, input=[tokens], dimensions=16)).json()
    assert body["data"][0]["embedding"] == lexical_embedding("refund my order", 16)
    assert body["usage"]["prompt_tokens"] == len(tokens)


@pytest.mark.parametrize(
    "body",
    [
        {"input": ""},
        {"input": []},
        {"input": ["ok", 3]},
        {"input": "x", "dimensions": 0},
        {"input": "x", "dimensions": 4000},
        {"input": "x", "encoding_format": "hex"},
    ],
)
async def test_bad_bodies_are_400_and_cost_no_quota(
    make_client: ClientFactory, body: dict[str, object]
) -> None:
    client = make_client(**EMBED)
    response = await client.post(embeddings_path("sim"), json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    stats = (await client.get("/_sim/stats")).json()["sim"]
    assert (stats["bad_requests"], stats["prompt_tokens"]) == (1, 0)


async def test_an_input_past_8191_tokens_is_refused(make_client: ClientFactory) -> None:
    client = make_client(**EMBED)
    response = await _embed(client, input="word " * 9000)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"


async def test_embeddings_on_a_chat_deployment_and_chat_on_an_embeddings_one_are_refused(
    make_client: ClientFactory,
) -> None:
    chat = make_client()
    refused = await chat.post(embeddings_path("sim"), json={"input": "x"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "OperationNotSupported"
    embed = make_client(**EMBED)
    refused = await embed.post(
        chat_path("sim"), json={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert refused.status_code == 400
    assert "chatCompletion operation" in refused.json()["error"]["message"]


async def test_token_quota_gives_azures_429_with_exact_retry_after(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    client = make_client(tpm=1000, **EMBED)
    text = "alpha " * 600
    cost = CL100K.count(text)
    assert cost * 2 > 1000 >= cost
    assert (await _embed(client, input=text)).status_code == 200
    clock.advance(15)

    refused = await _embed(client, input=text)

    assert refused.status_code == 429
    assert refused.headers["retry-after-ms"] == "45000"
    assert refused.headers["x-ratelimit-remaining-tokens"] == str(1000 - cost)
    assert "Embeddings_Create Operation" in refused.json()["error"]["message"]
    clock.advance(45)
    assert (await _embed(client, input=text)).status_code == 200


async def test_faults_apply_to_embeddings_and_cost_nothing(make_client: ClientFactory) -> None:
    client = make_client(**EMBED)
    for fault, status in (("500", 500), ("503", 503), ("429", 429)):
        response = await client.post(
            embeddings_path("sim"), json={"input": "x"}, headers={"x-sim-fault": fault}
        )
        assert response.status_code == status
    assert response.headers["retry-after-ms"] == "1000"
    stats = (await client.get("/_sim/stats")).json()["sim"]
    assert (stats["faults"], stats["throttled"], stats["prompt_tokens"]) == (2, 1, 0)
