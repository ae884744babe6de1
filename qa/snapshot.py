"""An immutable view of everything indexed: documents, sentences, chunks, BM25, and which
chunk keys of the (shared) vector store belong to it.

Changing an index builds a new Snapshot and swaps it in, so a question being answered always
sees one consistent state, whatever another thread is adding or removing. The vector store
is shared and changes under it; a snapshot ignores keys it does not know.

Documents live in segments: the documents embedded (or merged) together, saved as one
folder, with their own BM25 postings. A snapshot holds each segment but its removed
documents (a Holding), one after another: documents, chunk rows and sentence rows are in
that order. A change (`Snapshot.changed`) makes a segment of its new documents, marks the
documents it drops as removed in theirs, and hands every other Holding on as it is, so it
costs what it changes, not what the index holds; now and then small or mostly-removed
segments are merged into one.
"""

from __future__ import annotations

import bisect
import os
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, chain, pairwise

import numpy as np

from qa.layered import Layered
from qa.lexical import Bm25, Held, Postings
from qa.stored import ChunkTable, Rows, RowsFile, SpanTable, StoredRows
from qa.stores import VectorStore
from qa.types import Chunk, Document, Span

# Merging, in tiers of size (as in an LSM tree): the new segment of a change takes in each
# smallest segment at most MERGE_TIER times its own size, as long as it stays within
# MERGED_SHARE of the index (or MERGED_MIN chunks). A document is then rewritten a few times
# in all, and large segments are left alone.
MERGE_TIER = 4
MERGED_SHARE = 0.25
MERGED_MIN = 50_000
MAX_SEGMENTS = 12  # more, and the smallest are merged: a question looks at each segment's terms
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

    @cached_property
    def positions(self) -> dict[int, int]:
        """Where each of its entries is, by the entry's id (made at the first change)."""
        return {id(e): i for i, e in enumerate(self.entries)}


def new_segment_name() -> str:
    return f"seg-{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(5).hex()}"


@dataclass(frozen=True, eq=False)
class Holding:
    """A segment as a snapshot holds it: all its entries but the removed ones. A change that
    does not touch it hands it to the next snapshot as it is, with all computed from it."""

    segment: Segment
    removed: frozenset[int] = frozenset()  # positions of its entries the snapshot lacks

    def without(self, positions: set[int]) -> Holding:
        return Holding(self.segment, self.removed | positions)

    @cached_property
    def held(self) -> np.ndarray:
        """The positions of the entries held, in order."""
        live = np.ones(len(self.segment.entries), dtype=bool)
        live[sorted(self.removed)] = False
        return np.flatnonzero(live)

    @cached_property
    def entries(self) -> tuple[DocumentEntry, ...]:
        entries = self.segment.entries
        if not self.removed:
            return entries
        # Runs between the removed ones, sliced whole: no Python step per entry.
        cuts = [-1, *sorted(self.removed), len(entries)]
        return tuple(chain.from_iterable(entries[a + 1 : b] for a, b in pairwise(cuts)))

    @cached_property
    def chunk_counts(self) -> np.ndarray:
        return self.segment.chunk_counts[self.held]

    @cached_property
    def sentence_counts(self) -> np.ndarray:
        return self.segment.sentence_counts[self.held]

    @cached_property
    def chunk_starts(self) -> list[int]:
        """Where each held entry's chunks begin among the held chunks, and where they end,
        as Segment.chunk_starts is for all its entries (a list: for bisect)."""
        return list(accumulate(self.chunk_counts.tolist(), initial=0))

    @cached_property
    def chunks(self) -> Held:
        """The segment's chunks held (for BM25 and for finding a chunk's row)."""
        if not self.removed:
            return Held(self.segment.postings)
        starts = self.segment.chunk_starts[self.held]
        return Held(self.segment.postings, _ranges(starts, self.chunk_counts))

    def position(self, entry: DocumentEntry) -> int | None:
        """Where `entry` is in the segment, if it is held."""
        at = self.segment.positions.get(id(entry))
        return None if at is None or at in self.removed else at


@dataclass(frozen=True)
class _Names:
    """A snapshot's entries by path and by source name, and how many entries hold each file
    (by sha256). A change adds a layer of what it changes: no pass over every entry."""

    by_path: Layered[str, DocumentEntry]
    by_source: Layered[str, DocumentEntry]
    copies: Layered[str, int]  # sha256 -> how many entries hold that file
    distinct_keys: int  # chunk keys of the distinct files

    @classmethod
    def of(cls, entries: Sequence[DocumentEntry]) -> _Names:
        return cls(Layered(), Layered(), Layered(), 0).changed((), entries)

    def changed(self, drop: Sequence[DocumentEntry], add: Sequence[DocumentEntry]) -> _Names:
        paths = {e.document.path for e in drop if self.by_path.get(e.document.path) is e}
        sources = {e.document.source for e in drop if self.by_source.get(e.document.source) is e}
        copies: dict[str, int] = {}
        keys: dict[str, int] = {}  # sha256 -> how many chunk keys that file has
        for entry, step in [*((e, -1) for e in drop), *((e, 1) for e in add)]:
            sha256 = entry.document.sha256
            copies[sha256] = copies.get(sha256, self.copies.get(sha256, 0)) + step
            keys[sha256] = len(entry.chunk_keys)
        distinct = self.distinct_keys
        for sha256, count in copies.items():
            was = self.copies.get(sha256, 0)
            distinct += keys[sha256] * ((count > 0) - (was > 0))
        return _Names(
            self.by_path.changed({e.document.path: e for e in add}, paths),
            self.by_source.changed({e.document.source: e for e in add}, sources),
            self.copies.changed(
                {h: n for h, n in copies.items() if n}, {h for h, n in copies.items() if not n}
            ),
            distinct,
        )


class Snapshot:
    """Segments as held, their entries one after another, made searchable; never modified
    after construction. `changed` derives the next one, at the cost of what changes."""

    def __init__(
        self,
        holdings: Sequence[Holding],
        dimension: int,
        store: VectorStore,
        *,
        names: _Names | None = None,
    ) -> None:
        self.holdings = tuple(h for h in holdings if h.entries)
        self.dimension = dimension
        self.store = store
        sizes = [len(h.entries) for h in self.holdings]
        self._entry_starts = [0, *accumulate(sizes)][:-1]  # where each holding's entries begin
        self.entries = Entries(self.holdings, self._entry_starts)
        empty = np.zeros(0, dtype=np.int64)
        chunk_counts = np.concatenate([empty, *(h.chunk_counts for h in self.holdings)])
        sentence_counts = np.concatenate([empty, *(h.sentence_counts for h in self.holdings)])
        # Where each entry's chunks and sentences begin (and, last, how many in all).
        self.chunk_base = np.concatenate([[0], np.cumsum(chunk_counts)]).astype(np.int64)
        self.sentence_base = np.concatenate([[0], np.cumsum(sentence_counts)]).astype(np.int64)
        self._row_starts = self.chunk_base[self._entry_starts].tolist()  # and its chunk rows
        self.chunks = ChunkRows(self)
        self.sentence_vectors = SentenceVectors(self.entries, self.sentence_base, dimension)
        parts = zip(self.holdings, self._row_starts, strict=True)
        self.bm25 = Bm25([(h.chunks, base) for h, base in parts])
        self._names = names if names is not None else _Names.of(self.entries)
        self.by_path = self._names.by_path
        self.by_source = self._names.by_source
        self.distinct_keys = self._names.distinct_keys
        # The snapshot this one was derived from, and the entries it dropped from it.
        self._change: tuple[weakref.ref[Snapshot], tuple[DocumentEntry, ...]] | None = None

    @classmethod
    def of(cls, entries: Sequence[DocumentEntry], dimension: int, store: VectorStore) -> Snapshot:
        """A snapshot of `entries`, in one new segment."""
        entries = tuple(entries)
        return cls([Holding(Segment.of(entries))] if entries else [], dimension, store)

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(h.segment for h in self.holdings)

    def changed(
        self,
        *,
        drop: Sequence[DocumentEntry] = (),
        add: Sequence[DocumentEntry] = (),
        merge: bool = True,
    ) -> Snapshot:
        """This snapshot without the entries `drop` and with `add` (in a new segment, last).
        With `merge`, small or mostly-removed segments are merged into that new one."""
        drop, add = tuple(drop), tuple(add)
        removing: dict[int, set[int]] = {}
        for entry in drop:
            for i, holding in enumerate(self.holdings):
                at = holding.position(entry)
                if at is not None:
                    removing.setdefault(i, set()).add(at)
                    break
            else:
                raise ValueError(f"{entry.document.source} is not in this snapshot")
        holdings = [
            h.without(removing[i]) if i in removing else h for i, h in enumerate(self.holdings)
        ]
        holdings = _arranged([h for h in holdings if h.entries], add, merge=merge)
        snapshot = Snapshot(
            holdings, self.dimension, self.store, names=self._names.changed(drop, add)
        )
        snapshot._change = (weakref.ref(self), drop)
        return snapshot

    def index_of(self, entry: DocumentEntry) -> int:
        """Where `entry` is in `entries`."""
        for holding, base in zip(self.holdings, self._entry_starts, strict=True):
            at = holding.position(entry)
            if at is not None:
                return base + int(np.searchsorted(holding.held, at))
        raise ValueError(f"{entry.document.source} is not in this snapshot")

    def entry_at(self, rows: np.ndarray) -> np.ndarray:
        """The entry (its place in `entries`) of each chunk row."""
        return np.searchsorted(self.chunk_base, rows, side="right") - 1

    def entry_of(self, row: int) -> int:
        """The entry of one chunk row: found with bisect in plain lists (the holding, then
        within it), many times faster than numpy for one value."""
        at = bisect.bisect_right(self._row_starts, row) - 1
        holding = self.holdings[at]
        local = bisect.bisect_right(holding.chunk_starts, row - self._row_starts[at]) - 1
        return self._entry_starts[at] + local

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        """The chunk row of each key, or -1 for keys this snapshot does not hold."""
        keys = np.asarray(keys, dtype=np.int64)
        found = np.full(len(keys), -1, dtype=np.int64)
        for holding, base in zip(self.holdings, self._row_starts, strict=True):
            seg = holding.segment
            if not len(seg.keys):
                continue
            sorted_keys = seg.sorted_keys
            first = np.searchsorted(sorted_keys, keys, side="left")
            last = np.searchsorted(sorted_keys, keys, side="right")
            offsets = holding.chunks.offsets  # None: every chunk held, in order
            local = seg.key_order[np.minimum(first, len(sorted_keys) - 1)]
            at = local if offsets is None else offsets[local]
            row = np.where((last > first) & (at >= 0), at + base, -1)
            for i in np.flatnonzero((last - first > 1) & (row < 0)):
                # Copies of one file in this segment, the first removed: another may be held.
                assert offsets is not None
                best = int(offsets[seg.key_order[first[i] : last[i]]].max())
                row[i] = best + base if best >= 0 else -1
            found = np.where(found >= 0, found, row)
        return found

    def holds(self, keys: np.ndarray) -> np.ndarray:
        """Whether each of `keys` is a chunk of this snapshot."""
        return self.rows_of(keys) >= 0

    def dropped_keys(self, previous: Snapshot) -> np.ndarray:
        """The keys of `previous`'s chunks that this snapshot no longer uses. A key is made
        from its file's sha256, so it is still used while a copy of that file is held."""
        if self._change is not None and self._change[0]() is previous:
            gone: Sequence[DocumentEntry] = self._change[1]
            self._change = None  # asked once, by the commit: the dropped entries may go
        else:
            held = {id(e) for e in self.entries}
            gone = [e for e in previous.entries if id(e) not in held]
        keys = [e.chunk_keys for e in gone if e.document.sha256 not in self._names.copies]
        return np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *keys]))

    @cached_property
    def keys(self) -> np.ndarray:
        """The chunk key of every row (read in full only when loading and pruning)."""
        return self.keys_of(np.arange(len(self.chunks)))

    def keys_of(self, rows: np.ndarray) -> np.ndarray:
        """The chunk keys of these rows."""
        rows = np.asarray(rows, dtype=np.int64)
        keys = np.empty(len(rows), dtype=np.int64)
        owners = np.searchsorted(self._row_starts, rows, side="right") - 1
        for owner in np.unique(owners):
            holding = self.holdings[int(owner)]
            mine = owners == owner
            local = rows[mine] - self._row_starts[int(owner)]
            held = holding.chunks.chunks
            keys[mine] = holding.segment.keys[local if held is None else held[local]]
        return keys

    def chunk_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of these chunk rows (as the store keeps them: an IVF store's
        are approximate, like the scores its search gives)."""
        return self.store.get(self.keys_of(rows))

    @cached_property
    def sentence_count(self) -> int:
        return int(self.sentence_base[-1])

    def document_of(self, row: int) -> Document:
        return self.entries[self.entry_of(row)].document

    def sentence_rows(self, row: int) -> range:
        """Global rows (into sentence_vectors) of the sentences that make up chunk `row`."""
        at = self.entry_of(row)
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
        return int(self.sentence_base[self.index_of(entry)]) + i

    def entry_of_sentence(self, sentence_row: int) -> int:
        """The entry (its place in `entries`) of one global sentence row."""
        return int(np.searchsorted(self.sentence_base, sentence_row, side="right") - 1)

    def sentence_span(self, sentence_row: int) -> tuple[DocumentEntry, Span]:
        entry_index = self.entry_of_sentence(sentence_row)
        entry = self.entries[entry_index]
        return entry, entry.sentences[sentence_row - int(self.sentence_base[entry_index])]


class Entries(Rows[DocumentEntry]):
    """A snapshot's entries: its holdings' one after another, never copied into one tuple
    (a change would copy tens of thousands of them)."""

    def __init__(self, holdings: Sequence[Holding], bases: list[int]) -> None:
        self._holdings = holdings
        self._bases = bases  # where each holding's entries begin
        self._size = sum(len(h.entries) for h in holdings)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[DocumentEntry]:
        return chain.from_iterable(h.entries for h in self._holdings)

    def _item(self, n: int) -> DocumentEntry:
        at = bisect.bisect_right(self._bases, n) - 1
        return self._holdings[at].entries[n - self._bases[at]]


class ChunkRows(Rows[Chunk]):
    """A snapshot's chunks by row, each made when asked for (a loaded index keeps arrays)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __len__(self) -> int:
        return int(self._snapshot.chunk_base[-1])

    def _item(self, row: int) -> Chunk:
        snapshot = self._snapshot
        at = snapshot.entry_of(row)
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


def _arranged(
    holdings: Sequence[Holding], fresh: Sequence[DocumentEntry], *, merge: bool
) -> list[Holding]:
    """`holdings`, and one new segment (last) of the `fresh` entries, into which small or
    mostly-removed segments are merged (their entries first, in order) when `merge`."""
    merging: list[Holding] = []
    if merge:
        merging = [
            h for h in holdings if len(h.entries) < (1 - MOSTLY_REMOVED) * len(h.segment.entries)
        ]
        rest = sorted((h for h in holdings if h not in merging), key=lambda h: h.chunks.size)
        size = sum(len(e.chunks) for e in fresh) + sum(h.chunks.size for h in merging)
        limit = max(MERGED_SHARE * sum(h.chunks.size for h in holdings), MERGED_MIN)
        while (
            (fresh or merging)
            and rest
            and rest[0].chunks.size <= MERGE_TIER * max(size, 1)
            and size + rest[0].chunks.size <= limit
        ):
            size += rest[0].chunks.size
            merging.append(rest.pop(0))
        while len(rest) + (1 if fresh or merging else 0) > MAX_SEGMENTS:
            merging.append(rest.pop(0))  # the smallest: merging costs what it rewrites
            if len(merging) == 1 and not fresh:
                merging.append(rest.pop(0))
    kept = [h for h in holdings if h not in merging]
    if not fresh and not merging:
        return kept
    # The new segment's postings are cut from the merged segments' and the fresh entries'.
    parts = [(h.segment.postings, _held_chunks(h)) for h in holdings if h in merging]
    if fresh:
        built = Postings.build([c.text for e in fresh for c in e.chunks])
        parts.append((built, np.arange(len(built.lengths))))
    postings = built if fresh and len(parts) == 1 else Postings.merged(parts)
    entries = [*chain.from_iterable(h.entries for h in holdings if h in merging), *fresh]
    return [*kept, Holding(Segment.of(entries, postings))]


def _held_chunks(holding: Holding) -> np.ndarray:
    held = holding.chunks.chunks
    return np.arange(holding.chunks.size) if held is None else held
