"""The write side of an Index: its current snapshot, and every change to it, one at a time.

    sync / add files -> qa.indexing reads, cuts and embeds them a batch at a time
      -> commit: vectors into the store, the snapshot saved (qa.storage), then shown;
         vectors of dropped chunks leave the store only after the swap
    remove documents -> commit the snapshot without them

An Index (qa.index) keeps a `Current` and hands its changes here.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qa.chunking import ChunkSettings
from qa.documents import find_files
from qa.embeddings import Embedder
from qa.errors import InputError
from qa.indexing import Embedded, Indexer, IndexReport, PathLike, Vectors, prune
from qa.snapshot import Snapshot
from qa.storage import WORK, claim_folder, manifest_of, save_snapshot
from qa.stores import VectorStore
from qa.types import Document


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Current:
    """What an index holds now; it changes only under `lock`, one change at a time."""

    snapshot: Snapshot | None = None  # None: nothing yet (made empty on first use)
    roots: list[str] = field(default_factory=list)  # the folders and files it was built from
    created_at: str = field(default_factory=_now)
    owns_store: bool = True  # False for a detached copy: it never deletes from the store
    lock: threading.Lock = field(default_factory=threading.Lock)


class Writable(Protocol):
    """What the write side changes: an Index."""

    path: Path | None
    embedder: Embedder
    current: Current

    @property
    def chunking(self) -> ChunkSettings: ...

    @property
    def store(self) -> VectorStore: ...

    @property
    def snapshot(self) -> Snapshot: ...

    def document(self, source: str) -> Document: ...


def apply(
    index: Writable,
    paths: Sequence[PathLike],
    *,
    keep_others: bool,
    progress: bool | None,
    max_file_bytes: int,
    on_embedded: Embedded | None = None,
) -> IndexReport:
    """Read, embed and commit the files under `paths` a batch at a time (qa.indexing), under
    the write lock. keep_others=False drops the documents not under `paths` (a sync)."""
    files = find_files(paths)
    roots = [str(Path(p).expanduser().resolve()) for p in paths]
    if keep_others:
        roots = index.current.roots + roots
    if index.path is not None:
        claim_folder(index.path)  # before any work: a folder of the user's files is refused
    if progress is None:
        progress = sys.stderr.isatty()

    def commit_here(snapshot: Snapshot, roots: list[str], added: Vectors | None = None) -> None:
        commit(index, snapshot, roots, added)

    with index.current.lock:
        progress_folder = index.path / WORK / "progress" if index.path is not None else None
        indexer = Indexer(index.embedder, index.chunking, index.store, progress_folder, on_embedded)
        return indexer.run(
            index.snapshot,
            paths,
            files,
            keep_others=keep_others,
            roots=roots,
            progress=progress,
            max_file_bytes=max_file_bytes,
            commit=commit_here,
            checkpoints=index.path is not None,
        )


def remove(index: Writable, sources: Sequence[str]) -> list[str]:
    """Drop the named documents (by source name or path); returns the names removed."""
    with index.current.lock:
        snapshot = index.snapshot
        named = {snapshot.by_path[index.document(s).path] for s in sources}
        doomed = sorted(named, key=snapshot.index_of)  # in index order
        paths = {e.document.path for e in doomed}
        roots = [r for r in index.current.roots if r not in paths]
        commit(index, snapshot.changed(drop=doomed), roots)
        return [e.document.source for e in doomed]


def save(index: Writable) -> None:
    """Write the index to its folder atomically."""
    if index.path is None:
        raise InputError("This index has no folder to save to: pass a path")
    with index.current.lock:
        snapshot = index.snapshot
        save_snapshot(index.path, snapshot, manifest(index, snapshot, index.current.roots))


def commit(
    index: Writable, snapshot: Snapshot, roots: list[str], added: Vectors | None = None
) -> None:
    """Make `snapshot` the index: vectors stored first, then saved, then shown.

    What a reader sees is always on disk. Vectors of dropped chunks leave the store only
    after the swap, so a question already in flight still finds them.
    """
    current = index.current
    previous = current.snapshot
    if added is not None and len(added[0]):
        index.store.add(*added)
    if index.path is not None:
        save_snapshot(index.path, snapshot, manifest(index, snapshot, roots))
    current.snapshot, current.roots = snapshot, roots
    if current.owns_store:
        if previous is not None:
            index.store.remove(snapshot.dropped_keys(previous))
        prune(index.store, snapshot)


def manifest(index: Writable, snapshot: Snapshot, roots: list[str]) -> dict[str, Any]:
    """The manifest saved with `snapshot` (qa.storage writes and reads it)."""
    return manifest_of(
        snapshot,
        embedding_model=index.embedder.name,
        chunking=index.chunking,
        roots=roots,
        created_at=index.current.created_at,
    )
