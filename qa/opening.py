"""Opening a saved index: its snapshot, checked against this qa's model, and whether a build
with given settings can reuse its vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.chunking import SPLITTER_VERSION, ChunkSettings
from qa.errors import IndexMismatchError, QAError
from qa.indexing import prune
from qa.settings import StoreSpec
from qa.snapshot import Snapshot
from qa.storage import load_snapshot, read_manifest, rebuild_hint
from qa.stores import same_store


def open_saved(folder: Path, embedding_model: str) -> tuple[Snapshot, dict[str, Any]]:
    """The snapshot and manifest saved in `folder`; raises if another model built it."""
    snapshot, manifest = load_snapshot(folder)
    if manifest.get("embedding_model") != embedding_model:
        raise IndexMismatchError(
            f"The index in {folder} was built with the embedding model "
            f"'{manifest.get('embedding_model')}', but this qa uses '{embedding_model}'. "
            f"Rebuild it with: {rebuild_hint(folder, manifest.get('roots'))}"
        )
    if not snapshot.store.shared:
        prune(snapshot.store, snapshot)  # vectors a save kept for questions then in flight
    return snapshot, manifest


def reusable(folder: Path, chunking: ChunkSettings, store: str | None) -> bool:
    """Whether the index saved in `folder` was cut with `chunking` into the store `store`
    names (None: any), so a build can keep its vectors. No index, or a damaged or foreign
    one, is not: it is built from scratch and replaced atomically."""
    try:
        manifest = read_manifest(folder)
    except QAError:
        return False
    stored = manifest.get("chunking", {})
    return (
        stored.get("size") == chunking.size
        and stored.get("overlap") == chunking.overlap
        and stored.get("splitter_version") == SPLITTER_VERSION
        and (store is None or same_store(StoreSpec.from_setting(store), manifest.get("store", {})))
    )
