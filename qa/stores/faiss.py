"""FAISS in memory, saved in the index folder: exact (flat) or approximate (IVF) search."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import InputError, StoreError
from qa.settings import DEFAULT_NPROBE, FAISS_KINDS, IVF_THRESHOLD, StoreSpec
from qa.stores.batch import one_per_key

FAISS_FILE = "vectors.faiss"


class FaissStore:
    """FAISS in memory, saved beside the index: exact (flat) or approximate (IVF) search.

    kind "flat" searches exactly; "ivf" clusters vectors into `nlist` lists and searches the
    `nprobe` nearest lists (recall measured in docs/stores.md); "auto" is flat until the
    store reaches IVF_THRESHOLD vectors, then rebuilds itself as IVF. IVF, not HNSW: FAISS's
    HNSW cannot remove vectors, and re-indexing removes the vectors of changed documents.
    """

    KINDS = FAISS_KINDS
    shared = False

    def __init__(
        self,
        dimension: int,
        *,
        kind: str = "auto",
        nprobe: int = DEFAULT_NPROBE,
        ivf_threshold: int = IVF_THRESHOLD,
        index: Any = None,
    ) -> None:
        if kind not in self.KINDS:
            raise InputError(
                f"FAISS store kind must be one of {', '.join(self.KINDS)}, got {kind!r}"
            )
        if nprobe < 1:
            raise InputError(f"nprobe must be at least 1, got {nprobe}")
        import faiss

        self._dimension = dimension
        self.kind = kind
        self.nprobe = nprobe
        self.ivf_threshold = ivf_threshold
        self._lock = threading.RLock()
        # Typed Any: FAISS's SWIG classes change type as "auto" turns flat into IVF.
        self._index: Any = index
        if index is None:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        if self.is_ivf:
            self._index.nprobe = nprobe

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def is_ivf(self) -> bool:
        import faiss

        return isinstance(self._index, faiss.IndexIVF)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if not len(keys):
            return
        keys, vectors = one_per_key(keys, np.ascontiguousarray(vectors, dtype=np.float32))
        with self._lock:
            self._index.remove_ids(keys)  # replace, never duplicate
            if self.kind == "ivf" and not self.is_ivf:
                self._rebuild_as_ivf(extra=(keys, vectors))
                return
            self._index.add_with_ids(vectors, keys)
            if self.kind == "auto" and not self.is_ivf and self._index.ntotal >= self.ivf_threshold:
                self._rebuild_as_ivf()

    def remove(self, keys: np.ndarray) -> None:
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if len(keys):
            with self._lock:
                self._index.remove_ids(keys)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        with self._lock:
            k = min(k, self._index.ntotal)
            if k <= 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            scores, keys = self._index.search(query, k)
        found = keys[0] >= 0
        return keys[0][found], scores[0][found]

    def get(self, keys: np.ndarray) -> np.ndarray:
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if not len(keys):
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock:
            try:
                return np.vstack([self._index.reconstruct(int(key)) for key in keys])
            except RuntimeError as error:
                raise StoreError(f"A vector is missing from the FAISS store: {error}") from error

    def keys(self) -> np.ndarray:
        import faiss

        with self._lock:
            if self.is_ivf:
                invlists = self._index.invlists
                parts = [
                    faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                    for i in range(self._index.nlist)
                    if invlists.list_size(i)
                ]
                return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def __len__(self) -> int:
        with self._lock:
            return int(self._index.ntotal)

    def save(self, folder: Path) -> None:
        import faiss

        with self._lock:
            faiss.write_index(self._index, str(folder / FAISS_FILE))

    @property
    def nlist(self) -> int | None:
        """How many IVF lists it searches among, or None while it searches exactly."""
        with self._lock:
            return int(self._index.nlist) if self.is_ivf else None

    def spec(self) -> StoreSpec:
        """The settings to open this store again (with the file `save` writes)."""
        return StoreSpec(
            "faiss", kind=self.kind, nprobe=self.nprobe, ivf_threshold=self.ivf_threshold
        )

    @classmethod
    def from_spec(
        cls, spec: StoreSpec, dimension: int, *, folder: Path | None = None, create: bool = True
    ) -> FaissStore:
        """The store `spec` describes: loaded from `folder` when it holds one, else empty."""
        if folder is not None and (folder / FAISS_FILE).is_file():
            return cls.load(folder, spec, dimension)
        return cls(dimension, kind=spec.kind, nprobe=spec.nprobe, ivf_threshold=spec.ivf_threshold)

    @classmethod
    def load(cls, folder: Path, spec: StoreSpec, dimension: int) -> FaissStore:
        import faiss

        index = faiss.read_index(str(folder / FAISS_FILE))
        if index.d != dimension:
            raise ValueError(f"vectors have dimension {index.d}, manifest says {dimension}")
        return cls(
            dimension,
            kind=spec.kind,
            nprobe=spec.nprobe,
            ivf_threshold=spec.ivf_threshold,
            index=index,
        )

    def describe(self) -> dict[str, Any]:
        """The manifest's entry: the spec, and (for people reading it) how it searches now."""
        nlist = self.nlist
        facts: dict[str, Any] = {"searching": "flat" if nlist is None else "ivf"}
        if nlist is not None:
            facts["nlist"] = nlist
        return self.spec().to_dict() | facts

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every key and vector of a flat store, without copying one at a time."""
        import faiss

        flat: Any = faiss.downcast_index(self._index.index)
        vectors = faiss.vector_to_array(flat.codes).view(np.float32).reshape(-1, self._dimension)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64), vectors

    def _rebuild_as_ivf(self, extra: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Cluster everything held (and `extra`) into an IVF index and swap it in."""
        import faiss

        keys, vectors = self._all()
        if extra is not None:
            keys, vectors = np.concatenate([keys, extra[0]]), np.concatenate([vectors, extra[1]])
        nlist = ivf_lists(len(keys))
        quantizer = faiss.IndexFlatIP(self._dimension)
        # Each vector kept in 8 bits a dimension, not 32: a million chunks take 384 MB, not
        # 1.5 GB, and recall@10 stays ≥ 0.98 (docs/stores.md). Retrieval then scores the
        # candidates' sentences with their exact vectors.
        index: Any = faiss.IndexIVFScalarQuantizer(
            quantizer,
            self._dimension,
            nlist,
            faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )
        sample = vectors
        if len(vectors) > 64 * nlist:  # k-means needs ~40 points a list; more only costs time
            rng = np.random.default_rng(0)
            sample = vectors[rng.choice(len(vectors), 64 * nlist, replace=False)]
        index.train(np.ascontiguousarray(sample))
        index.make_direct_map(True)  # hashtable map: get() and remove() by key
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        index.add_with_ids(np.ascontiguousarray(vectors), np.ascontiguousarray(keys))
        index.nprobe = self.nprobe
        self._index = index


def ivf_lists(n: int) -> int:
    """How many IVF lists for n vectors: about 4·√n, at least 1, with ≥ 39 vectors a list."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))
