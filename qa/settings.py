"""Settings shared by every way in (qa.api, Index, Conversation, the CLI, the page)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from qa.errors import InputError


class Mode(StrEnum):
    """How an answer is made: quoted from the documents, or written by the language model
    and then checked against them sentence by sentence. A Mode is a str: "extractive"."""

    EXTRACTIVE = "extractive"
    GENERATE = "generate"

    @classmethod
    def of(cls, value: str) -> Mode:
        """`value` as a Mode; anything else is an InputError naming the choices."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise InputError(f"mode must be one of {choices}, got {value!r}") from None


# --- where chunk vectors live ----------------------------------------------------------------

FAISS_KINDS = ("auto", "flat", "ivf")
IVF_THRESHOLD = 100_000  # FAISS "auto" switches from exact to IVF search at this many vectors
DEFAULT_NPROBE = 48  # IVF lists searched per query (recall against latency: docs/stores.md)
DEFAULT_NLIST = 1024  # Milvus IVF lists (FAISS picks its own from the size: stores.faiss)
DEFAULT_COLLECTION = "qa_chunks"
DEFAULT_INDEX_TYPE = "AUTOINDEX"  # Milvus picks; Milvus Lite makes it FLAT


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """Which vector store an index uses and how it is set up, as the manifest records it.

    type "faiss" uses kind, nprobe and ivf_threshold; type "milvus" uses uri, collection,
    index_type, nlist and nprobe. StoreSpec.parse("milvus:./qa.db#docs") reads a setting.
    """

    type: str
    kind: str = "auto"
    nprobe: int = DEFAULT_NPROBE
    ivf_threshold: int = IVF_THRESHOLD
    uri: str = ""
    collection: str = DEFAULT_COLLECTION
    index_type: str = DEFAULT_INDEX_TYPE
    nlist: int = DEFAULT_NLIST

    def __post_init__(self) -> None:
        if self.type == "faiss" and self.kind not in FAISS_KINDS:
            raise InputError(
                f"FAISS store kind must be one of {', '.join(FAISS_KINDS)}, got {self.kind!r}"
            )
        if self.type == "milvus" and not self.uri:
            raise InputError("A Milvus store needs a file or a server URL: milvus:./qa.db")
        if self.nprobe < 1:
            raise InputError(f"nprobe must be at least 1, got {self.nprobe}")
        if self.nlist < 1:
            raise InputError(f"nlist must be at least 1, got {self.nlist}")

    # Only the fields of the store's own type are written, so a manifest shows what applies.
    _FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "faiss": ("kind", "nprobe", "ivf_threshold"),
        "milvus": ("uri", "collection", "index_type", "nlist", "nprobe"),
    }

    def to_dict(self) -> dict[str, Any]:
        """{"type": "faiss", "kind": "auto", ...}: the manifest's "store" entry."""
        names = self._FIELDS.get(self.type, ())
        return {"type": self.type} | {name: getattr(self, name) for name in names}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoreSpec:
        """The spec a manifest recorded. Only the fields of its type are read (FAISS's
        "searching" and "nlist" are facts, not settings), and absent ones take today's
        defaults: manifests written before a key existed still load (a Milvus spec without
        nlist/nprobe, a collection of None)."""
        kind = str(data.get("type"))
        known = cls._FIELDS.get(kind, ())
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known and v is not None}
        for name in ("nprobe", "ivf_threshold", "nlist"):
            if name in values:
                values[name] = int(values[name])
        return cls(kind, **values)

    @classmethod
    def parse(cls, setting: str) -> StoreSpec:
        """A store setting: "faiss" | "faiss:flat" | "faiss:ivf" | "milvus:./qa.db" |
        "milvus:http://host:19530", a Milvus one optionally ending in "#collection"."""
        kind, _, rest = setting.partition(":")
        if kind == "faiss":
            return cls("faiss", kind=rest or "auto")
        if kind == "milvus" and rest:
            uri, _, collection = rest.removeprefix("//").partition("#")
            if not uri.startswith(("http://", "https://", "tcp://", "unix:")):
                uri = str(Path(uri).expanduser().resolve())  # Milvus Lite: a local .db file
            return cls("milvus", uri=uri, collection=collection or DEFAULT_COLLECTION)
        raise InputError(
            f"Unknown store {setting!r}: use faiss, faiss:flat, faiss:ivf, milvus:./file.db or "
            "milvus:http://host:19530"
        )

    @classmethod
    def from_setting(cls, setting: str | None) -> StoreSpec:
        """The store a setting names; else $QA_STORE; else FAISS, exact until it grows large."""
        setting = setting or os.environ.get("QA_STORE") or None
        return cls.parse(setting) if setting else cls("faiss")

    def same_place(self, other: StoreSpec) -> bool:
        """Whether `other` is this store: the same FAISS kind, or the same Milvus collection.
        (Tuning such as nprobe may differ: the vectors are still the ones wanted.)"""
        if self.type != other.type:
            return False
        if self.type == "faiss":
            return self.kind == other.kind
        return (self.uri, self.collection) == (other.uri, other.collection)
