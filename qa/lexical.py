"""Terms for keyword search, and BM25 over chunk texts, kept per segment."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
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


# BM25's constants as bm25s (the "lucene" variant) sets them, so rankings are as before.
K1, B = 1.5, 0.75


@dataclass(frozen=True, eq=False)
class Postings:
    """For one segment's chunks: which chunks hold each term and how often (a term x chunk
    matrix in compressed columns), and how many terms each chunk has.

    Built once when a segment is made, saved beside it, and memory-mapped when loaded.
    """

    vocabulary: dict[str, int]  # term -> column
    starts: np.ndarray  # (terms + 1,) int64: column i is rows[starts[i]:starts[i + 1]]
    rows: np.ndarray  # int32: the chunks holding each term, by column
    counts: np.ndarray  # float32: how often the term occurs in that chunk
    lengths: np.ndarray  # (chunks,) float32: terms in each chunk

    FILES = ("terms.json", "term_starts.npy", "term_rows.npy", "term_counts.npy", "lengths.npy")

    @classmethod
    def build(cls, texts: Sequence[str]) -> Postings:
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            found = Counter(terms(text))
            lengths[row] = sum(found.values())
            for term, count in found.items():
                rows.append(row)
                columns.append(vocabulary.setdefault(term, len(vocabulary)))
                counts.append(count)
        return cls._from_triples(vocabulary, rows, columns, counts, lengths)

    @classmethod
    def _from_triples(
        cls,
        vocabulary: dict[str, int],
        rows: Any,
        columns: Any,
        counts: Any,
        lengths: np.ndarray,
    ) -> Postings:
        columns = np.asarray(columns, dtype=np.int64)
        order = np.lexsort((np.asarray(rows, dtype=np.int64), columns))
        starts = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(columns, minlength=len(vocabulary)), out=starts[1:])
        return cls(
            vocabulary,
            starts,
            np.asarray(rows, dtype=np.int32)[order],
            np.asarray(counts, dtype=np.float32)[order],
            np.asarray(lengths, dtype=np.float32),
        )

    @classmethod
    def merged(cls, parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
        """One Postings over the chunks `rows` of each part, parts one after another."""
        vocabulary: dict[str, int] = {}
        all_rows, all_columns, all_counts, all_lengths = [], [], [], []
        base = 0
        for postings, keep in parts:
            keep = np.asarray(keep, dtype=np.int64)
            new_row = np.full(len(postings.lengths), -1, dtype=np.int64)
            new_row[keep] = base + np.arange(len(keep))
            remap = np.array(
                [vocabulary.setdefault(term, len(vocabulary)) for term in postings.vocabulary],
                dtype=np.int64,
            )
            term_of = np.repeat(
                np.arange(len(postings.vocabulary)), np.diff(np.asarray(postings.starts))
            )
            rows = new_row[postings.rows]
            kept = rows >= 0
            all_rows.append(rows[kept])
            all_columns.append(remap[term_of[kept]])
            all_counts.append(np.asarray(postings.counts)[kept])
            all_lengths.append(np.asarray(postings.lengths)[keep])
            base += len(keep)
        empty = [np.zeros(0, dtype=np.int64)]
        return cls._from_triples(
            vocabulary,
            np.concatenate(all_rows + empty),
            np.concatenate(all_columns + empty),
            np.concatenate(all_counts + empty),
            np.concatenate([*all_lengths, np.zeros(0, dtype=np.float32)]),
        )

    def column(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The chunks holding `term` and how often it occurs in each."""
        i = self.vocabulary.get(term)
        if i is None:
            return _NO_ROWS, _NO_COUNTS
        start, end = int(self.starts[i]), int(self.starts[i + 1])
        return self.rows[start:end], self.counts[start:end]

    def save(self, folder: Path) -> None:
        with open(folder / "terms.json", "w", encoding="utf-8") as out:
            json.dump(sorted(self.vocabulary, key=self.vocabulary.__getitem__), out)
        np.save(folder / "term_starts.npy", self.starts)
        np.save(folder / "term_rows.npy", self.rows)
        np.save(folder / "term_counts.npy", self.counts)
        np.save(folder / "lengths.npy", self.lengths)

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Read back what `save` wrote; the arrays are memory-mapped, not read into memory."""
        with open(folder / "terms.json", encoding="utf-8") as lines:
            vocabulary = {term: i for i, term in enumerate(json.load(lines))}
        # Plain views of the maps: indexing a np.memmap goes through slow Python code.
        arrays = [np.load(folder / name, mmap_mode="r").view(np.ndarray) for name in cls.FILES[1:]]
        if len(arrays[0]) != len(vocabulary) + 1 or len(arrays[1]) != len(arrays[2]):
            raise ValueError("the term tables do not match their vocabulary")
        return cls(vocabulary, *arrays)


_NO_ROWS = np.zeros(0, dtype=np.int32)
_NO_COUNTS = np.zeros(0, dtype=np.float32)


# A term whose IDF is below this is in (nearly) every chunk: it adds less than this to any
# score, so searching skips its postings (a million of them, for a word in every chunk).
MIN_IDF = 1e-3
# A term in more chunks than this share (and this many) is "common": its postings are read
# only for the rows that the other terms found, when that is sure to give the same top k.
COMMON_SHARE = 0.02
COMMON_MIN = 5_000


@dataclass(frozen=True, eq=False)
class Held:
    """The chunks of one Postings that a snapshot holds: all of them, or those left after
    some documents were removed. Made once per segment and removal, not per snapshot."""

    postings: Postings
    chunks: np.ndarray | None = None  # the postings' rows held, ascending; None: all

    @cached_property
    def offsets(self) -> np.ndarray | None:
        """Each postings row's place among the held chunks, -1 where not held (None: all)."""
        if self.chunks is None:
            return None
        offsets = np.full(len(self.postings.lengths), -1, dtype=np.int64)
        offsets[self.chunks] = np.arange(len(self.chunks))
        return offsets

    @cached_property
    def size(self) -> int:
        return len(self.postings.lengths) if self.chunks is None else len(self.chunks)

    @cached_property
    def total_length(self) -> float:
        lengths = np.asarray(self.postings.lengths)
        return float(lengths.sum() if self.chunks is None else lengths[self.chunks].sum())


class _Part:
    """One Held, its chunks at snapshot rows base, base + 1, ... in order."""

    def __init__(self, held: Held, base: int) -> None:
        self.postings = held.postings
        self.held = held
        self.base = base

    def column(self, term: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The held chunks holding `term`: their postings rows, snapshot rows, and counts."""
        local, counts = self.postings.column(term)
        offsets = self.held.offsets
        if offsets is None or not len(local):
            return local, local + self.base, counts
        at = offsets[local]
        live = at >= 0
        return local[live], at[live] + self.base, counts[live]

    def local_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the snapshot `rows` are this part's chunks, and their postings rows."""
        at = rows - self.base
        inside = (at >= 0) & (at < self.held.size)
        chunks = self.held.chunks
        return inside, at[inside] if chunks is None else chunks[at[inside]]


def _find(sorted_values: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of `values`, where it is in `sorted_values` and whether it is there at all
    (where it is not, the position is meaningless)."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=np.int64), np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return at, sorted_values[at] == values


class Bm25:
    """BM25 over the chunks of several Postings, each mapped to the snapshot's chunk rows.

    Statistics (chunk count, average length, document frequency) are those of the live
    chunks, so the scores are what one index built over exactly those chunks would give,
    while adding or removing a document touches only its own segment.
    """

    def __init__(self, parts: Sequence[tuple[Held, int]] = ()) -> None:
        # Each part: the chunks held of one Postings, and the snapshot row of the first.
        self._parts = [_Part(held, base) for held, base in parts]
        self.size = sum(held.size for held, _ in parts)
        total = sum(held.total_length for held, _ in parts)
        self.average_length = max(total / self.size, 1.0) if self.size else 1.0
        self._frequency: dict[str, int] = {}

    @classmethod
    def build(cls, texts: Sequence[str]) -> Bm25:
        """BM25 over `texts`, their rows numbered in order."""
        return cls([(Held(Postings.build(texts)), 0)])

    def _holding(self, term: str) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Rows holding `term`, its counts there, and those rows' lengths: part by part."""
        for part in self._parts:
            local, rows, counts = part.column(term)
            if len(local):
                yield rows, counts, np.asarray(part.postings.lengths)[local]

    def frequency(self, term: str) -> int:
        """How many live chunks hold `term`."""
        if term not in self._frequency:
            found = 0
            for part in self._parts:
                found += len(part.column(term)[0])
            self._frequency[term] = found
        return self._frequency[term]

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term absent from every chunk gets the highest weight."""
        df = self.frequency(term)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def coverage(self, query_terms: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """For each of `rows`, the IDF-weighted share of the query terms that chunk contains."""
        weights = {t: self.idf(t) for t in set(query_terms)}
        total = sum(weights.values())
        covered = np.zeros(len(rows), dtype=np.float64)
        if not total:
            return covered
        rows = np.asarray(rows, dtype=np.int64)
        # Each candidate looked up in each term's postings (sorted by chunk): the cost is the
        # candidates', not the postings' (a common word's run to a million).
        located = [(part, *part.local_rows(rows)) for part in self._parts]
        for term, weight in weights.items():
            holds = np.zeros(len(rows), dtype=bool)
            for part, inside, local in located:
                column, _ = part.postings.column(term)
                if len(local):
                    holds[inside] = _find(column, local)[1]
            covered += weight * holds
        return covered / total

    def top(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The best `k` rows for the query terms, with their BM25 scores (all above zero).

        Exact, but a common term's postings are read only when they could change the top k
        (MaxScore): the rarer terms are scored in full, then the common ones only on the rows
        those found. A term adds less than its IDF to any score, so when the k-th best
        score is at least the common terms' IDFs together, no other row can reach the top k.
        """
        if k <= 0 or self.size == 0:
            return []
        # Rarest first, whatever the question's order, so that a row's score is summed in one
        # order however it is found, and equal to the last bit. A repeated term counts again.
        by_frequency = sorted(query_terms, key=self.frequency)
        weighed = [(t, self.idf(t)) for t in by_frequency if self.idf(t) >= MIN_IDF]
        common_df = max(COMMON_MIN, int(COMMON_SHARE * self.size))
        common = [(t, idf) for t, idf in weighed if self.frequency(t) > common_df]
        rare = [(t, idf) for t, idf in weighed if self.frequency(t) <= common_df]
        if not common or not rare:
            return self._top_of_all(weighed, k)
        total = np.zeros(self.size, dtype=np.float64)  # rows are 0..size-1: the live chunks
        for term, idf in rare:
            for rows, counts, lengths in self._holding(term):
                total[rows] += idf * self._saturation(counts, lengths)  # a row holds it once
        best = np.flatnonzero(total > 0)
        for term, idf in common:
            rows, counts, lengths = self._on_rows(term, best)
            total[rows] += idf * self._saturation(counts, lengths)
        kth = np.partition(total[best], len(best) - k)[len(best) - k] if len(best) >= k else 0
        if kth <= 0 or kth < sum(idf for _, idf in common):
            return self._top_of_all(weighed, k)  # another row could still reach the top k
        return self._best(total, best, k)

    def _saturation(self, counts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return counts / (counts + K1 * (1 - B + B * lengths / self.average_length))

    def _on_rows(self, term: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of the snapshot `rows`, those holding `term`, the counts, and their lengths."""
        found, found_counts, found_lengths = [], [], []
        for part in self._parts:
            inside, local = part.local_rows(rows)
            column, counts = part.postings.column(term)
            if not len(column) or not len(local):
                continue
            at, hit = _find(column, local)
            found.append(rows[inside][hit])
            found_counts.append(counts[at[hit]])
            found_lengths.append(np.asarray(part.postings.lengths)[local[hit]])
        if not found:
            return _NO_ROWS.astype(np.int64), _NO_COUNTS, _NO_COUNTS
        return np.concatenate(found), np.concatenate(found_counts), np.concatenate(found_lengths)

    def _top_of_all(self, weighed: list[tuple[str, float]], k: int) -> list[tuple[int, float]]:
        total = np.zeros(self.size, dtype=np.float64)
        for term, idf in weighed:
            for rows, counts, lengths in self._holding(term):
                total[rows] += idf * self._saturation(counts, lengths)
        return self._best(total, np.flatnonzero(total > 0), k)

    @staticmethod
    def _best(total: np.ndarray, best: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k best of the rows `best` (in order), ties taken by the lower row."""
        if len(best) > k:
            kth = np.partition(total[best], len(best) - k)[len(best) - k]
            best = best[total[best] >= kth]
        order = np.lexsort((best, -total[best]))[:k]
        return [(int(best[i]), float(total[best[i]])) for i in order]
