"""An immutable view of everything indexed: documents, sentences, chunks, BM25, and which
chunk keys of the (shared) vector store belong to it.

Changing an index builds a new Snapshot and swaps it in, so a question being answered always
sees one consistent state, whatever another thread is adding or removing. The vector store
is shared and changes under it; a snapshot ignores keys it does not know.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from qa.lexical import Bm25
from qa.stores import VectorStore
from qa.types import Chunk, Document, Span


@dataclass(frozen=True, eq=False)
class DocumentEntry:
    """One document and everything derived from it by chunking and embedding."""

    document: Document
    sentences: tuple[Span, ...]
    chunks: tuple[Chunk, ...]
    chunk_keys: np.ndarray  # int64, one per chunk: where its vector is in the store
    sentence_vectors: np.ndarray  # (len(sentences), dimension), float32, normalised


class Snapshot:
    """Entries concatenated into searchable arrays; never modified after construction."""

    def __init__(
        self,
        entries: Sequence[DocumentEntry],
        dimension: int,
        store: VectorStore,
        *,
        bm25: Bm25 | None = None,
    ) -> None:
        self.entries = tuple(entries)
        self.dimension = dimension
        self.store = store
        self.chunks: list[Chunk] = [c for e in self.entries for c in e.chunks]
        # Row of each chunk -> its entry, and where each entry's sentences begin globally.
        self.chunk_entry = np.repeat(
            np.arange(len(self.entries), dtype=np.int64), [len(e.chunks) for e in self.entries]
        )
        counts = [len(e.sentences) for e in self.entries]
        self.sentence_base = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.sentence_vectors = _stack([e.sentence_vectors for e in self.entries], dimension)
        self.keys = np.concatenate(
            [np.zeros(0, dtype=np.int64)] + [e.chunk_keys for e in self.entries]
        ).astype(np.int64)
        self._key_order = np.argsort(self.keys, kind="stable")
        self._sorted_keys = self.keys[self._key_order]
        self.bm25 = bm25 if bm25 is not None else Bm25.build([c.text for c in self.chunks])
        self.by_path = {e.document.path: e for e in self.entries}
        self.by_source = {e.document.source: e for e in self.entries}

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        """The chunk row of each key, or -1 for keys this snapshot does not hold."""
        if not len(self._sorted_keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted_keys, keys), len(self._sorted_keys) - 1)
        known = self._sorted_keys[at] == keys
        return np.where(known, self._key_order[at], -1)

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


def _stack(arrays: Sequence[np.ndarray], dimension: int) -> np.ndarray:
    if not arrays:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(arrays), dtype=np.float32)
