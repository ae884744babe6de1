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
from qa.stored import ChunkTable, Rows, RowsFile, SpanTable, StoredRows
from qa.stores import VectorStore
from qa.types import Chunk, Document, Span

MAX_SEGMENTS = 8  # more, and the smallest are merged: a question looks at each segment's terms
MOSTLY_REMOVED = 0.5  # a segment with more than this share of its documents removed is rewritten


@dataclass(frozen=True, eq=False)
class DocumentEntry:
    """One document and everything derived from it by chunking and embedding."""

    document: Document
    sentences: Sequence[Span]  # a tuple, or a SpanTable when loaded
    chunks: Sequence[Chunk]  # a tuple, or a ChunkTable when loaded
    chunk_keys: np.ndarray  # int64, one per chunk: where its vector is in the store
    # (len(sentences), dimension), float32, normalised; StoredRows (read when indexed) when
    # loaded from disk.
    sentence_vectors: np.ndarray | StoredRows

    def sentence_starts(self) -> Sequence[int]:
        """Where each sentence starts, in order (for bisect)."""
        if isinstance(self.sentences, SpanTable):
            return self.sentences.array[:, 0].tolist()
        return [s.start for s in self.sentences]

    def chunk_sentences(self, n: int) -> tuple[int, int]:
        """The first and one-past-last sentence of chunk `n`, without making the Chunk."""
        if isinstance(self.chunks, ChunkTable):
            first, end = self.chunks.array[n, 3:5]
            return int(first), int(end)
        chunk = self.chunks[n]
        return chunk.first_sentence, chunk.end_sentence

    def chunk_vectors(self) -> np.ndarray:
        """Each chunk's vector: the normalised mean of the vectors of its sentences."""
        starts = self.sentence_starts()
        rows = [
            mean_vector(self.sentence_vectors, self.sentences, starts, c.start, c.end)
            for c in self.chunks
        ]
        return np.array(rows, dtype=np.float32).reshape(len(rows), -1)


def mean_vector(
    vectors: np.ndarray | StoredRows,
    sentences: Sequence[Span],
    starts: Sequence[int],
    start: int,
    end: int,
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
    def chunk_counts(self) -> np.ndarray:
        return np.array([len(e.chunks) for e in self.entries], dtype=np.int64)

    @cached_property
    def sentence_counts(self) -> np.ndarray:
        return np.array([len(e.sentences) for e in self.entries], dtype=np.int64)

    @cached_property
    def chunk_starts(self) -> np.ndarray:
        """Where each entry's chunks begin among the segment's chunks (and where they end)."""
        return np.concatenate([[0], np.cumsum(self.chunk_counts)]).astype(np.int64)

    @cached_property
    def keys(self) -> np.ndarray:
        """The chunk keys of its chunks, in order."""
        parts = [np.zeros(0, dtype=np.int64)] + [e.chunk_keys for e in self.entries]
        return np.concatenate(parts).astype(np.int64)

    @cached_property
    def key_order(self) -> np.ndarray:
        """Its chunk positions by key: a key is found by binary search, once per segment."""
        return np.argsort(self.keys, kind="stable")

    @cached_property
    def sorted_keys(self) -> np.ndarray:
        return self.keys[self.key_order]


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
        # Everything below is built from the segments' own arrays, computed once per segment:
        # a change costs a pass over the entries, not over every chunk in Python.
        place = {
            id(e): (s, i) for s, seg in enumerate(self.segments) for i, e in enumerate(seg.entries)
        }
        where = np.array([place[id(e)] for e in self.entries], dtype=np.int64).reshape(-1, 2)
        chunk_counts = np.zeros(len(self.entries), dtype=np.int64)
        sentence_counts = np.zeros(len(self.entries), dtype=np.int64)
        for s, seg in enumerate(self.segments):
            mine = where[:, 0] == s
            chunk_counts[mine] = seg.chunk_counts[where[mine, 1]]
            sentence_counts[mine] = seg.sentence_counts[where[mine, 1]]
        # Row of each chunk -> its entry, and where each entry's chunks and sentences begin.
        self.chunk_entry = np.repeat(np.arange(len(self.entries), dtype=np.int64), chunk_counts)
        self.chunk_base = np.concatenate([[0], np.cumsum(chunk_counts)]).astype(np.int64)
        self.chunks = ChunkRows(self)
        self.sentence_base = np.concatenate([[0], np.cumsum(sentence_counts)]).astype(np.int64)
        self.sentence_vectors = SentenceVectors(self.entries, self.sentence_base, dimension)
        # The snapshot row of each chunk of each segment (-1: removed).
        self._segment_rows: list[np.ndarray] = []
        self.keys = np.zeros(int(self.chunk_base[-1]), dtype=np.int64)
        for s, seg in enumerate(self.segments):
            mine = np.flatnonzero(where[:, 0] == s)
            rows = np.full(int(seg.chunk_starts[-1]), -1, dtype=np.int64)
            counts = chunk_counts[mine]
            at_segment = _ranges(seg.chunk_starts[where[mine, 1]], counts)
            rows[at_segment] = _ranges(self.chunk_base[mine], counts)
            self.keys[rows[at_segment]] = seg.keys[at_segment]
            self._segment_rows.append(rows)
        parts = zip(self.segments, self._segment_rows, strict=True)
        self.bm25 = Bm25([(seg.postings, rows) for seg, rows in parts])
        self.by_path = {e.document.path: e for e in self.entries}
        self.by_source = {e.document.source: e for e in self.entries}

    @cached_property
    def _held(self) -> frozenset[int]:
        return frozenset(id(e) for e in self.entries)

    def removed(self, segment: Segment) -> list[int]:
        """The positions of `segment`'s entries this snapshot does not hold."""
        return [i for i, e in enumerate(segment.entries) if id(e) not in self._held]

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        """The chunk row of each key, or -1 for keys this snapshot does not hold."""
        keys = np.asarray(keys, dtype=np.int64)
        found = np.full(len(keys), -1, dtype=np.int64)
        for seg, rows in zip(self.segments, self._segment_rows, strict=True):
            if not len(seg.keys):
                continue
            sorted_keys = seg.sorted_keys
            first = np.searchsorted(sorted_keys, keys, side="left")
            last = np.searchsorted(sorted_keys, keys, side="right")
            at = np.minimum(first, len(sorted_keys) - 1)
            row = np.where(last > first, rows[seg.key_order[at]], -1)
            for i in np.flatnonzero((last - first > 1) & (row < 0)):
                # Copies of one file in this segment, the first removed: another may be live.
                live = rows[seg.key_order[first[i] : last[i]]]
                row[i] = live.max()
            found = np.where(found >= 0, found, row)
        return found

    def holds(self, keys: np.ndarray) -> np.ndarray:
        """Whether each of `keys` is a chunk of this snapshot."""
        return self.rows_of(keys) >= 0

    def dropped_keys(self, previous: Snapshot) -> np.ndarray:
        """The keys of `previous`'s chunks that this snapshot no longer uses."""
        gone = [e.chunk_keys for e in previous.entries if id(e) not in self._held]
        keys = np.concatenate([np.zeros(0, dtype=np.int64), *gone])
        return keys[~self.holds(keys)]

    @cached_property
    def distinct_keys(self) -> int:
        """How many different chunk keys: a key is made from the file's sha256 and the chunk's
        number, so two copies of one file share all of theirs."""
        files = {e.document.sha256: len(e.chunk_keys) for e in self.entries}
        return sum(files.values())

    def chunk_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of these chunk rows (as the store keeps them: an IVF store's
        are approximate, like the scores its search gives)."""
        return self.store.get(self.keys[rows])

    @cached_property
    def sentence_count(self) -> int:
        return int(self.sentence_base[-1])

    def document_of(self, row: int) -> Document:
        return self.entries[int(self.chunk_entry[row])].document

    def sentence_rows(self, row: int) -> range:
        """Global rows (into sentence_vectors) of the sentences that make up chunk `row`."""
        at = int(self.chunk_entry[row])
        first, end = self.entries[at].chunk_sentences(row - int(self.chunk_base[at]))
        base = int(self.sentence_base[at])
        return range(base + first, base + end)

    def sentence_row_at(self, source: str, start: int) -> int | None:
        """The global row of the sentence of `source` holding offset `start`, if there is one.

        A citation may start inside its sentence: after an opener such as "Since then, ".
        """
        entry = self.by_source.get(source)
        if entry is None:
            return None
        i = bisect.bisect_right(entry.sentence_starts(), start) - 1
        if i < 0 or start >= entry.sentences[i].end:
            return None
        return int(self.sentence_base[self.entries.index(entry)]) + i

    def sentence_span(self, sentence_row: int) -> tuple[DocumentEntry, Span]:
        entry_index = int(np.searchsorted(self.sentence_base, sentence_row, side="right") - 1)
        entry = self.entries[entry_index]
        return entry, entry.sentences[sentence_row - int(self.sentence_base[entry_index])]


class ChunkRows(Rows[Chunk]):
    """A snapshot's chunks by row, each made when asked for (a loaded index keeps arrays)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __len__(self) -> int:
        return int(self._snapshot.chunk_base[-1])

    def _item(self, row: int) -> Chunk:
        snapshot = self._snapshot
        at = int(snapshot.chunk_entry[row])
        return snapshot.entries[at].chunks[row - int(snapshot.chunk_base[at])]


class SentenceVectors:
    """Every sentence's vector by global row, read from each entry's own array (from the
    segment's file, a few rows at a time, when loaded from disk), so that a snapshot never
    copies them all into one."""

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
        # Rows stored in a segment's file are read together: one call, not one per document.
        from_files: dict[int, tuple[RowsFile, list[np.ndarray], list[np.ndarray]]] = {}
        for owner in np.unique(owners):
            at = np.flatnonzero(owners == owner)
            local = wanted[at] - self._base[owner]
            vectors = self._entries[int(owner)].sentence_vectors
            if isinstance(vectors, StoredRows):
                _, rows_of_file, places = from_files.setdefault(
                    id(vectors.file), (vectors.file, [], [])
                )
                rows_of_file.append(vectors.start + local)
                places.append(at)
            else:
                out[at] = vectors[local]
        for file, rows_of_file, places in from_files.values():
            out[np.concatenate(places)] = file.read(np.concatenate(rows_of_file))
        return out[0] if single else out


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The runs starts[i], starts[i] + 1, ... (counts[i] of them), one after another."""
    total = int(counts.sum())
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, counts)


def _arrange(
    entries: Sequence[DocumentEntry], previous: Sequence[Segment], *, merge: bool
) -> tuple[Segment, ...]:
    """The segments holding `entries`: those of `previous` still in use, and one new segment
    for entries in none of them, into which small or mostly-removed segments are merged."""
    held = {id(e) for e in entries}
    live: dict[str, int] = {}  # how many of each segment's entries are held
    for seg in previous:
        live[seg.name] = sum(1 for e in seg.entries if id(e) in held)
    used = [seg for seg in previous if live[seg.name]]
    known = {id(e) for seg in used for e in seg.entries}
    fresh = [e for e in entries if id(e) not in known]
    merging: list[Segment] = []
    if merge:
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
