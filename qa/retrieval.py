"""Hybrid retrieval: dense (FAISS inner product) and BM25 rankings fused by reciprocal rank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.errors import InputError
from qa.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """How the two rankings are fused: score = sum of weight / (rrf_k + rank)."""

    candidates: int = 50  # how deep each ranking is read before fusing
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.candidates <= 0:
            raise InputError(f"candidates must be greater than 0, got {self.candidates}")
        if self.rrf_k < 0:
            raise InputError(f"rrf_k must be 0 or more, got {self.rrf_k}")
        if self.dense_weight < 0 or self.keyword_weight < 0:
            raise InputError("fusion weights must be 0 or more")


def retrieve(
    snapshot: Snapshot,
    query_vector: np.ndarray,
    query_terms: Sequence[str],
    k: int,
    settings: RetrievalSettings,
) -> list[tuple[int, float]]:
    """The `k` best chunk rows for a question, best first, with their fused scores."""
    size = len(snapshot.chunks)
    if size == 0 or k <= 0:
        return []
    depth = min(max(settings.candidates, k), size)
    fused: dict[int, float] = {}
    if settings.dense_weight > 0:
        _, rows = snapshot.faiss_index.search(query_vector.reshape(1, -1), depth)
        for rank, row in enumerate(int(r) for r in rows[0] if r >= 0):
            fused[row] = fused.get(row, 0.0) + settings.dense_weight / (settings.rrf_k + rank + 1)
    if settings.keyword_weight > 0:
        for rank, (row, _) in enumerate(snapshot.bm25.top(query_terms, depth)):
            fused[row] = fused.get(row, 0.0) + settings.keyword_weight / (settings.rrf_k + rank + 1)
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:k]
