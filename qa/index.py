"""Index: documents, their chunks and vectors, BM25; kept in sync with files, saved atomically."""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.answer import AnswerSettings, compose_answer
from qa.chunking import SPLITTER_VERSION, ChunkSettings, chunk_document, split_sentences
from qa.documents import DEFAULT_MAX_FILE_BYTES, FileNotice, LoadResult, load_documents
from qa.embeddings import Embedder, SentenceTransformerEmbedder
from qa.errors import IndexMismatchError, InputError, QAError, SkippedFileWarning
from qa.generate import AnswerStream, WritingSettings
from qa.lexical import terms
from qa.retrieval import RetrievalSettings, retrieve
from qa.snapshot import DocumentEntry, Snapshot
from qa.storage import FORMAT, FORMAT_VERSION, load_snapshot, read_manifest, rebuild_hint
from qa.storage import save_snapshot as _save_snapshot
from qa.types import Answer, Document, Passage

if TYPE_CHECKING:
    from qa.llm import LanguageModel

MODES = ("extractive", "generate")

PathLike = str | os.PathLike[str]
MAX_K = 100
MAX_QUESTION_CHARS = 1000  # all-MiniLM-L6-v2 reads 256 word pieces, about this many characters


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
    ) -> None:
        self.path = Path(path) if path is not None else None
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
        index._snapshot = snapshot
        return index

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = Snapshot([], self.embedder.dimension)
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
        answer = compose_answer(question, snapshot, hits, query_vector, self.answering)
        if notes:
            answer = dataclasses.replace(answer, notes=notes + answer.notes)
        if mode == "extractive":
            return AnswerStream(iter([answer.text]), lambda: answer)
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
        )
        copy._snapshot, copy.roots = self._snapshot, list(self.roots)
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
        loaded = load_documents(paths, max_file_bytes=max_file_bytes)
        roots = [str(Path(p).expanduser().resolve()) for p in paths]
        return self._apply(loaded, keep_others=False, roots=roots, progress=progress)

    def add(
        self,
        paths: Sequence[PathLike],
        *,
        progress: bool | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> IndexReport:
        """Add the documents under `paths` (or update them if changed); keep everything else."""
        loaded = load_documents(paths, max_file_bytes=max_file_bytes)
        roots = self.roots + [str(Path(p).expanduser().resolve()) for p in paths]
        return self._apply(loaded, keep_others=True, roots=roots, progress=progress)

    def remove(self, *sources: str) -> list[str]:
        """Drop the named documents (by source name or path); returns the names removed."""
        with self._write_lock:
            snapshot = self.snapshot
            doomed = {self.document(s).path for s in sources}
            kept = [e for e in snapshot.entries if e.document.path not in doomed]
            removed = [e.document.source for e in snapshot.entries if e.document.path in doomed]
            roots = [r for r in self.roots if r not in doomed]
            self._commit(Snapshot(kept, snapshot.dimension), roots)
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
        loaded: LoadResult,
        *,
        keep_others: bool,
        roots: list[str],
        progress: bool | None,
    ) -> IndexReport:
        started = time.perf_counter()
        for notice in loaded.skipped:
            warnings.warn(f"Skipped {notice}", SkippedFileWarning, stacklevel=3)
        with self._write_lock:
            snapshot = self.snapshot
            old = snapshot.by_path
            taken = (
                {e.document.source: e.document.path for e in snapshot.entries}
                if keep_others
                else {}
            )
            report = IndexReport(skipped=loaded.skipped, repaired=loaded.repaired)
            fresh: dict[str, DocumentEntry] = {}
            to_embed: list[Document] = []
            for document in loaded.documents:
                document = _with_unique_source(document, taken)
                taken[document.source] = document.path
                previous = old.get(document.path)
                if previous is not None and previous.document.sha256 == document.sha256:
                    fresh[document.path] = _renamed(previous, document.source)
                    report.unchanged.append(document.source)
                else:
                    to_embed.append(document)
                    (report.updated if previous else report.added).append(document.source)
            embedded, count = self._embed(to_embed, progress)
            fresh.update(embedded)
            entries: list[DocumentEntry] = []
            for entry in snapshot.entries:  # keep the existing order, with new versions in place
                path = entry.document.path
                if path in fresh:
                    entries.append(fresh.pop(path))
                elif keep_others:
                    entries.append(entry)
                else:
                    report.removed.append(entry.document.source)
            entries.extend(fresh.values())
            self._commit(Snapshot(entries, snapshot.dimension), sorted(set(roots)))
        return dataclasses.replace(
            report, embedded_texts=count, seconds=time.perf_counter() - started
        )

    def _embed(
        self, documents: list[Document], progress: bool | None
    ) -> tuple[dict[str, DocumentEntry], int]:
        """Chunk and embed documents; every distinct text (chunk or sentence) is embedded once."""
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
        entries = {
            document.path: DocumentEntry(
                document=document,
                sentences=tuple(sentences),
                chunks=tuple(chunks),
                chunk_vectors=vectors[chunk_ids].reshape(-1, vectors.shape[1]),
                sentence_vectors=vectors[sentence_ids].reshape(-1, vectors.shape[1]),
            )
            for document, sentences, chunks, chunk_ids, sentence_ids in pieces
        }
        return entries, len(texts)

    def _commit(self, snapshot: Snapshot, roots: list[str]) -> None:
        # Save first: what a reader sees is always what is on disk.
        if self.path is not None:
            _save_snapshot(self.path, snapshot, self._manifest(snapshot, roots))
        self._snapshot = snapshot
        self.roots = roots

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


def build_index(
    paths: Sequence[PathLike] | PathLike,
    *,
    path: PathLike = "index",
    embedder: Embedder | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    progress: bool | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Index:
    """Index the files and folders in `paths` into the folder `path`, and return the Index.

    An index already in `path`, built with the same model and chunking, is updated: only new
    or changed files are embedded, and files no longer present are dropped.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    defaults = ChunkSettings()
    chunking = ChunkSettings(
        size=defaults.size if chunk_size is None else chunk_size,
        overlap=defaults.overlap if chunk_overlap is None else chunk_overlap,
    )
    index = _reusable(Path(path), embedder, chunking)
    if index is None:
        index = Index(path, embedder=embedder, chunking=chunking)
    index.report = index.sync(paths, progress=progress, max_file_bytes=max_file_bytes)
    return index


def _reusable(folder: Path, embedder: Embedder | None, chunking: ChunkSettings) -> Index | None:
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
    ):
        return None
    try:
        return Index.load(folder, embedder=embedder)
    except QAError:
        return None


def load_index(path: PathLike = "index", *, embedder: Embedder | None = None) -> Index:
    """Open the index saved in the folder `path`."""
    return Index.load(path, embedder=embedder)


def clean_question(question: str) -> str:
    """The question without control characters and surrounding blanks; rejects empty ones."""
    if not isinstance(question, str):
        raise InputError(f"The question must be text, got {type(question).__name__}")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question).strip()
    if not any(ch.isalnum() for ch in cleaned):
        raise InputError("The question is empty: type a question with at least one word.")
    return " ".join(cleaned.split())


def fit_question(question: str) -> tuple[str, list[str]]:
    """The question cut to what the embedding model reads (about 256 word pieces), and a note
    saying so when it had to be cut: nothing is dropped silently."""
    if len(question) <= MAX_QUESTION_CHARS:
        return question, []
    cut = question.rfind(" ", 0, MAX_QUESTION_CHARS + 1)
    kept = question[: cut if cut > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS]
    note = (
        f"The question was {len(question):,} characters long; only its first {len(kept):,} "
        "were used. Ask something shorter for a better answer."
    )
    return kept, [note]


def check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InputError(
            f"k (passages to retrieve) must be a whole number from 1 to {MAX_K}, got {k!r}"
        )


def _with_unique_source(document: Document, taken: dict[str, str]) -> Document:
    # Two different files may share a name ("a/notes.md", "b/notes.md" added separately).
    source, n = document.source, 2
    while taken.get(source, document.path) != document.path:
        stem, dot, suffix = document.source.rpartition(".")
        source = f"{stem} ({n}).{suffix}" if dot else f"{document.source} ({n})"
        n += 1
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
