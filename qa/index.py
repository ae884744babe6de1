"""Index: documents, their chunks and vectors, BM25; kept in sync with files, saved atomically."""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answer import AnswerSettings, compose_answer
from qa.chunking import SPLITTER_VERSION, ChunkSettings, chunk_document, split_sentences
from qa.documents import (
    DEFAULT_MAX_FILE_BYTES,
    FileNotice,
    FoundFile,
    find_files,
    no_documents,
    read_files,
)
from qa.embeddings import Embedder, SentenceTransformerEmbedder
from qa.errors import IndexMismatchError, InputError, QAError, SkippedFileWarning
from qa.generate import AnswerStream, WritingSettings
from qa.lexical import terms
from qa.questions import check_k, clean_question, fit_question
from qa.reading import SpanReader
from qa.retrieval import RetrievalSettings, retrieve
from qa.snapshot import DocumentEntry, Snapshot
from qa.storage import (
    FORMAT,
    FORMAT_VERSION,
    claim_folder,
    load_snapshot,
    read_manifest,
    rebuild_hint,
)
from qa.storage import save_snapshot as _save_snapshot
from qa.stores import VectorStore, chunk_key, open_store, same_store, store_spec
from qa.text import unique_name
from qa.types import Answer, Document, Passage

if TYPE_CHECKING:
    from qa.llm import LanguageModel

MODES = ("extractive", "generate")

PathLike = str | os.PathLike[str]
BATCH_CHARACTERS = 200_000  # text read and embedded at a time: bounds the memory a build needs
CHECKPOINT_SECONDS = 60.0  # a long build commits its work this often, so it can resume


@dataclass(frozen=True, slots=True)
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


class Index:
    """A searchable set of documents. Changes are saved to `path` (when set) before they show."""

    def __init__(
        self,
        path: PathLike | None = None,
        *,
        embedder: Embedder | None = None,
        chunking: ChunkSettings | None = None,
        retrieval: RetrievalSettings | None = None,
        answering: AnswerSettings | None = None,
        model: LanguageModel | None = None,
        writing: WritingSettings | None = None,
        store: str | VectorStore | None = None,
        reader: SpanReader | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        # The reader decides what answers a question (qa/reading.py). None: the shipped
        # model, loaded once per process on the first question.
        self._reader = reader
        # Where chunk vectors live: "faiss" (default), "faiss:ivf", "milvus:./qa.db", ... or a
        # VectorStore. Opened when first needed (it needs the embedding dimension).
        self._store: VectorStore | None = None if isinstance(store, str | None) else store
        self._store_spec = store_spec(store) if isinstance(store, str | None) else store.describe()
        self._owns_store = True  # a detached copy never deletes from the shared store
        self.model = model  # for mode="generate"; None: the process's default, loaded on use
        self.writing = writing or WritingSettings()
        self.embedder: Embedder = embedder or SentenceTransformerEmbedder()
        self.chunking = chunking or ChunkSettings()
        self.retrieval = retrieval or RetrievalSettings()
        self.answering = answering or AnswerSettings()
        self.roots: list[str] = []
        self.created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.report: IndexReport | None = None  # what the last build_index changed
        self._snapshot: Snapshot | None = None
        self._write_lock = threading.Lock()

    # --- reading -------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: PathLike,
        *,
        embedder: Embedder | None = None,
        retrieval: RetrievalSettings | None = None,
        answering: AnswerSettings | None = None,
    ) -> Index:
        """Open the index saved in `path`; raises if it was built with another model."""
        folder = Path(path)
        snapshot, manifest = load_snapshot(folder)
        chunking = manifest["chunking"]
        index = cls(
            folder,
            embedder=embedder,
            chunking=ChunkSettings(size=int(chunking["size"]), overlap=int(chunking["overlap"])),
            retrieval=retrieval,
            answering=answering,
        )
        if manifest.get("embedding_model") != index.embedder.name:
            raise IndexMismatchError(
                f"The index in {folder} was built with the embedding model "
                f"'{manifest.get('embedding_model')}', but this qa uses '{index.embedder.name}'. "
                f"Rebuild it with: {rebuild_hint(folder, manifest.get('roots'))}"
            )
        index.roots = list(manifest.get("roots", []))
        index.created_at = manifest.get("created_at", index.created_at)
        index._snapshot, index._store = snapshot, snapshot.store
        index._store_spec = snapshot.store.describe()
        if not snapshot.store.shared:
            index._prune(snapshot)  # vectors a save kept for questions then in flight
        return index

    @property
    def reader(self) -> SpanReader:
        """The reader model that finds short answers and decides whether to answer."""
        if self._reader is None:
            from qa.reader import load_reader

            self._reader = load_reader()
        return self._reader

    @property
    def store(self) -> VectorStore:
        """Where this index keeps its chunk vectors."""
        if self._store is None:
            self._store = open_store(
                self._store_spec, self.embedder.dimension, folder=None, create=True
            )
        return self._store

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = Snapshot([], self.embedder.dimension, self.store)
        return self._snapshot

    @property
    def documents(self) -> list[Document]:
        """The indexed documents, in index order."""
        return [e.document for e in self.snapshot.entries]

    def document(self, source: str) -> Document:
        """The indexed document named `source` (its name or its path)."""
        snapshot = self.snapshot
        entry = snapshot.by_source.get(source) or snapshot.by_path.get(str(Path(source).resolve()))
        if entry is None:
            raise InputError(f"No document named {source!r} in this index")
        return entry.document

    def __len__(self) -> int:
        return len(self.snapshot.entries)

    def search(self, question: str, *, k: int = 5) -> list[Passage]:
        """The `k` passages that best match `question`, best first."""
        return self.ask(question, k=k).passages

    def ask(self, question: str, *, k: int = 5, mode: str = "extractive") -> Answer:
        """Answer `question` from the indexed documents, citing exact spans, or refuse.

        mode "extractive" quotes the documents; "generate" has the local language model write
        the answer, then keeps only the sentences a passage supports.
        """
        return self.stream(question, k=k, mode=mode).result()

    def stream(self, question: str, *, k: int = 5, mode: str = "extractive") -> AnswerStream:
        """Like `ask`, but iterate over the result for its text as it is written."""
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        question, notes = fit_question(clean_question(question))
        check_k(k)
        snapshot = self.snapshot  # one consistent view, whatever other threads change
        query_vector = self.embedder.embed([question])[0]
        hits = retrieve(snapshot, query_vector, terms(question), k, self.retrieval)
        reader = self.reader if self.answering.reader else None
        answer = compose_answer(question, snapshot, hits, query_vector, self.answering, reader)
        if notes:
            answer = dataclasses.replace(answer, notes=notes + answer.notes)
        if mode == "extractive":
            return AnswerStream(iter([answer.text]), lambda: answer, short=answer.short)
        from qa.generate import write_answer
        from qa.llm import default_model

        model = self.model or default_model()
        return write_answer(question, answer, snapshot, model, self.embedder, self.writing)

    def detached(self) -> Index:
        """A copy in memory only: changes to it are not saved and do not touch this index."""
        copy = Index(
            embedder=self.embedder,
            chunking=self.chunking,
            retrieval=self.retrieval,
            answering=self.answering,
            model=self.model,
            writing=self.writing,
            store=self.store,
            reader=self._reader,
        )
        copy._snapshot, copy.roots = self._snapshot, list(self.roots)
        copy._owns_store = False  # its removals stay in its snapshot; the store is shared
        return copy

    # --- changing ------------------------------------------------------------------------

    def sync(
        self,
        paths: Sequence[PathLike],
        *,
        progress: bool | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> IndexReport:
        """Make the index hold exactly the documents under `paths`.

        Unchanged files keep their vectors; new or changed files are embedded; documents
        no longer under `paths` are dropped.
        """
        files = find_files(paths)
        roots = [str(Path(p).expanduser().resolve()) for p in paths]
        return self._apply(
            paths,
            files,
            keep_others=False,
            roots=roots,
            progress=progress,
            max_file_bytes=max_file_bytes,
        )

    def add(
        self,
        paths: Sequence[PathLike],
        *,
        progress: bool | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> IndexReport:
        """Add the documents under `paths` (or update them if changed); keep everything else."""
        files = find_files(paths)
        roots = self.roots + [str(Path(p).expanduser().resolve()) for p in paths]
        return self._apply(
            paths,
            files,
            keep_others=True,
            roots=roots,
            progress=progress,
            max_file_bytes=max_file_bytes,
        )

    def remove(self, *sources: str) -> list[str]:
        """Drop the named documents (by source name or path); returns the names removed."""
        with self._write_lock:
            snapshot = self.snapshot
            doomed = {self.document(s).path for s in sources}
            kept = [e for e in snapshot.entries if e.document.path not in doomed]
            removed = [e.document.source for e in snapshot.entries if e.document.path in doomed]
            roots = [r for r in self.roots if r not in doomed]
            self._commit(Snapshot(kept, snapshot.dimension, self.store), roots)
            return removed

    def save(self, path: PathLike | None = None) -> None:
        """Write the index to `path` (or its own path) atomically."""
        if path is not None:
            self.path = Path(path)
        if self.path is None:
            raise InputError("This index has no folder to save to: pass a path")
        with self._write_lock:
            _save_snapshot(self.path, self.snapshot, self._manifest(self.snapshot, self.roots))

    def _apply(
        self,
        paths: Sequence[PathLike],
        files: list[FoundFile],
        *,
        keep_others: bool,
        roots: list[str],
        progress: bool | None,
        max_file_bytes: int,
    ) -> IndexReport:
        """Read, embed and commit files a batch at a time.

        Memory holds one batch of new text and vectors, not the whole corpus's. With a folder,
        the work so far is committed every CHECKPOINT_SECONDS: an interrupted build keeps it,
        and running it again embeds only what is left (unchanged files are recognised by hash).
        """
        from tqdm import tqdm

        if self.path is not None:
            claim_folder(self.path)  # before any work: a folder of the user's files is refused
        started = last_checkpoint = time.perf_counter()
        if progress is None:
            progress = sys.stderr.isatty()
        with self._write_lock:
            start = self.snapshot
            current = {e.document.path: e for e in start.entries}  # in index order
            taken = (
                {e.document.source: e.document.path for e in start.entries} if keep_others else {}
            )
            report = IndexReport()
            seen: set[str] = set()
            batch: list[Document] = []
            added: list[tuple[np.ndarray, np.ndarray]] = []
            embedded = 0

            def flush() -> None:
                nonlocal embedded, batch
                entries, count, vectors = self._embed(batch, progress=False)
                current.update(entries)
                added.append(vectors)
                embedded += count
                batch = []

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
                    warnings.warn(f"Skipped {notice}", SkippedFileWarning, stacklevel=3)
                    continue
                if notice is not None:
                    report.repaired.append(notice)
                document = _with_unique_source(document, taken)
                taken[document.source] = document.path
                seen.add(document.path)
                previous = start.by_path.get(document.path)
                if previous is not None and previous.document.sha256 == document.sha256:
                    current[document.path] = _renamed(previous, document.source)
                    report.unchanged.append(document.source)
                    continue
                (report.updated if previous else report.added).append(document.source)
                batch.append(document)
                if sum(len(d.text) for d in batch) >= BATCH_CHARACTERS:
                    flush()
                    if self.path is not None and (
                        time.perf_counter() - last_checkpoint >= CHECKPOINT_SECONDS
                    ):
                        self._commit(
                            self._snapshot_of(current.values()),
                            roots,
                            _joined(added, start.dimension),
                        )
                        added, last_checkpoint = [], time.perf_counter()
            if not seen:
                raise no_documents(paths, report.skipped)
            if batch:
                flush()
            if not keep_others:
                for path, entry in list(current.items()):
                    if path not in seen:
                        report.removed.append(entry.document.source)
                        del current[path]
            self._commit(
                self._snapshot_of(current.values()),
                sorted(set(roots)),
                _joined(added, start.dimension),
            )
        return dataclasses.replace(
            report, embedded_texts=embedded, seconds=time.perf_counter() - started
        )

    def _snapshot_of(self, entries: Iterable[DocumentEntry]) -> Snapshot:
        return Snapshot(list(entries), self.embedder.dimension, self.store)

    def _embed(
        self, documents: list[Document], progress: bool | None
    ) -> tuple[dict[str, DocumentEntry], int, tuple[np.ndarray, np.ndarray]]:
        """Chunk and embed documents; every distinct text (chunk or sentence) is embedded once.

        Returns the entries, how many texts were embedded, and the chunk keys and vectors
        for the store.
        """
        pieces = []
        texts: dict[str, int] = {}
        for document in documents:
            sentences = split_sentences(document.text, max_length=self.chunking.size)
            chunks = chunk_document(document, self.chunking, sentences)
            chunk_ids = [texts.setdefault(c.text, len(texts)) for c in chunks]
            sentence_ids = [
                texts.setdefault(document.text[s.start : s.end], len(texts)) for s in sentences
            ]
            pieces.append((document, sentences, chunks, chunk_ids, sentence_ids))
        if progress is None:
            progress = sys.stderr.isatty()
        vectors = self.embedder.embed(list(texts), progress=progress)
        entries: dict[str, DocumentEntry] = {}
        keys: list[int] = []
        rows: list[int] = []
        for document, sentences, chunks, chunk_ids, sentence_ids in pieces:
            chunk_keys = np.array(
                [chunk_key(document.sha256, n, self._key_settings()) for n in range(len(chunks))],
                dtype=np.int64,
            )
            entries[document.path] = DocumentEntry(
                document=document,
                sentences=tuple(sentences),
                chunks=tuple(chunks),
                chunk_keys=chunk_keys,
                sentence_vectors=vectors[sentence_ids].reshape(-1, vectors.shape[1]),
            )
            keys.extend(chunk_keys.tolist())
            rows.extend(chunk_ids)
        added = (np.array(keys, dtype=np.int64), vectors[rows].reshape(-1, vectors.shape[1]))
        return entries, len(texts), added

    def _key_settings(self) -> str:
        # A chunk's key depends on its file's content and on how it was cut and embedded.
        c = self.chunking
        return f"{c.size}/{c.overlap}/{SPLITTER_VERSION}/{self.embedder.name}"

    def _commit(
        self,
        snapshot: Snapshot,
        roots: list[str],
        added: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Make `snapshot` the index: vectors stored first, then saved, then shown.

        What a reader sees is always on disk. Vectors of dropped chunks leave the store only
        after the swap, so a question already in flight still finds them.
        """
        previous = self._snapshot
        if added is not None and len(added[0]):
            self.store.add(*added)
        if self.path is not None:
            _save_snapshot(self.path, snapshot, self._manifest(snapshot, roots))
        self._snapshot = snapshot
        self.roots = roots
        if self._owns_store:
            if previous is not None:
                self.store.remove(np.setdiff1d(previous.keys, snapshot.keys))
            self._prune(snapshot)

    def _prune(self, snapshot: Snapshot) -> None:
        """Drop stored vectors no chunk of `snapshot` uses: left by a crash between storing
        and saving, by a detached copy, or kept in a save for questions in flight."""
        if len(self.store) > len(np.unique(snapshot.keys)):
            self.store.remove(np.setdiff1d(self.store.keys(), snapshot.keys))

    def _manifest(self, snapshot: Snapshot, roots: list[str]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "embedding_model": self.embedder.name,
            "embedding_dimension": snapshot.dimension,
            "chunking": {
                "size": self.chunking.size,
                "overlap": self.chunking.overlap,
                "splitter_version": SPLITTER_VERSION,
            },
            "roots": roots,
            "created_at": self.created_at,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": {
                "documents": len(snapshot.entries),
                "chunks": len(snapshot.chunks),
                "sentences": snapshot.sentence_count,
            },
            "documents": [
                {
                    "source": e.document.source,
                    "path": e.document.path,
                    "sha256": e.document.sha256,
                    "characters": len(e.document.text),
                    "pages": len(e.document.pages) or None,
                    "chunks": len(e.chunks),
                }
                for e in snapshot.entries
            ],
        }


def _joined(
    parts: list[tuple[np.ndarray, np.ndarray]], dimension: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keys and vectors of several batches as one pair of arrays."""
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dimension), dtype=np.float32)
    return np.concatenate([k for k, _ in parts]), np.concatenate([v for _, v in parts])


def build_index(
    paths: Sequence[PathLike] | PathLike,
    *,
    path: PathLike = "index",
    embedder: Embedder | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    progress: bool | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    store: str | None = None,
) -> Index:
    """Index the files and folders in `paths` into the folder `path`, and return the Index.

    An index already in `path`, built with the same model, chunking and store, is updated:
    only new or changed files are embedded, and files no longer present are dropped.
    `store` is where chunk vectors live: "faiss" (the default: exact search, switching to IVF
    above 100,000 chunks), "faiss:flat", "faiss:ivf", "milvus:./qa.db" (Milvus Lite) or
    "milvus:http://host:19530".
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    claim_folder(Path(path))
    defaults = ChunkSettings()
    chunking = ChunkSettings(
        size=defaults.size if chunk_size is None else chunk_size,
        overlap=defaults.overlap if chunk_overlap is None else chunk_overlap,
    )
    index = _reusable(Path(path), embedder, chunking, store)
    if index is None:
        index = Index(path, embedder=embedder, chunking=chunking, store=store)
    index.report = index.sync(paths, progress=progress, max_file_bytes=max_file_bytes)
    return index


def _reusable(
    folder: Path, embedder: Embedder | None, chunking: ChunkSettings, store: str | None
) -> Index | None:
    """The index saved in `folder` if its vectors can be reused with these settings."""
    try:
        manifest = read_manifest(folder)
    except QAError:
        return None  # none, damaged or foreign: built from scratch, and replaced atomically
    stored = manifest.get("chunking", {})
    if (
        stored.get("size") != chunking.size
        or stored.get("overlap") != chunking.overlap
        or stored.get("splitter_version") != SPLITTER_VERSION
        or (store is not None and not same_store(store_spec(store), manifest.get("store", {})))
    ):
        return None
    try:
        return Index.load(folder, embedder=embedder)
    except QAError:
        return None


def load_index(path: PathLike = "index", *, embedder: Embedder | None = None) -> Index:
    """Open the index saved in the folder `path`."""
    return Index.load(path, embedder=embedder)


def _with_unique_source(document: Document, taken: dict[str, str]) -> Document:
    # Two different files may share a name ("a/notes.md", "b/notes.md" added separately).
    source = unique_name(document.source, lambda s: taken.get(s, document.path) != document.path)
    return document if source == document.source else dataclasses.replace(document, source=source)


def _renamed(entry: DocumentEntry, source: str) -> DocumentEntry:
    if entry.document.source == source:
        return entry
    chunks = tuple(
        dataclasses.replace(c, source=source, id=f"{source}#{i}")
        for i, c in enumerate(entry.chunks)
    )
    return dataclasses.replace(
        entry, document=dataclasses.replace(entry.document, source=source), chunks=chunks
    )
