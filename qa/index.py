"""Index: documents, their chunks and vectors, BM25; kept in sync with files, saved atomically."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa import asking, updating
from qa.answer import AnswerSettings
from qa.chunking import ChunkSettings
from qa.documents import DEFAULT_MAX_FILE_BYTES
from qa.embeddings import Embedder, SentenceTransformerEmbedder
from qa.errors import InputError, QAError
from qa.generate import AnswerStream, WritingSettings
from qa.indexing import Embedded, IndexReport, PathLike
from qa.opening import open_saved, reusable
from qa.pipeline_settings import DEFAULT_PASSAGES, Settings
from qa.reading import SpanReader
from qa.retrieval import RetrievalSettings
from qa.settings import Mode, StoreSpec
from qa.snapshot import Snapshot
from qa.storage import claim_folder
from qa.stores import VectorStore, open_store
from qa.types import Answer, Document, Passage

if TYPE_CHECKING:
    from qa.llm import LanguageModel

__all__ = ["Index", "IndexReport", "PathLike", "build", "build_index", "load_index"]


class Index:
    """A searchable set of documents. Changes are saved to `path` (when set) before they show."""

    def __init__(
        self,
        path: PathLike | None = None,
        *,
        embedder: Embedder | None = None,
        settings: Settings | None = None,
        chunking: ChunkSettings | None = None,
        retrieval: RetrievalSettings | None = None,
        answering: AnswerSettings | None = None,
        model: LanguageModel | None = None,
        writing: WritingSettings | None = None,
        store: str | VectorStore | None = None,
        reader: SpanReader | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        # Every setting in one record; a part given on its own (answering=...) replaces it.
        settings = settings or Settings()
        self.settings = dataclasses.replace(
            settings,
            chunking=chunking or settings.chunking,
            retrieval=retrieval or settings.retrieval,
            answering=answering or settings.answering,
            writing=writing or settings.writing,
        )
        # The reader decides what answers a question (qa/reading.py). None: the shipped
        # model, loaded once per process on the first question.
        self._reader = reader
        # Where chunk vectors live: "faiss" (default), "faiss:ivf", "milvus:./qa.db", ... or a
        # VectorStore. Opened when first needed (it needs the embedding dimension).
        self._store: VectorStore | None = None if isinstance(store, str | None) else store
        self._store_spec = (
            StoreSpec.from_setting(store) if isinstance(store, str | None) else store.spec()
        )
        self.model = model  # for mode="generate"; None: the process's default, loaded on use
        self.embedder: Embedder = embedder or SentenceTransformerEmbedder()
        self.current = updating.Current()  # the snapshot shown now (qa.updating changes it)
        self.report: IndexReport | None = None  # what the last build_index changed

    @classmethod
    def load(
        cls,
        path: PathLike,
        *,
        embedder: Embedder | None = None,
        settings: Settings | None = None,
        retrieval: RetrievalSettings | None = None,
        answering: AnswerSettings | None = None,
    ) -> Index:
        """Open the index saved in `path`; raises if it was built with another model.
        Its chunking is the one it was built with, whatever `settings` says."""
        embedder = embedder or SentenceTransformerEmbedder()
        snapshot, manifest = open_saved(Path(path), embedder.name)
        chunking = manifest["chunking"]
        settings = (settings or Settings()).chunked(int(chunking["size"]), int(chunking["overlap"]))
        index = cls(
            path,
            embedder=embedder,
            settings=settings,
            retrieval=retrieval,
            answering=answering,
            store=snapshot.store,
        )
        index.current.snapshot = snapshot
        index.current.roots = list(manifest.get("roots", []))
        index.current.created_at = manifest.get("created_at", index.current.created_at)
        return index

    # The parts of `settings` the stages read (asking.Source); setting one replaces it there.

    @property
    def chunking(self) -> ChunkSettings:
        return self.settings.chunking

    @property
    def retrieval(self) -> RetrievalSettings:
        return self.settings.retrieval

    @retrieval.setter
    def retrieval(self, value: RetrievalSettings) -> None:
        self.settings = dataclasses.replace(self.settings, retrieval=value)

    @property
    def answering(self) -> AnswerSettings:
        return self.settings.answering

    @answering.setter
    def answering(self, value: AnswerSettings) -> None:
        self.settings = dataclasses.replace(self.settings, answering=value)

    @property
    def writing(self) -> WritingSettings:
        return self.settings.writing

    @writing.setter
    def writing(self, value: WritingSettings) -> None:
        self.settings = dataclasses.replace(self.settings, writing=value)

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
        """What questions read now: one consistent view, whatever changes meanwhile."""
        if self.current.snapshot is None:
            self.current.snapshot = Snapshot.of([], self.embedder.dimension, self.store)
        return self.current.snapshot

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

    # --- asking: qa.asking ---------------------------------------------------------------

    def search(self, question: str, *, k: int = DEFAULT_PASSAGES) -> list[Passage]:
        """The `k` passages that best match `question`, best first (no answer is composed)."""
        return asking.search(self, question, k=k)

    def ask(
        self,
        question: str,
        *,
        k: int = DEFAULT_PASSAGES,
        mode: Mode | str = Mode.EXTRACTIVE,
        focus: str | None = None,
    ) -> Answer:
        """Answer `question` from the indexed documents, citing exact spans, or refuse.

        mode "extractive" quotes the documents; "generate" has the local language model write
        the answer, then keeps only the sentences a passage supports. `focus` (a source name)
        is the document "this article" means when there are several.
        """
        return self.stream(question, k=k, mode=mode, focus=focus).result()

    def stream(
        self,
        question: str,
        *,
        k: int = DEFAULT_PASSAGES,
        mode: Mode | str = Mode.EXTRACTIVE,
        focus: str | None = None,
    ) -> AnswerStream:
        """Like `ask`, but iterate over the result for its text as it is written."""
        return asking.ask(self, question, k=k, mode=mode, focus=focus)

    # --- changing: qa.updating -----------------------------------------------------------

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
        return updating.apply(
            self, paths, keep_others=False, progress=progress, max_file_bytes=max_file_bytes
        )

    def add(
        self,
        paths: Sequence[PathLike],
        *,
        progress: bool | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        on_embedded: Embedded | None = None,
    ) -> IndexReport:
        """Add the documents under `paths` (or update them if changed); keep everything else.

        `on_embedded(done, total)` is told how many of a batch's sentences are embedded."""
        return updating.apply(
            self,
            paths,
            keep_others=True,
            progress=progress,
            max_file_bytes=max_file_bytes,
            on_embedded=on_embedded,
        )

    def remove(self, *sources: str) -> list[str]:
        """Drop the named documents (by source name or path); returns the names removed."""
        return updating.remove(self, sources)

    def save(self, path: PathLike | None = None) -> None:
        """Write the index to `path` (or its own path) atomically."""
        if path is not None:
            self.path = Path(path)
        updating.save(self)

    def detached(self) -> Index:
        """A copy in memory only: changes to it are not saved and do not touch this index."""
        copy = Index(
            embedder=self.embedder,
            settings=self.settings,
            model=self.model,
            store=self.store,
            reader=self._reader,
        )
        copy.current.snapshot = self.current.snapshot
        copy.current.roots = list(self.current.roots)
        copy.current.owns_store = False  # its removals stay in its snapshot; the store is shared
        return copy


def build(
    paths: Sequence[PathLike] | PathLike,
    *,
    path: PathLike = "index",
    embedder: Embedder | None = None,
    settings: Settings | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    progress: bool | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    store: str | None = None,
) -> tuple[Index, IndexReport]:
    """Like `build_index`, returning what the run changed as well: (index, report)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    claim_folder(Path(path))
    settings = (settings or Settings()).chunked(chunk_size, chunk_overlap)
    index = _reused(Path(path), embedder, settings, store)
    if index is None:
        index = Index(path, embedder=embedder, settings=settings, store=store)
    return index, index.sync(paths, progress=progress, max_file_bytes=max_file_bytes)


def build_index(
    paths: Sequence[PathLike] | PathLike,
    *,
    path: PathLike = "index",
    embedder: Embedder | None = None,
    settings: Settings | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    progress: bool | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    store: str | None = None,
) -> Index:
    """Index the files and folders in `paths` into the folder `path`, and return the Index.

    An index already in `path`, built with the same model, chunking and store, is updated:
    only new or changed files are embedded, and files no longer present are dropped.
    `settings` holds every setting (qa.pipeline_settings.Settings); `chunk_size` and
    `chunk_overlap`, when given, replace its chunking.
    `store` is where chunk vectors live: "faiss" (the default: exact search, switching to IVF
    above 100,000 chunks), "faiss:flat", "faiss:ivf", "milvus:./qa.db" (Milvus Lite) or
    "milvus:http://host:19530". What the run changed is `index.report` (or use `build`).
    """
    index, report = build(
        paths,
        path=path,
        embedder=embedder,
        settings=settings,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        progress=progress,
        max_file_bytes=max_file_bytes,
        store=store,
    )
    index.report = report
    return index


def _reused(
    folder: Path, embedder: Embedder | None, settings: Settings, store: str | None
) -> Index | None:
    """The index saved in `folder` if its vectors can be reused with these settings."""
    if not reusable(folder, settings.chunking, store):
        return None
    try:
        return Index.load(folder, embedder=embedder, settings=settings)
    except QAError:
        return None  # damaged or built with another model: built from scratch instead


def load_index(path: PathLike = "index", *, embedder: Embedder | None = None) -> Index:
    """Open the index saved in the folder `path`."""
    return Index.load(path, embedder=embedder)
