"""The write path: files in, a new snapshot committed, and a report of what changed.

    find files (qa.documents) -> read them, a batch at a time
      -> cut into chunks and sentences (qa.chunking) -> embed every distinct sentence once;
         a chunk's vector is the mean of its sentences' vectors
      -> commit: vectors into the store, the snapshot to disk (qa.storage), then shown

`Indexer.run` does the reading, cutting and embedding; the commit itself is the index's
(`qa.updating.commit`), called at each checkpoint and at the end, so that what a question
sees is always on disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.chunking import SPLITTER_VERSION, ChunkSettings, chunk_document, split_sentences
from qa.documents import FileNotice, FoundFile, no_documents, read_files
from qa.embeddings import Embedder
from qa.errors import SkippedFileWarning
from qa.snapshot import DocumentEntry, Snapshot
from qa.stores import VectorStore, chunk_key
from qa.text import unique_name
from qa.types import Document

PathLike = str | os.PathLike[str]
BATCH_CHARACTERS = 200_000  # text read and embedded at a time: bounds the memory a build needs
REPORT_CHARACTERS = 20_000  # embedded at a time when progress is shown: about 2 s of model
CHECKPOINT_SECONDS = 60.0  # a long build commits its work this often, so it can resume

# Told how many texts of a batch are embedded, and of how many.
Embedded = Callable[[int, int], None]
# Chunk keys and their vectors, to add to the store.
Vectors = tuple[np.ndarray, np.ndarray]
# Makes a snapshot the index (with its roots), after adding the vectors to the store.
Commit = Callable[[Snapshot, list[str], Vectors], None]


@dataclass(slots=True)
class IndexReport:
    """What one indexing run changed, by source name."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[FileNotice] = field(default_factory=list)
    repaired: list[FileNotice] = field(default_factory=list)
    embedded_texts: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.removed)} removed",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts) + f" ({self.embedded_texts} texts embedded in {self.seconds:.1f} s)"


@dataclass(frozen=True, slots=True)
class Indexer:
    """How documents become entries of a snapshot: cut with `chunking`, embedded by
    `embedder`, their chunk vectors bound for `store`.

    With a `progress_folder`, a batch larger than BATCH_CHARACTERS (one large file) is
    embedded a slice at a time, and the vectors done so far are kept there: an interrupted
    run resumes inside the file instead of starting it again. The index's next save clears it.
    """

    embedder: Embedder
    chunking: ChunkSettings
    store: VectorStore
    progress_folder: Path | None = None
    # Told (texts embedded, texts in the batch) as embedding goes: the page's progress line.
    on_embedded: Embedded | None = None

    def run(
        self,
        start: Snapshot,
        paths: Sequence[PathLike],
        files: list[FoundFile],
        *,
        keep_others: bool,
        roots: list[str],
        progress: bool,
        max_file_bytes: int,
        commit: Commit,
        checkpoints: bool,
    ) -> IndexReport:
        """Read, embed and commit `files` a batch at a time, starting from `start`.

        Memory holds one batch of new text and vectors, not the whole corpus's. With
        `checkpoints`, the work so far is committed every CHECKPOINT_SECONDS: an interrupted
        build keeps it, and running it again embeds only what is left (unchanged files are
        recognised by hash). Documents of `start` not among `files` are dropped unless
        `keep_others`.
        """
        from tqdm import tqdm

        started = last_checkpoint = time.perf_counter()
        latest = start  # the last committed snapshot: its segments are on disk already
        # What changes since `latest`: its entries to drop, and new entries by path.
        dropping: list[DocumentEntry] = []
        adding: dict[str, DocumentEntry] = {}
        named: dict[str, str] = {}  # source name -> path, of the files read in this run
        report = IndexReport()
        seen: set[str] = set()
        batch: list[Document] = []
        added: list[Vectors] = []
        embedded = 0

        def owner(source: str) -> str | None:
            """The path of the file that has the name `source`, if one does."""
            if source in named:
                return named[source]
            entry = start.by_source.get(source) if keep_others else None
            return entry.document.path if entry is not None else None

        def put(path: str, entry: DocumentEntry) -> None:
            if adding.pop(path, None) is None and path in latest.by_path:
                dropping.append(latest.by_path[path])
            adding[path] = entry

        def flush() -> None:
            nonlocal embedded, batch
            entries, count, vectors = self.embed(batch)
            for path, entry in entries.items():
                put(path, entry)
            added.append(vectors)
            embedded += count
            batch = []

        def changed() -> Snapshot:
            nonlocal dropping, adding
            snapshot = latest.changed(drop=dropping, add=list(adding.values()))
            dropping, adding = [], {}
            return snapshot

        reading = read_files(files, max_file_bytes=max_file_bytes)
        for document, notice in tqdm(
            reading,
            total=len(files),
            desc="Indexing",
            unit="file",
            disable=not progress,
            leave=False,
        ):
            if document is None:
                assert notice is not None
                report.skipped.append(notice)
                warnings.warn(f"Skipped {notice}", SkippedFileWarning, stacklevel=4)
                continue
            if notice is not None:
                report.repaired.append(notice)
            document = with_unique_source(document, owner)
            named[document.source] = document.path
            seen.add(document.path)
            previous = start.by_path.get(document.path)
            if previous is not None and previous.document.sha256 == document.sha256:
                entry = renamed(previous, document.source)
                if entry is not previous:
                    put(document.path, entry)
                report.unchanged.append(document.source)
                continue
            (report.updated if previous else report.added).append(document.source)
            batch.append(document)
            if sum(len(d.text) for d in batch) >= BATCH_CHARACTERS:
                flush()
                if checkpoints and time.perf_counter() - last_checkpoint >= CHECKPOINT_SECONDS:
                    latest = changed()
                    commit(latest, roots, joined(added, start.dimension))
                    added, last_checkpoint = [], time.perf_counter()
        if not seen:
            raise no_documents(paths, report.skipped)
        if batch:
            flush()
        if not keep_others:
            gone = [e for e in latest.entries if e.document.path not in seen]
            report.removed.extend(e.document.source for e in gone)
            dropping.extend(gone)
        commit(changed(), sorted(set(roots)), joined(added, start.dimension))
        report.embedded_texts = embedded
        report.seconds = time.perf_counter() - started
        return report

    def embed(self, documents: list[Document]) -> tuple[dict[str, DocumentEntry], int, Vectors]:
        """Chunk documents and embed their sentences, each distinct sentence once.

        A chunk's vector is the normalised mean of its sentences' vectors: the text is encoded
        once, as a bare encoder would, and on the SQuAD sample retrieval and answers are as
        good as with every chunk encoded again (docs/benchmarks.md).
        Returns the entries, how many texts were embedded, and the chunk keys and vectors
        for the store.
        """
        pieces = []
        texts: dict[str, int] = {}
        for document in documents:
            sentences = split_sentences(document.text, max_length=self.chunking.size)
            chunks = chunk_document(document, self.chunking, sentences)
            sentence_ids = [
                texts.setdefault(document.text[s.start : s.end], len(texts)) for s in sentences
            ]
            pieces.append((document, sentences, chunks, sentence_ids))
        dimension = self.embedder.dimension
        vectors = self.embed_texts(list(texts))
        entries: dict[str, DocumentEntry] = {}
        settings = self.key_settings()
        for document, sentences, chunks, sentence_ids in pieces:
            entries[document.path] = DocumentEntry(
                document=document,
                sentences=tuple(sentences),
                chunks=tuple(chunks),
                chunk_keys=np.array(
                    [chunk_key(document.sha256, n, settings) for n in range(len(chunks))],
                    dtype=np.int64,
                ),
                sentence_vectors=vectors[sentence_ids].reshape(-1, dimension),
            )
        added = list(entries.values())
        keys = np.concatenate([np.zeros(0, dtype=np.int64)] + [e.chunk_keys for e in added])
        stacked = np.concatenate(
            [np.zeros((0, dimension), dtype=np.float32)] + [e.chunk_vectors() for e in added]
        )
        return entries, len(texts), (keys, stacked)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """The vectors of `texts`; a large batch a slice at a time, resumably, and a slice of
        REPORT_CHARACTERS at a time when someone follows the progress (see the class)."""
        dimension = self.embedder.dimension
        resumable = self.progress_folder is not None and sum(map(len, texts)) > BATCH_CHARACTERS
        if not resumable and self.on_embedded is None:
            return self.embedder.embed(texts, progress=False).reshape(-1, dimension)
        path = None
        if resumable:
            assert self.progress_folder is not None
            digest = hashlib.blake2b(self.key_settings().encode(), digest_size=16)
            for text in texts:
                digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
            path = self.progress_folder / f"{digest.hexdigest()}.npy"
        parts = [_read_progress(path, dimension, len(texts))]
        at = len(parts[0])
        step = BATCH_CHARACTERS if self.on_embedded is None else REPORT_CHARACTERS
        unsaved = 0  # characters embedded since the progress was last kept
        while at < len(texts):
            if self.on_embedded is not None:
                self.on_embedded(at, len(texts))
            end, size = at, 0
            while end < len(texts) and (size < step or end == at):
                size += len(texts[end])
                end += 1
            parts.append(self.embedder.embed(texts[at:end], progress=False).reshape(-1, dimension))
            at, unsaved = end, unsaved + size
            if path is not None and at < len(texts) and unsaved >= BATCH_CHARACTERS:
                _write_progress(path, np.concatenate(parts))
                unsaved = 0
        if self.on_embedded is not None:
            self.on_embedded(len(texts), len(texts))
        return np.concatenate(parts)

    def key_settings(self) -> str:
        # A chunk's key depends on its file's content and on how it was cut and embedded.
        c = self.chunking
        return f"{c.size}/{c.overlap}/{SPLITTER_VERSION}/{self.embedder.name}"


def _read_progress(path: Path | None, dimension: int, most: int) -> np.ndarray:
    """The vectors an interrupted run kept for this batch, if they fit it."""
    if path is None:
        return np.zeros((0, dimension), dtype=np.float32)
    try:
        done = np.load(path)
    except (OSError, ValueError):
        return np.zeros((0, dimension), dtype=np.float32)
    if done.ndim != 2 or done.shape[1] != dimension or len(done) > most:
        return np.zeros((0, dimension), dtype=np.float32)
    return done.astype(np.float32)


def _write_progress(path: Path, vectors: np.ndarray) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp.npy")
    np.save(temp, vectors)
    os.replace(temp, path)  # whole or not at all: a kill mid-write leaves the previous one


def prune(store: VectorStore, snapshot: Snapshot) -> None:
    """Drop stored vectors no chunk of `snapshot` uses: left by a crash between storing
    and saving, by a detached copy, or kept in a save for questions in flight."""
    if len(store) > snapshot.distinct_keys:
        store.remove(np.setdiff1d(store.keys(), snapshot.keys))


def joined(parts: list[Vectors], dimension: int) -> Vectors:
    """Keys and vectors of several batches as one pair of arrays."""
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dimension), dtype=np.float32)
    return np.concatenate([k for k, _ in parts]), np.concatenate([v for _, v in parts])


def with_unique_source(document: Document, owner: Callable[[str], str | None]) -> Document:
    """`document`, renamed "notes (2).md" when another file already has its source name
    (`owner` tells which file has a name, if any).

    Two different files may share a name ("a/notes.md", "b/notes.md" added separately).
    """
    source = unique_name(document.source, lambda s: owner(s) not in (None, document.path))
    return document if source == document.source else dataclasses.replace(document, source=source)


def renamed(entry: DocumentEntry, source: str) -> DocumentEntry:
    """`entry` with its document and chunks under the source name `source`."""
    if entry.document.source == source:
        return entry
    chunks = tuple(
        dataclasses.replace(c, source=source, id=f"{source}#{i}")
        for i, c in enumerate(entry.chunks)
    )
    return dataclasses.replace(
        entry, document=dataclasses.replace(entry.document, source=source), chunks=chunks
    )
