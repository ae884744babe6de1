"""Where chunk vectors live: the VectorStore protocol, FAISS (embedded, the default) and Milvus.

A store maps int64 chunk keys to normalised vectors and finds the nearest by inner product.
It is shared by every Snapshot of an index: a snapshot only trusts the keys it knows, so a
store may briefly hold vectors a snapshot does not (being added, or left by a crash) without
any answer changing.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import IndexCorruptError, InputError, QAError

FAISS_FILE = "vectors.faiss"
IVF_THRESHOLD = 100_000  # "auto" switches from exact to IVF search at this many vectors
DEFAULT_NPROBE = 48


class StoreError(QAError):
    """The vector store cannot be reached, created or read."""


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

    def describe(self) -> dict[str, Any]:
        """What the manifest records to open this store again."""
        ...


def chunk_key(sha256: str, n: int, settings: str) -> int:
    """A stable int64 key for chunk `n` of some file content under given chunk settings.

    It does not depend on the file's path: a moved or renamed file keeps its vectors, and two
    copies of one file share them.
    """
    digest = hashlib.blake2b(f"{sha256}\0{n}\0{settings}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") & 0x7FFF_FFFF_FFFF_FFFF


# --- FAISS ------------------------------------------------------------------------------------


class FaissStore:
    """FAISS in memory, saved beside the index: exact (flat) or approximate (IVF) search.

    kind "flat" searches exactly; "ivf" clusters vectors into `nlist` lists and searches the
    `nprobe` nearest lists (recall measured in docs/stores.md); "auto" is flat until the
    store reaches IVF_THRESHOLD vectors, then rebuilds itself as IVF. IVF, not HNSW: FAISS's
    HNSW cannot remove vectors, and re-indexing removes the vectors of changed documents.
    """

    KINDS = ("auto", "flat", "ivf")
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
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
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

    @classmethod
    def load(cls, folder: Path, spec: dict[str, Any], dimension: int) -> FaissStore:
        import faiss

        index = faiss.read_index(str(folder / FAISS_FILE))
        if index.d != dimension:
            raise ValueError(f"vectors have dimension {index.d}, manifest says {dimension}")
        return cls(
            dimension,
            kind=str(spec.get("kind", "auto")),
            nprobe=int(spec.get("nprobe", DEFAULT_NPROBE)),
            ivf_threshold=int(spec.get("ivf_threshold", IVF_THRESHOLD)),
            index=index,
        )

    def describe(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "type": "faiss",
            "kind": self.kind,
            "nprobe": self.nprobe,
            "ivf_threshold": self.ivf_threshold,
        }
        with self._lock:
            spec["searching"] = "ivf" if self.is_ivf else "flat"
            if self.is_ivf:
                spec["nlist"] = int(self._index.nlist)
        return spec

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
        index: Any = faiss.IndexIVFFlat(
            quantizer, self._dimension, nlist, faiss.METRIC_INNER_PRODUCT
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


# --- Milvus -----------------------------------------------------------------------------------


# A server answers from a view up to a few seconds stale ("Bounded", its default): a vector
# just removed could still be found. "Strong" reads see every write, but wait for the server's
# clock (~200 ms a search). So a search is Strong only within BOUNDED_SECONDS of this store's
# own last write (read-your-writes, as FAISS gives), Bounded otherwise; counting and listing
# keys, which decide what to prune, are always Strong.
BOUNDED = "Bounded"
STRONG = "Strong"
BOUNDED_SECONDS = 5.0  # Milvus's default staleness bound for Bounded reads


class MilvusStore:
    """A Milvus collection: Milvus Lite in a local file ("./qa.db") or a server ("http://h:19530").

    Milvus persists the vectors itself; the index folder keeps only where they are.
    """

    shared = True

    def __init__(
        self,
        uri: str,
        dimension: int,
        *,
        collection: str = "qa_chunks",
        index_type: str = "AUTOINDEX",
        nlist: int = 1024,
        nprobe: int = DEFAULT_NPROBE,
        create: bool = True,
    ) -> None:
        # Milvus Lite builds only FLAT and IVF_FLAT (AUTOINDEX becomes FLAT there); a server
        # also has HNSW and the rest. nlist and nprobe apply to the IVF kinds.
        self.uri = uri
        self.collection = collection
        self.index_type = index_type
        self.nlist, self.nprobe = nlist, nprobe
        self._dimension = dimension
        self._lock = threading.RLock()
        self._last_write = -BOUNDED_SECONDS  # monotonic time of this store's last write
        try:
            from pymilvus import MilvusClient
        except ImportError as error:
            raise StoreError(
                "The Milvus store needs pymilvus (and milvus-lite for a local file): "
                "pip install 'qa[milvus]'"
            ) from error
        with _milvus_errors(f"Cannot open Milvus at {uri}"):
            self._client = MilvusClient(uri)
            if not self._client.has_collection(collection):
                if not create:
                    raise StoreError(f"Milvus at {uri} has no collection {collection!r}")
                self._create()
            self._check_dimension()
            self._client.load_collection(collection)

    @property
    def dimension(self) -> int:
        return self._dimension

    def _read_level(self) -> str:
        """Strong while this store's own last write may not be visible yet, else Bounded."""
        return STRONG if time.monotonic() - self._last_write < BOUNDED_SECONDS else BOUNDED

    def _create(self) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self._dimension)
        params = self._client.prepare_index_params()
        extra = {"nlist": self.nlist} if self.index_type.startswith("IVF") else {}
        params.add_index(
            field_name="vector", index_type=self.index_type, metric_type="IP", params=extra
        )
        self._client.create_collection(
            self.collection, schema=schema, index_params=params, consistency_level=BOUNDED
        )

    def _check_dimension(self) -> None:
        fields = self._client.describe_collection(self.collection)["fields"]
        vector = next(f for f in fields if f["name"] == "vector")
        dim = int(vector.get("params", {}).get("dim", self._dimension))
        if dim != self._dimension:
            raise StoreError(
                f"The Milvus collection {self.collection!r} holds {dim}-d vectors, "
                f"not {self._dimension}-d: use another collection or rebuild"
            )

    def add(self, keys: np.ndarray, vectors: np.ndarray, batch: int = 5000) -> None:
        with self._lock, _milvus_errors("Cannot add vectors to Milvus"):
            for i in range(0, len(keys), batch):
                rows = [
                    {"id": int(k), "vector": v}
                    for k, v in zip(
                        keys[i : i + batch], vectors[i : i + batch].tolist(), strict=True
                    )
                ]
                self._client.upsert(self.collection, rows)
                self._last_write = time.monotonic()
            if len(keys):
                self._client.flush(self.collection)  # sealed segments search far faster

    def remove(self, keys: np.ndarray, batch: int = 5000) -> None:
        with self._lock, _milvus_errors("Cannot remove vectors from Milvus"):
            for i in range(0, len(keys), batch):
                self._client.delete(self.collection, ids=[int(k) for k in keys[i : i + batch]])
                self._last_write = time.monotonic()

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock, _milvus_errors("Milvus search failed"):
            hits = self._client.search(
                self.collection,
                data=[np.asarray(query, dtype=np.float32).tolist()],
                limit=k,
                search_params={"metric_type": "IP", "params": {"nprobe": self.nprobe}},
                consistency_level=self._read_level(),
            )[0]
        return (
            np.array([h["id"] for h in hits], dtype=np.int64),
            np.array([h["distance"] for h in hits], dtype=np.float32),
        )

    def get(self, keys: np.ndarray) -> np.ndarray:
        if not len(keys):
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock, _milvus_errors("Cannot read vectors from Milvus"):
            rows = self._client.get(
                self.collection,
                ids=[int(k) for k in keys],
                output_fields=["vector"],
                consistency_level=self._read_level(),
            )
        found = {int(r["id"]): r["vector"] for r in rows}
        missing = [int(k) for k in keys if int(k) not in found]
        if missing:
            raise StoreError(f"{len(missing)} vectors are missing from Milvus ({self.uri})")
        return np.array([found[int(k)] for k in keys], dtype=np.float32)

    def keys(self) -> np.ndarray:
        with self._lock, _milvus_errors("Cannot list Milvus keys"):
            keys: list[int] = []
            iterator = self._client.query_iterator(
                self.collection,
                batch_size=10_000,
                output_fields=["id"],
                filter="id >= 0",
                consistency_level=STRONG,
            )
            try:
                while batch := iterator.next():
                    keys.extend(int(r["id"]) for r in batch)
            finally:
                iterator.close()
        return np.array(keys, dtype=np.int64)

    def __len__(self) -> int:
        with self._lock, _milvus_errors("Cannot count Milvus vectors"):
            result = self._client.query(
                self.collection, filter="", output_fields=["count(*)"], consistency_level=STRONG
            )
        return int(result[0]["count(*)"])

    def save(self, folder: Path) -> None:
        with self._lock, _milvus_errors("Cannot flush Milvus"):
            self._client.flush(self.collection)

    def describe(self) -> dict[str, Any]:
        return {
            "type": "milvus",
            "uri": self.uri,
            "collection": self.collection,
            "index_type": self.index_type,
        }

    def wait_until_indexed(self, timeout: float = 3600.0) -> None:
        """Block until Milvus has indexed every row (it indexes sealed segments in the
        background; until then searches scan them)."""

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock, _milvus_errors("Cannot read Milvus index progress"):
                state = self._client.describe_index(self.collection, "vector")
            if not state.get("pending_index_rows"):
                return
            time.sleep(0.5)
        raise StoreError(f"Milvus did not finish indexing within {timeout:.0f} s")

    def drop(self) -> None:
        """Delete the whole collection."""
        with self._lock, _milvus_errors("Cannot drop the Milvus collection"):
            self._client.drop_collection(self.collection)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()


@contextlib.contextmanager
def _milvus_errors(what: str) -> Iterator[None]:
    """Milvus raises its own exception types; callers see a StoreError with the reason."""
    try:
        yield
    except QAError:
        raise
    except Exception as error:
        raise StoreError(f"{what}: {error}") from error


# --- choosing a store -------------------------------------------------------------------------


def parse_store(spec: str) -> dict[str, Any]:
    """A store setting as the manifest records it.

    "faiss" | "faiss:flat" | "faiss:ivf" | "milvus:./qa.db" | "milvus:http://host:19530"
    (a Milvus spec may end with "#collection").
    """
    kind, _, rest = spec.partition(":")
    if kind == "faiss":
        return {"type": "faiss", "kind": rest or "auto"}
    if kind == "milvus" and rest:
        uri, _, collection = rest.removeprefix("//").partition("#")
        if not uri.startswith(("http://", "https://", "tcp://", "unix:")):
            uri = str(Path(uri).expanduser().resolve())  # Milvus Lite: a local .db file
        return {"type": "milvus", "uri": uri, "collection": collection or None}
    raise InputError(
        f"Unknown store {spec!r}: use faiss, faiss:flat, faiss:ivf, milvus:./file.db or "
        "milvus:http://host:19530"
    )


def open_store(
    spec: dict[str, Any], dimension: int, *, folder: Path | None, create: bool
) -> VectorStore:
    """The store a spec names; FAISS stores load from `folder` when it holds one."""
    if spec["type"] == "faiss":
        if folder is not None and (folder / FAISS_FILE).is_file():
            return FaissStore.load(folder, spec, dimension)
        return FaissStore(
            dimension,
            kind=spec.get("kind", "auto"),
            nprobe=int(spec.get("nprobe", DEFAULT_NPROBE)),
            ivf_threshold=int(spec.get("ivf_threshold", IVF_THRESHOLD)),
        )
    if spec["type"] == "milvus":
        return MilvusStore(
            spec["uri"],
            dimension,
            collection=spec.get("collection") or "qa_chunks",
            index_type=spec.get("index_type", "AUTOINDEX"),
            create=create,
        )
    raise IndexCorruptError(f"Unknown vector store type {spec.get('type')!r} in the manifest")


def same_store(wanted: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether a saved index's store is the one a setting asks for."""
    if wanted["type"] != stored.get("type"):
        return False
    if wanted["type"] == "faiss":
        return wanted.get("kind", "auto") == stored.get("kind", "auto")
    collection = wanted.get("collection") or "qa_chunks"
    return wanted["uri"] == stored.get("uri") and collection == stored.get("collection")


def store_spec(setting: str | None) -> dict[str, Any]:
    """The store a setting names; else $QA_STORE; else FAISS, exact until it grows large."""
    setting = setting or os.environ.get("QA_STORE") or None
    return parse_store(setting) if setting else {"type": "faiss", "kind": "auto"}
