"""What a loaded index keeps of its documents: texts read from the segment's file when asked
for, and sentences and chunks as rows of arrays rather than millions of Python objects.

A million-chunk index holds about a gigabyte of text and as many chunk and sentence objects
again; loaded this way it holds their offsets only (docs/scaling.md). Texts are read with
pread from the segment's documents.jsonl, held open so that it stays readable after a later
save deletes it, and the most recently read are cached, up to TEXT_CACHE_CHARS characters in
all; sentence vectors are read the same way, a few rows at a time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np

from qa.types import Chunk, Document, Page, Span

T = TypeVar("T")

TEXT_CACHE_CHARS = 32_000_000  # texts kept after reading: a question reads a few documents


class DocumentsFile:
    """documents.jsonl of one segment: one JSON row per document, each read when asked for.

    Read with pread, not a memory map: pages a map has touched count in this process's
    resident memory for as long as it runs; read this way they stay in the kernel's cache.
    The file is held open, so it stays readable after a later save deletes it.
    """

    def __init__(self, path: Path) -> None:
        self._key = next(_file_numbers)  # for the cache: never reused, unlike id()
        self._path = path
        self._fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.close(self._fd)

    def rows(self) -> Iterator[tuple[dict[str, object], int, int]]:
        """Each row, parsed, with where its line starts and ends in the file."""
        at = 0
        with open(self._path, "rb") as lines:
            for line in lines:
                end = at + len(line.rstrip(b"\n"))
                yield json.loads(line), at, end
                at += len(line)

    def text(self, start: int, end: int) -> str:
        key = (self._key, start)
        with _cache_lock:
            text = _cache.get(key)
            if text is not None:
                _cache.move_to_end(key)
                return text
        text = str(json.loads(os.pread(self._fd, end - start, start))["text"])
        _remember(key, text)
        return text


_file_numbers = itertools.count()
_cache: OrderedDict[tuple[int, int], str] = OrderedDict()
_cache_chars = 0
_cache_lock = threading.Lock()


def _remember(key: tuple[int, int], text: str) -> None:
    global _cache_chars
    with _cache_lock:
        if key in _cache:
            return
        _cache[key] = text
        _cache_chars += len(text)
        while _cache_chars > TEXT_CACHE_CHARS and len(_cache) > 1:
            _, dropped = _cache.popitem(last=False)
            _cache_chars -= len(dropped)


class StoredDocument(Document):
    """A document of a loaded index: its text is read from the segment when asked for."""

    __slots__ = ("_chars", "_file", "_row")
    _chars: int
    _file: DocumentsFile
    _row: tuple[int, int]

    def __new__(cls, **fields: object) -> Document:  # type: ignore[misc]
        if "text" in fields:  # dataclasses.replace(document, source=...): a plain copy
            return Document(**fields)  # type: ignore[arg-type]
        return super().__new__(cls)

    def __init__(
        self,
        *,
        source: str,
        path: str,
        sha256: str,
        pages: tuple[Page, ...],
        file: DocumentsFile,
        row: tuple[int, int],
        chars: int,
    ) -> None:
        for name, value in (("source", source), ("path", path), ("sha256", sha256)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "pages", pages)
        object.__setattr__(self, "_file", file)
        object.__setattr__(self, "_row", row)
        object.__setattr__(self, "_chars", chars)

    @property
    def text(self) -> str:
        return self._file.text(*self._row)

    @property
    def chars(self) -> int:
        return self._chars

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (self.source, self.path, self.sha256, self.pages, self.text) == (
            other.source,
            other.path,
            other.sha256,
            other.pages,
            other.text,
        )

    __hash__ = Document.__hash__

    def __repr__(self) -> str:
        return f"StoredDocument(source={self.source!r}, chars={self._chars})"

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (sent to another process) as a plain document with its text.
        return (Document, (self.source, self.path, self.text, self.sha256, self.pages))


class Rows(Sequence[T]):
    """A sequence whose items are made from numbered rows when asked for: indexing by an int
    (negative counts from the end) or a slice, as a tuple would."""

    __slots__ = ()

    def _item(self, n: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self._item(n) for n in range(*i.indices(len(self)))]
        n = int(i) + len(self) if i < 0 else int(i)
        if not 0 <= n < len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        return self._item(n)


class SpanTable(Rows[Span]):
    """A document's sentences as an (n, 2) array of [start, end) offsets."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def _item(self, n: int) -> Span:
        start, end = self.array[n]
        return Span(int(start), int(end))

    def __iter__(self) -> Iterator[Span]:
        for start, end in self.array.tolist():
            yield Span(start, end)


class RowsFile:
    """A .npy file of float32 rows (sentence vectors), read a few rows at a time with pread,
    for the reason DocumentsFile gives; held open, so it outlives a save that deletes it."""

    def __init__(self, path: Path) -> None:
        header = np.load(path, mmap_mode="r")  # for its shape and where the rows begin
        if header.dtype != np.float32 or header.ndim != 2 or not header.flags.c_contiguous:
            raise ValueError(f"{path.name} is not a table of float32 rows")
        self.rows, self.dimension = (int(n) for n in header.shape)
        self._offset = int(header.offset)
        del header
        self._row_bytes = 4 * self.dimension
        self._fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.close(self._fd)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The rows numbered `rows` (any order), one read for each run of consecutive rows."""
        wanted = np.asarray(rows, dtype=np.int64)
        if len(wanted) and (wanted.min() < 0 or wanted.max() >= self.rows):
            raise IndexError("row out of range")
        ordered = len(wanted) < 2 or bool((np.diff(wanted) > 0).all())
        if ordered:
            unique, back = wanted, None
        else:
            unique, back = np.unique(wanted, return_inverse=True)
        out = np.empty((len(unique), self.dimension), dtype=np.float32)
        breaks = np.flatnonzero(np.diff(unique) != 1) + 1
        for first, end in zip(
            np.concatenate([[0], breaks]), np.concatenate([breaks, [len(unique)]]), strict=True
        ):
            size = int(end - first) * self._row_bytes
            at = self._offset + int(unique[first]) * self._row_bytes
            data = os.pread(self._fd, size, at)
            if len(data) != size:
                raise OSError(f"short read from a vectors file ({len(data)} of {size} bytes)")
            out[first:end] = np.frombuffer(data, dtype=np.float32).reshape(-1, self.dimension)
        return out if back is None else out[back.reshape(-1)]


class StoredRows:
    """One document's sentence vectors: rows start..start+count of a RowsFile, read when
    indexed (`vectors[rows]`) or whole (`np.asarray(vectors)`)."""

    __slots__ = ("count", "file", "start")

    def __init__(self, file: RowsFile, start: int, count: int) -> None:
        self.file, self.start, self.count = file, start, count

    @property
    def shape(self) -> tuple[int, int]:
        return (self.count, self.file.dimension)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: Any) -> np.ndarray:
        local = np.arange(self.count)[index]
        if np.ndim(local) == 0:
            return self.file.read(np.array([self.start + int(local)]))[0]
        return self.file.read(self.start + np.asarray(local, dtype=np.int64))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self.file.read(np.arange(self.start, self.start + self.count))
        return rows if dtype is None else rows.astype(dtype)


def span_array(sentences: Sequence[Span]) -> np.ndarray:
    """Sentences as an (n, 2) int64 array of [start, end)."""
    if isinstance(sentences, SpanTable):
        return np.asarray(sentences.array, dtype=np.int64)
    return np.array([[s.start, s.end] for s in sentences], dtype=np.int64).reshape(-1, 2)


CHUNK_COLUMNS = ("start", "end", "page", "first_sentence", "end_sentence")  # page -1: none


class ChunkTable(Rows[Chunk]):
    """A document's chunks as rows of CHUNK_COLUMNS; each Chunk is made when asked for."""

    __slots__ = ("array", "document")

    def __init__(self, document: Document, array: np.ndarray) -> None:
        self.document = document
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def _item(self, n: int) -> Chunk:
        start, end, page, first, last = (int(x) for x in self.array[n])
        source = self.document.source
        return Chunk(
            id=f"{source}#{n}",
            source=source,
            start=start,
            end=end,
            text=self.document.text[start:end],
            page=None if page < 0 else page,
            first_sentence=first,
            end_sentence=last,
        )


def chunk_row(chunk: Chunk) -> tuple[int, int, int, int, int]:
    return (
        chunk.start,
        chunk.end,
        -1 if chunk.page is None else chunk.page,
        chunk.first_sentence,
        chunk.end_sentence,
    )
