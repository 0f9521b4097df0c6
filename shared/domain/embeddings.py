"""Embeddings: what the gateway asks an embeddings deployment, and what a semantic cache keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.chat import RateLimitInfo, TokenUsage

# text-embedding-3 models shorten their vectors on request (``dimensions``), keeping most of
# their quality; 256 floats are 1 KB per cached prompt, keep the embedded store's brute-force
# scan cheap, and fit Cosmos DB's exact ``flat`` vector index (at most 505 dimensions):
# https://learn.microsoft.com/azure/ai-services/openai/how-to/embeddings#reducing-embedding-dimensions
# https://learn.microsoft.com/azure/cosmos-db/index-policy#vector-indexes
EMBEDDING_DIMENSIONS = 256


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    request_id: str
    group: str
    texts: tuple[str, ...]
    prompt_tokens: int
    dimensions: int = EMBEDDING_DIMENSIONS

    @property
    def quota_cost(self) -> int:
        """Azure charges an embeddings call its input tokens (there is no max_tokens)."""
        return self.prompt_tokens


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    vectors: tuple[tuple[float, ...], ...]
    usage: TokenUsage
    model: str
    deployment: str
    region: str
    attempts: int = 1
    ratelimit: RateLimitInfo = field(default_factory=RateLimitInfo)


@dataclass(frozen=True, slots=True)
class SemanticEntry:
    """A cached answer with the embedded input it answered (compared by the near-miss guard)."""

    id: str
    partition: str  # business unit, use case and version, templates, model and parameters
    text: str
    vector: tuple[float, ...]  # unit length
    content: str
    usage: TokenUsage
    business_unit: str
    use_case: str
    model: str
    created_at: datetime
    finish_reason: str = "stop"

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "partition": self.partition,
            "text": self.text,
            "vector": list(self.vector),
            "content": self.content,
            "usage": self.usage.as_dict(),
            "business_unit": self.business_unit,
            "use_case": self.use_case,
            "model": self.model,
            "created_at": self.created_at.isoformat(),
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SemanticEntry:
        return cls(
            id=doc["id"],
            partition=doc["partition"],
            text=doc["text"],
            vector=tuple(float(x) for x in doc["vector"]),
            content=doc["content"],
            usage=TokenUsage.from_dict(doc["usage"]),
            business_unit=doc["business_unit"],
            use_case=doc["use_case"],
            model=doc["model"],
            created_at=datetime.fromisoformat(doc["created_at"]),
            finish_reason=str(doc.get("finish_reason", "stop")),
        )


@dataclass(frozen=True, slots=True)
class SemanticMatch:
    entry: SemanticEntry
    similarity: float  # cosine, 1.0 = same direction
