"""Where chunk vectors live: the VectorStore protocol and the stores that implement it.

A store maps int64 chunk keys to normalised vectors and finds the nearest by inner product.
It is shared by every Snapshot of an index: a snapshot only trusts the keys it knows, so a
store may briefly hold vectors a snapshot does not (being added, or left by a crash) without
any answer changing.

    qa/stores/faiss.py   FAISS in memory, saved in the index folder (flat, IVF, auto)
    qa/stores/milvus.py  a Milvus collection: Milvus Lite file or server

A store is named by a StoreSpec (qa/settings.py); STORES maps its type to the class that opens
it, so a new store is a module with spec()/from_spec() and one line here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import IndexCorruptError, StoreError
from qa.settings import DEFAULT_NPROBE, IVF_THRESHOLD, StoreSpec
from qa.stores.faiss import FAISS_FILE, FaissStore, ivf_lists
from qa.stores.milvus import BOUNDED_SECONDS, MilvusStore

__all__ = [
    "BOUNDED_SECONDS",
    "DEFAULT_NPROBE",
    "FAISS_FILE",
    "IVF_THRESHOLD",
    "STORES",
    "FaissStore",
    "MilvusStore",
    "StoreError",
    "StoreSpec",
    "VectorStore",
    "chunk_key",
    "ivf_lists",
    "open_store",
    "parse_store",
    "same_store",
    "store_spec",
]


class VectorStore(Protocol):
    """Vectors keyed by int64, searched by inner product. Implementations are thread-safe."""

    shared: bool  # other processes may use it too (a database), so only a writer prunes it

    @property
    def dimension(self) -> int: ...

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store `vectors` (n, dimension) under `keys` (n,); existing keys are replaced."""
        ...

    def remove(self, keys: np.ndarray) -> None:
        """Forget these keys (unknown ones are ignored)."""
        ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The keys of the `k` nearest vectors and their inner products, best first."""
        ...

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The vectors stored under `keys`, in that order."""
        ...

    def keys(self) -> np.ndarray:
        """Every key held."""
        ...

    def __len__(self) -> int: ...

    def save(self, folder: Path) -> None:
        """Persist into `folder` (a store that persists itself writes nothing)."""
        ...

    def spec(self) -> StoreSpec:
        """The settings that open this store again (StoreSpec.to_dict is the manifest's)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the manifest records: spec().to_dict(), and facts for people reading it."""
        ...


class StoreOpener(Protocol):
    """A store class's way in from a spec (FaissStore.from_spec, MilvusStore.from_spec)."""

    def __call__(
        self, spec: StoreSpec, dimension: int, *, folder: Path | None, create: bool
    ) -> VectorStore: ...


# The registry: a spec's type -> how to open it.
STORES: dict[str, StoreOpener] = {
    "faiss": FaissStore.from_spec,
    "milvus": MilvusStore.from_spec,
}


def open_store(
    spec: StoreSpec | Mapping[str, Any], dimension: int, *, folder: Path | None, create: bool
) -> VectorStore:
    """The store a spec names (a manifest's dict is read with StoreSpec.from_dict); a FAISS
    store loads from `folder` when it holds one."""
    if not isinstance(spec, StoreSpec):
        spec = StoreSpec.from_dict(spec)
    opener = STORES.get(spec.type)
    if opener is None:
        raise IndexCorruptError(f"Unknown vector store type {spec.type!r} in the manifest")
    return opener(spec, dimension, folder=folder, create=create)


def chunk_key(sha256: str, n: int, settings: str) -> int:
    """A stable int64 key for chunk `n` of some file content under given chunk settings.

    It does not depend on the file's path: a moved or renamed file keeps its vectors, and two
    copies of one file share them.
    """
    digest = hashlib.blake2b(f"{sha256}\0{n}\0{settings}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") & 0x7FFF_FFFF_FFFF_FFFF


# The names callers used when specs were dicts read by free functions.
parse_store = StoreSpec.parse
store_spec = StoreSpec.from_setting


def same_store(wanted: StoreSpec, stored: StoreSpec | Mapping[str, Any]) -> bool:
    """Whether a saved index's store (a spec or a manifest's dict) is the one wanted."""
    if not isinstance(stored, StoreSpec):
        if stored.get("type") != wanted.type:
            return False
        stored = StoreSpec.from_dict(stored)
    return wanted.same_place(stored)
