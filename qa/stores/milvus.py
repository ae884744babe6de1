"""Milvus: Milvus Lite in a local file ("./qa.db") or a server or cluster ("http://h:19530")."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError, StoreError
from qa.settings import (
    DEFAULT_COLLECTION,
    DEFAULT_INDEX_TYPE,
    DEFAULT_NLIST,
    DEFAULT_NPROBE,
    StoreSpec,
)
from qa.stores.batch import one_per_key

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
        collection: str = DEFAULT_COLLECTION,
        index_type: str = DEFAULT_INDEX_TYPE,
        nlist: int = DEFAULT_NLIST,
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
        keys, vectors = one_per_key(np.asarray(keys, dtype=np.int64), np.asarray(vectors))
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

    def spec(self) -> StoreSpec:
        """Where this collection is and how it is indexed and searched (nlist, nprobe too)."""
        return StoreSpec(
            "milvus",
            uri=self.uri,
            collection=self.collection,
            index_type=self.index_type,
            nlist=self.nlist,
            nprobe=self.nprobe,
        )

    @classmethod
    def from_spec(
        cls, spec: StoreSpec, dimension: int, *, folder: Path | None = None, create: bool = True
    ) -> MilvusStore:
        """The collection `spec` names (Milvus keeps the vectors: `folder` is not read)."""
        return cls(
            spec.uri,
            dimension,
            collection=spec.collection,
            index_type=spec.index_type,
            nlist=spec.nlist,
            nprobe=spec.nprobe,
            create=create,
        )

    def describe(self) -> dict[str, Any]:
        """The manifest's entry."""
        return self.spec().to_dict()

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
