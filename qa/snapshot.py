"""An immutable view of everything indexed: documents, sentences, chunks, BM25, and which
chunk keys of the (shared) vector store belong to it.

Changing an index builds a new Snapshot and swaps it in, so a question being answered always
sees one consistent state, whatever another thread is adding or removing. The vector store
is shared and changes under it; a snapshot ignores keys it does not know.

Documents live in segments: the documents embedded (or merged) together, saved as one
folder, with their own BM25 postings. A change makes a segment of its new documents and marks
the documents it drops as removed in theirs, so it costs what it changes; now and then small
or mostly-removed segments are merged into one.
"""

from __future__ import annotations

import bisect
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.lexical import Bm25, Postings
from qa.stores import VectorStore
from qa.types import Chunk, Document, Span

MAX_SEGMENTS = 8  # more, and the smallest are merged: a question looks at each segment's terms
MOSTLY_REMOVED = 0.5  # a segment with more than this share of its documents removed is rewritten


@dataclass(frozen=True, eq=False)
class DocumentEntry:
    """One document and everything derived from it by chunking and embedding."""

    document: Document
    sentences: tuple[Span, ...]
    chunks: tuple[Chunk, ...]
    chunk_keys: np.ndarray  # int64, one per chunk: where its vector is in the store
    sentence_vectors: np.ndarray  # (len(sentences), dimension), float32, normalised

    def chunk_vectors(self) -> np.ndarray:
        """Each chunk's vector: the normalised mean of the vectors of its sentences."""
        starts = [s.start for s in self.sentences]
        rows = [
            mean_vector(self.sentence_vectors, self.sentences, starts, c.start, c.end)
            for c in self.chunks
        ]
        return np.array(rows, dtype=np.float32).reshape(len(rows), -1)


def mean_vector(
    vectors: np.ndarray, sentences: Sequence[Span], starts: Sequence[int], start: int, end: int
) -> np.ndarray:
    """The normalised mean of the vectors of the sentences inside [start, end) (a chunk is a
    run of whole sentences; `starts` are the sentences' starts, in order)."""
    first = bisect.bisect_left(starts, start)
    last = bisect.bisect_left(starts, end)
    inside = [i for i in range(first, last) if sentences[i].end <= end] or [
        max(first - 1, 0)  # a chunk inside one sentence: that sentence
    ]
    mean = np.asarray(vectors[inside], dtype=np.float32).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


@dataclass(frozen=True, eq=False)
class Segment:
    """Documents stored together: one folder on disk, one part of BM25."""

    name: str  # its folder's name: unique, never reused
    entries: tuple[DocumentEntry, ...]
    postings: Postings  # over the chunks of `entries`, in order

    @classmethod
    def of(cls, entries: Sequence[DocumentEntry], postings: Postings | None = None) -> Segment:
        """A new segment of `entries` (their postings built unless given)."""
        if postings is None:
            postings = Postings.build([c.text for e in entries for c in e.chunks])
        return cls(new_segment_name(), tuple(entries), postings)

    @cached_property
    def chunk_starts(self) -> np.ndarray:
        """Where each entry's chunks begin among the segment's chunks (and where they end)."""
        counts = [len(e.chunks) for e in self.entries]
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def new_segment_name() -> str:
    return f"seg-{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(5).hex()}"


class Snapshot:
    """Entries concatenated into searchable arrays; never modified after construction."""

    def __init__(
        self,
        entries: Sequence[DocumentEntry],
        dimension: int,
        store: VectorStore,
        *,
        segments: Sequence[Segment] = (),
        merge: bool = True,
    ) -> None:
        """A snapshot of `entries`. Entries already in one of `segments` (a previous
        snapshot's) stay there; the others make a new segment. With `merge`, small or
        mostly-removed segments are merged into that new one."""
        self.entries = tuple(entries)
        self.dimension = dimension
        self.store = store
        self.segments = _arrange(self.entries, segments, merge=merge)
        self.chunks: list[Chunk] = [c for e in self.entries for c in e.chunks]
        # Row of each chunk -> its entry, and where each entry's sentences begin globally.
        self.chunk_entry = np.repeat(
            np.arange(len(self.entries), dtype=np.int64), [len(e.chunks) for e in self.entries]
        )
        counts = [len(e.sentences) for e in self.entries]
        self.sentence_base = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.sentence_vectors = SentenceVectors(self.entries, self.sentence_base, dimension)
        self.keys = np.concatenate(
            [np.zeros(0, dtype=np.int64)] + [e.chunk_keys for e in self.entries]
        ).astype(np.int64)
        self._key_order = np.argsort(self.keys, kind="stable")
        self._sorted_keys = self.keys[self._key_order]
        self.bm25 = Bm25(self._bm25_parts())
        self.by_path = {e.document.path: e for e in self.entries}
        self.by_source = {e.document.source: e for e in self.entries}

    def _bm25_parts(self) -> list[tuple[Postings, np.ndarray]]:
        """Each segment's postings, with the snapshot row of each of its chunks (-1: removed)."""
        place = {
            id(e): (s, i) for s, seg in enumerate(self.segments) for i, e in enumerate(seg.entries)
        }
        rows = [np.full(len(seg.postings.lengths), -1, dtype=np.int64) for seg in self.segments]
        row = 0
        for entry in self.entries:
            s, i = place[id(entry)]
            start = int(self.segments[s].chunk_starts[i])
            rows[s][start : start + len(entry.chunks)] = np.arange(row, row + len(entry.chunks))
            row += len(entry.chunks)
        return [(seg.postings, r) for seg, r in zip(self.segments, rows, strict=True)]

    @cached_property
    def _held(self) -> frozenset[int]:
        return frozenset(id(e) for e in self.entries)

    def removed(self, segment: Segment) -> list[int]:
        """The positions of `segment`'s entries this snapshot does not hold."""
        return [i for i, e in enumerate(segment.entries) if id(e) not in self._held]

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        """The chunk row of each key, or -1 for keys this snapshot does not hold."""
        if not len(self._sorted_keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted_keys, keys), len(self._sorted_keys) - 1)
        known = self._sorted_keys[at] == keys
        return np.where(known, self._key_order[at], -1)

    def holds(self, keys: np.ndarray) -> np.ndarray:
        """Whether each of `keys` is a chunk of this snapshot."""
        return self.rows_of(np.asarray(keys, dtype=np.int64)) >= 0

    @cached_property
    def distinct_keys(self) -> int:
        """How many different chunk keys (two copies of one file share theirs)."""
        sorted_keys = self._sorted_keys
        return int(len(sorted_keys) and 1 + np.count_nonzero(np.diff(sorted_keys)))

    def chunk_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of these chunk rows."""
        return self.store.get(self.keys[rows])

    @cached_property
    def sentence_count(self) -> int:
        return int(self.sentence_base[-1])

    def document_of(self, row: int) -> Document:
        return self.entries[int(self.chunk_entry[row])].document

    def sentence_rows(self, row: int) -> range:
        """Global rows (into sentence_vectors) of the sentences that make up chunk `row`."""
        chunk = self.chunks[row]
        base = int(self.sentence_base[self.chunk_entry[row]])
        return range(base + chunk.first_sentence, base + chunk.end_sentence)

    def sentence_row_at(self, source: str, start: int) -> int | None:
        """The global row of the sentence of `source` holding offset `start`, if there is one.

        A citation may start inside its sentence: after an opener such as "Since then, ".
        """
        entry = self.by_source.get(source)
        if entry is None:
            return None
        i = bisect.bisect_right([s.start for s in entry.sentences], start) - 1
        if i < 0 or start >= entry.sentences[i].end:
            return None
        return int(self.sentence_base[self.entries.index(entry)]) + i

    def sentence_span(self, sentence_row: int) -> tuple[DocumentEntry, Span]:
        entry_index = int(np.searchsorted(self.sentence_base, sentence_row, side="right") - 1)
        entry = self.entries[entry_index]
        return entry, entry.sentences[sentence_row - int(self.sentence_base[entry_index])]


class SentenceVectors:
    """Every sentence's vector by global row, read from each entry's own array (memory-mapped
    when loaded from disk), so that a snapshot never copies them all into one."""

    def __init__(self, entries: Sequence[DocumentEntry], base: np.ndarray, dimension: int):
        self._entries = entries
        self._base = base
        self.dimension = dimension

    def __len__(self) -> int:
        return int(self._base[-1])

    def __getitem__(self, rows: int | Sequence[int] | np.ndarray) -> np.ndarray:
        single = np.ndim(rows) == 0
        wanted = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if len(wanted) and (wanted.min() < 0 or wanted.max() >= len(self)):
            raise IndexError("sentence row out of range")
        owners = np.searchsorted(self._base, wanted, side="right") - 1
        out = np.empty((len(wanted), self.dimension), dtype=np.float32)
        for owner in np.unique(owners):
            at = owners == owner
            local = wanted[at] - self._base[owner]
            out[at] = self._entries[int(owner)].sentence_vectors[local]
        return out[0] if single else out


def _arrange(
    entries: Sequence[DocumentEntry], previous: Sequence[Segment], *, merge: bool
) -> tuple[Segment, ...]:
    """The segments holding `entries`: those of `previous` still in use, and one new segment
    for entries in none of them, into which small or mostly-removed segments are merged."""
    held = {id(e) for e in entries}
    used = [seg for seg in previous if any(id(e) in held for e in seg.entries)]
    known = {id(e) for seg in used for e in seg.entries}
    fresh = [e for e in entries if id(e) not in known]
    merging: list[Segment] = []
    if merge:
        live = {seg.name: sum(1 for e in seg.entries if id(e) in held) for seg in used}
        merging = [seg for seg in used if live[seg.name] < (1 - MOSTLY_REMOVED) * len(seg.entries)]
        rest = sorted(
            (seg for seg in used if seg not in merging),
            key=lambda seg: int(seg.chunk_starts[-1]),
        )
        while len(rest) + (1 if fresh or merging else 0) > MAX_SEGMENTS:
            merging.append(rest.pop(0))  # the smallest: merging costs what it rewrites
            if len(merging) == 1 and not fresh:
                merging.append(rest.pop(0))
    kept = [seg for seg in used if seg not in merging]
    moving = {id(e) for seg in merging for e in seg.entries}
    new_entries = [e for e in entries if id(e) in moving or id(e) not in known]
    if not new_entries:
        return tuple(kept)
    # The new segment keeps the snapshot's order: its postings are cut from runs of rows of
    # the fresh entries' postings or of a merged segment's.
    source: dict[int, tuple[Postings, int]] = {}
    if fresh:
        built = Postings.build([c.text for e in fresh for c in e.chunks])
        at = 0
        for e in fresh:
            source[id(e)] = (built, at)
            at += len(e.chunks)
    for seg in merging:
        for i, e in enumerate(seg.entries):
            source[id(e)] = (seg.postings, int(seg.chunk_starts[i]))
    runs: list[tuple[Postings, list[np.ndarray]]] = []
    for e in new_entries:
        postings, start = source[id(e)]
        rows = np.arange(start, start + len(e.chunks))
        if runs and runs[-1][0] is postings:
            runs[-1][1].append(rows)
        else:
            runs.append((postings, [rows]))
    merged = Postings.merged([(p, np.concatenate(rows)) for p, rows in runs])
    return (*kept, Segment.of(new_entries, merged))
