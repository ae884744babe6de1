"""Terms for keyword search, and the BM25 index (bm25s) over chunk texts."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

_WORD = re.compile(r"\w\w+|\d", re.UNICODE)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    # "won" is a verb people ask about ("Who won ...?"), not only a piece of "won't".
    return frozenset(STOPWORDS_EN_PLUS) - {"won"} | {"also", "could", "would", "whose"}


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words: "Where is the embassy operating?" -> [embassi, oper]."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop and not w.isspace()]
    return list(_stemmer().stemWords(words))


class Bm25:
    """BM25 over a list of texts, with document frequencies for weighting question terms."""

    def __init__(self, retriever: Any) -> None:
        self._retriever = retriever
        self._vocab: dict[str, int] = retriever.vocab_dict
        self._indptr = np.asarray(retriever.scores["indptr"])
        self._rows = np.asarray(retriever.scores["indices"])  # per term column: chunks holding it
        self._df = np.diff(self._indptr)
        self.size = int(retriever.scores["num_docs"])

    @classmethod
    def build(cls, texts: Sequence[str]) -> Bm25:
        import bm25s

        retriever = bm25s.BM25()
        # An empty corpus still needs one token for bm25s to build its matrices.
        retriever.index([terms(t) or [""] for t in texts] or [[""]], show_progress=False)
        return cls(retriever)

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term absent from every chunk gets the highest weight."""
        i = self._vocab.get(term)
        df = int(self._df[i]) if i is not None else 0
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def coverage(self, query_terms: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """For each of `rows`, the IDF-weighted share of the query terms that chunk contains."""
        weights = {t: self.idf(t) for t in set(query_terms)}
        total = sum(weights.values())
        covered = np.zeros(len(rows), dtype=np.float64)
        if not total:
            return covered
        for term, weight in weights.items():
            i = self._vocab.get(term)
            if i is not None:
                holding = self._rows[self._indptr[i] : self._indptr[i + 1]]
                covered += weight * np.isin(rows, holding)
        return covered / total

    def top(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The best `k` rows for the query terms, with their BM25 scores (all above zero)."""
        known = [t for t in query_terms if t in self._vocab]
        if not known or k <= 0 or self.size == 0:
            return []
        rows, scores = self._retriever.retrieve(
            [known], k=min(k, self.size), show_progress=False, n_threads=1
        )
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> Bm25:
        import bm25s

        return cls(bm25s.BM25.load(str(folder), show_progress=False))
