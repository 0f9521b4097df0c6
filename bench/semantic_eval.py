"""``python -m bench.semantic_eval``: the semantic cache's hit rate on paraphrases and false-hit
rate on near-misses, per similarity threshold, with and without the near-miss guard.

The pairs are in bench/data/ (tab-separated): paraphrases that should hit, and near-misses that
must not (a changed number, identifier, date, negation, name, unit, contrast or role). Vectors
come from the simulator's embedding function, which is LEXICAL (feature hashes): paraphrases in
other words score low here and would score high with a real embeddings model, so the hit rates
below are a floor for lexically close rewordings, not a forecast. The guard's false-hit column is
what the gateway relies on, and it does not depend on the embedding model: the guard runs on the
text of every candidate above the threshold.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from shared.domain.embeddings import EMBEDDING_DIMENSIONS
from shared.semantic.near_miss import Disagreement, near_miss
from simulator.embeddings import lexical_embedding

DATA = Path(__file__).resolve().parent / "data"
THRESHOLDS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95)


@dataclass(frozen=True, slots=True)
class Pair:
    kind: str  # "paraphrase" or the near-miss kind
    cached: str
    new: str
    similarity: float
    guard: Disagreement | None


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def load_pairs(dimensions: int = EMBEDDING_DIMENSIONS) -> list[Pair]:
    rows: list[tuple[str, str, str]] = []
    for line in (DATA / "semantic_pairs_paraphrase.tsv").read_text().splitlines():
        cached, new = line.split("\t")
        rows.append(("paraphrase", cached, new))
    for line in (DATA / "semantic_pairs_near_miss.tsv").read_text().splitlines():
        kind, cached, new = line.split("\t")
        rows.append((kind, cached, new))
    return [
        Pair(
            kind,
            cached,
            new,
            cosine(lexical_embedding(cached, dimensions), lexical_embedding(new, dimensions)),
            near_miss(new, cached),
        )
        for kind, cached, new in rows
    ]


def served(pair: Pair, threshold: float, guarded: bool) -> bool:
    return pair.similarity >= threshold and not (guarded and pair.guard is not None)


def rate(pairs: list[Pair], threshold: float, guarded: bool) -> str:
    hits = sum(served(p, threshold, guarded) for p in pairs)
    return f"{hits:>3}/{len(pairs)} {100 * hits / len(pairs):5.1f}%"


def table(pairs: list[Pair]) -> list[str]:
    good = [p for p in pairs if p.kind == "paraphrase"]
    bad = [p for p in pairs if p.kind != "paraphrase"]
    lines = [
        f"{len(good)} paraphrases, {len(bad)} near-misses "
        f"({', '.join(f'{k} {n}' for k, n in sorted(Counter(p.kind for p in bad).items()))})",
        "",
        f"{'threshold':>9} | {'paraphrase hits':>15} {'(guard on)':>15} | "
        f"{'near-miss false hits':>20} {'(guard on)':>15}",
    ]
    for t in THRESHOLDS:
        lines.append(
            f"{t:>9.2f} | {rate(good, t, False):>15} {rate(good, t, True):>15} | "
            f"{rate(bad, t, False):>20} {rate(bad, t, True):>15}"
        )
    lowest = THRESHOLDS[0]
    leaked = [p for p in bad if served(p, lowest, True)]
    blocked = Counter(p.guard for p in good if p.similarity >= lowest and p.guard is not None)
    lines += [
        "",
        f"near-misses the guard let through at {lowest}: {len(leaked)}",
        *(f"  [{p.kind}] {p.cached!r} -> {p.new!r} ({p.similarity:.3f})" for p in leaked),
        f"paraphrases above {lowest} the guard refused (the guard's cost), by reason: "
        + (", ".join(f"{k} {n}" for k, n in blocked.most_common()) or "none"),
        "",
        "Similarity is LEXICAL (the simulator's feature-hash embeddings): paraphrases in other",
        "words score low here and high with a real model. Real hit rates need the real model.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.semantic_eval", description=__doc__)
    parser.add_argument("--dimensions", type=int, default=EMBEDDING_DIMENSIONS)
    parser.add_argument("--show-refused", action="store_true", help="list refused paraphrases")
    args = parser.parse_args(argv)
    pairs = load_pairs(args.dimensions)
    print("\n".join(table(pairs)))
    if args.show_refused:
        for p in pairs:
            if p.kind == "paraphrase" and p.guard is not None:
                print(f"  refused [{p.guard}] {p.cached!r} -> {p.new!r}")
    return 0 if math.isfinite(sum(p.similarity for p in pairs)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
