"""Save and load a Snapshot in a folder, atomically, behind a versioned manifest.

A folder holds `manifest.json` and the data folder it names (`data-*/`). Saving writes a new
data folder completely, then replaces the manifest in one rename: a crash at any moment
leaves either the old index or the new one, never a mix.

qa only ever deletes what it wrote itself: data folders carrying its marker file, the data
folder its own previous manifest named, and what lies in its work folder `.qa/`. A folder
that holds anything else and is not already a qa index is refused, never emptied.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import mmap
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunking import SPLITTER_VERSION, ChunkSettings
from qa.errors import (
    IndexCorruptError,
    IndexFolderError,
    IndexMismatchError,
    IndexNotFoundError,
)
from qa.lexical import Postings
from qa.snapshot import DocumentEntry, Holding, Segment, Snapshot
from qa.stored import (
    CHUNK_COLUMNS,
    ChunkTable,
    DocumentsFile,
    RowsFile,
    SpanTable,
    StoredDocument,
    StoredRows,
    chunk_row,
    span_array,
)
from qa.stores import StoreError, VectorStore, open_store
from qa.types import Chunk, Page

CHUNK_FIELDS = fields(Chunk)

FORMAT = "qa-index"
# 3: documents in segments, each its own folder; a change writes only what it changes.
# 2: one data folder rewritten by every change (still read; the next save converts it).
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)
MANIFEST = "manifest.json"
WORK = ".qa"  # qa's own scratch folder inside an index folder: staging data, temporary files
SEGMENTS = "segments"  # one folder per segment
VECTORS = "vectors"  # the FAISS store's saved file, in a folder of its own
DATA_MARKER = ".qa-data"  # inside every data folder qa writes: proof that qa may delete it
FOLDER_MARKER = ".qa-index"  # says a folder is meant for a qa index (the repository's index/)
SEGMENT_FILES = (
    "documents.jsonl",
    "chunks.jsonl",
    "chunk_keys.npy",
    "sentences.npy",
    "sentence_vectors.npy",
    *Postings.FILES,
)
# Read a few rows at a time with pread when loaded (qa/stored.py), never memory-mapped.
READ_WITH_PREAD = frozenset({"documents.jsonl", "sentence_vectors.npy"})
# The saved FAISS file is rewritten only once the vectors it lacks (added since, and added
# back from the segments when loading) pass this share of all, or this many.
VECTORS_LAG_SHARE = 0.1
VECTORS_LAG_MIN = 20_000
_V2_FILES = (
    "documents.jsonl",
    "chunks.jsonl",
    "chunk_keys.npy",
    "sentences.npy",
    "sentence_vectors.npy",
)


def rebuild_hint(folder: Path, roots: list[str] | None = None) -> str:
    """The command that rebuilds the index in `folder`."""
    sources = " ".join(_quote(r) for r in roots) if roots else "PATH..."
    return f"qa index {sources} --index {_quote(str(folder))}"


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def claim_folder(folder: Path) -> None:
    """Check that qa may write an index into `folder`, and mark it as qa's.

    A folder that does not exist, is empty, or already holds a qa index (or qa's work folder)
    is fine. Anything else, such as a folder of the user's own files or a manifest.json that
    is not qa's, is refused with a clear error, and nothing in it is touched.
    """
    try:
        entries = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    except NotADirectoryError:
        raise IndexFolderError(
            f"{folder} is a file, not a folder: choose a folder for the index"
        ) from None
    except OSError as error:
        raise IndexFolderError(f"Cannot open {folder}: {error.strerror or error}") from error
    manifest_path = folder / MANIFEST
    ours = (folder / WORK).is_dir() or (folder / FOLDER_MARKER).is_file()
    if manifest_path.exists():
        try:
            foreign = json.loads(manifest_path.read_text(encoding="utf-8")).get("format") != FORMAT
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            foreign = not ours  # a damaged manifest is ours to replace only in a folder we own
        if foreign:
            raise IndexFolderError(
                f"{folder} holds a manifest.json that qa did not write, so qa will not write "
                "its index there. Choose a new or empty folder with --index (or $QA_INDEX)."
            )
        ours = True
    others = [name for name in entries if name not in (".lock", WORK, FOLDER_MARKER)]
    if others and not ours:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise IndexFolderError(
            f"{folder} is not empty ({shown}) and does not hold a qa index, so qa will not "
            "write there. Choose a new or empty folder with --index (or $QA_INDEX)."
        )
    (folder / WORK).mkdir(parents=True, exist_ok=True)


def manifest_of(
    snapshot: Snapshot,
    *,
    embedding_model: str,
    chunking: ChunkSettings,
    roots: list[str],
    created_at: str,
) -> dict[str, Any]:
    """The manifest describing `snapshot`: what `read_manifest` reads back. `save_snapshot`
    adds where the data is ("data", "files") and the store's settings ("store")."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "embedding_model": embedding_model,
        "embedding_dimension": snapshot.dimension,
        "chunking": {
            "size": chunking.size,
            "overlap": chunking.overlap,
            "splitter_version": SPLITTER_VERSION,
        },
        "roots": roots,
        "created_at": created_at,
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts": {
            "documents": len(snapshot.entries),
            "chunks": len(snapshot.chunks),
            "sentences": snapshot.sentence_count,
        },
    }


def save_snapshot(folder: Path, snapshot: Snapshot, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write what `snapshot` adds into `folder` and point the manifest at it; returns the
    manifest.

    Segments already in the folder are kept as they are (the manifest lists which of their
    documents are removed); only new segments are written, each in full before the manifest
    names it. A FAISS store's file is rewritten only when it lags far behind the segments
    (loading adds back what it lacks); a Milvus store keeps itself.
    """
    claim_folder(folder)
    with _locked(folder):
        previous = _previous_manifest(folder)
        on_disk = {
            s["name"]: s
            for s in (previous or {}).get("segments", [])
            if isinstance(s, dict) and (folder / SEGMENTS / str(s.get("name"))).is_dir()
        }
        manifest = dict(manifest)
        records = []
        staged: list[Path] = []
        try:
            for holding in snapshot.holdings:
                segment = holding.segment
                record = on_disk.get(segment.name)
                if record is None:
                    staging = Path(
                        tempfile.mkdtemp(prefix=f"staging-{SEGMENTS}-", dir=folder / WORK)
                    )
                    staged.append(staging / segment.name)
                    files = _write_segment(staging / segment.name, segment)
                    record = {"name": segment.name, "files": files}
                records.append(
                    {
                        "name": segment.name,
                        "documents": len(segment.entries),
                        "removed": sorted(holding.removed),
                        "files": record["files"],
                    }
                )
            manifest["segments"] = records
            manifest["store"] = snapshot.store.describe()
            vectors = _vectors_record(folder, snapshot, previous, staged)
            if vectors is not None:
                manifest["vectors"] = vectors
            for path in staged:
                home = SEGMENTS if path.parent.name.startswith(f"staging-{SEGMENTS}-") else VECTORS
                (folder / home).mkdir(mode=0o700, exist_ok=True)
                path.rename(folder / home / path.name)
            fsync_folder(folder / SEGMENTS)
            fsync_folder(folder / VECTORS)  # the renames are durable before the manifest names them
            _write_json_atomically(folder / MANIFEST, manifest)
        except BaseException:
            for path in staged:
                shutil.rmtree(path.parent, ignore_errors=True)
            raise
        _remove_stale(folder, manifest, previous)
    return manifest


def _write_segment(path: Path, segment: Segment) -> dict[str, str]:
    """Write `segment` into the new folder `path`; returns its files' hashes."""
    path.mkdir(mode=0o700)
    (path / DATA_MARKER).write_text("written by qa: deleted when no longer used\n")
    with open(path / "documents.jsonl", "w", encoding="utf-8") as out:
        for entry in segment.entries:
            doc = entry.document
            row = {
                "source": doc.source,
                "path": doc.path,
                "sha256": doc.sha256,
                "pages": [[p.number, p.start, p.end] for p in doc.pages],
                "sentences": len(entry.sentences),
                "chunks": len(entry.chunks),
                "text": doc.text,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(path / "chunks.jsonl", "w", encoding="utf-8") as out:
        for entry in segment.entries:
            for chunk in entry.chunks:
                # Its fields as they are (all plain values): asdict would deep-copy each one.
                row = {f.name: getattr(chunk, f.name) for f in CHUNK_FIELDS}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    spans = np.concatenate(
        [np.zeros((0, 2), dtype=np.int64)] + [span_array(e.sentences) for e in segment.entries]
    )
    dimension = segment.entries[0].sentence_vectors.shape[1] if segment.entries else 0
    np.save(path / "sentences.npy", spans)
    np.save(
        path / "sentence_vectors.npy",
        np.concatenate(
            [np.zeros((0, dimension), dtype=np.float32)]
            + [np.asarray(e.sentence_vectors, dtype=np.float32) for e in segment.entries]
        ),
    )
    np.save(
        path / "chunk_keys.npy",
        np.concatenate(
            [np.zeros(0, dtype=np.int64)] + [e.chunk_keys for e in segment.entries]
        ).astype(np.int64),
    )
    segment.postings.save(path)
    files = {name: file_sha256(path / name) for name in SEGMENT_FILES}
    for name in (*SEGMENT_FILES, DATA_MARKER):
        _fsync(path / name)
    return files


def _vectors_record(
    folder: Path, snapshot: Snapshot, previous: dict[str, Any] | None, staged: list[Path]
) -> dict[str, Any] | None:
    """The saved FAISS file the manifest names: the previous one while it lags little
    behind the segments, else a new one staged for the move beside `staged` segments."""
    chunks = {seg.name: int(seg.chunk_starts[-1]) for seg in snapshot.segments}
    old = (previous or {}).get("vectors")
    if isinstance(old, dict) and (folder / VECTORS / str(old.get("name"))).is_dir():
        held = set(old.get("segments", []))
        lagging = sum(n for name, n in chunks.items() if name not in held)
        if lagging <= max(VECTORS_LAG_MIN, VECTORS_LAG_SHARE * sum(chunks.values())):
            return dict(old)
    staging = Path(tempfile.mkdtemp(prefix=f"staging-{VECTORS}-", dir=folder / WORK))
    name = f"vectors-{time.strftime('%Y%m%dT%H%M%S')}-{staging.name[-8:]}"
    path = staging / name
    path.mkdir(mode=0o700)
    snapshot.store.save(path)
    stored = sorted(p.name for p in path.iterdir() if p.is_file())
    if not stored:  # a store that keeps itself (Milvus)
        shutil.rmtree(staging, ignore_errors=True)
        return None
    (path / DATA_MARKER).write_text("written by qa: deleted when no longer used\n")
    for file in path.iterdir():
        _fsync(file)
    staged.append(path)
    return {
        "name": name,
        "segments": sorted(chunks),
        "files": {file: file_sha256(path / file) for file in stored},
    }


def _previous_manifest(folder: Path) -> dict[str, Any] | None:
    """The qa manifest now in `folder`, if any (whatever its version)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the index in `folder`; raises a clear error when there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        raise IndexNotFoundError(f"No index in {folder}. Build one with: {rebuild_hint(folder)}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexCorruptError(
            f"The index manifest {path} is damaged ({error}). Rebuild with: {rebuild_hint(folder)}"
        ) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexMismatchError(
            f"{folder} does not hold a qa index: its manifest.json was not written by qa. "
            "Point --index (or $QA_INDEX) at another folder; qa will not write in this one."
        )
    version = manifest.get("format_version")
    if version not in READABLE_VERSIONS:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise IndexMismatchError(
            f"The index in {folder} has format version {version}; this qa reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
            + (" (it was built by a newer qa: upgrade qa, or" if newer else " (")
            + f" rebuild it with: {rebuild_hint(folder, manifest.get('roots'))})"
        )
    return manifest


def load_snapshot(folder: Path) -> tuple[Snapshot, dict[str, Any]]:
    """Read the index in `folder`, checking every data file against the manifest.

    Version 2 indexes load too; the next change saves them as version 3.
    """
    for attempt in range(3):
        manifest = read_manifest(folder)
        try:
            return _read_checked(folder, manifest), manifest
        except IndexCorruptError:
            # A save in another process may have replaced the data while we read it.
            if attempt == 2 or read_manifest(folder) == manifest:
                raise
    raise AssertionError("unreachable")


def _read_checked(folder: Path, manifest: dict[str, Any]) -> Snapshot:
    hint = rebuild_hint(folder, manifest.get("roots"))
    try:
        dimension = int(manifest["embedding_dimension"])
        if manifest["format_version"] == 2:
            return _read_v2(folder, manifest, dimension)
        holdings = []
        for record in manifest["segments"]:
            path = folder / SEGMENTS / str(record["name"])
            _check_files(path, record["files"], SEGMENT_FILES, hint)
            segment = _read_segment(path, str(record["name"]))
            removed = frozenset(int(i) for i in record["removed"])
            if removed and not 0 <= min(removed) <= max(removed) < len(segment.entries):
                raise ValueError(f"segment {segment.name} lists removed documents it lacks")
            holdings.append(Holding(segment, removed))
        vectors = manifest.get("vectors")
        store_folder = None
        if vectors is not None:
            store_folder = folder / VECTORS / str(vectors["name"])
            _check_files(store_folder, vectors["files"], (), hint)
        store = open_store(manifest["store"], dimension, folder=store_folder, create=False)
        snapshot = Snapshot(holdings, dimension, store)
        if not store.shared:
            _add_missing_vectors(store, snapshot)
        return snapshot
    except IndexCorruptError:
        raise
    except StoreError as error:
        raise IndexCorruptError(f"{error}. Rebuild with: {hint}") from error
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
        raise IndexCorruptError(
            f"The index in {folder} cannot be read ({type(error).__name__}: {error}). "
            f"Rebuild with: {hint}"
        ) from error


def _check_files(path: Path, files: dict[str, str], required: Sequence[str], hint: str) -> None:
    for name in sorted(set(required) | set(files)):
        if (
            name not in files
            or "/" in name
            or file_sha256(path / name, keep_cached=name in READ_WITH_PREAD) != files[name]
        ):
            raise IndexCorruptError(
                f"The index file {path / name} does not match its manifest (damaged or "
                f"changed by hand). Rebuild with: {hint}"
            )


def _add_missing_vectors(store: VectorStore, snapshot: Snapshot) -> None:
    """Put into the store the vectors of chunks its saved file does not hold (documents
    added since it was written): each is the mean of its sentences' vectors."""
    held = store.keys()
    missing = ~np.isin(snapshot.keys, held)
    if not missing.any():
        return
    entries = np.unique(snapshot.entry_at(np.flatnonzero(missing)))
    keys = [snapshot.entries[i].chunk_keys for i in entries]
    vectors = [snapshot.entries[i].chunk_vectors() for i in entries]
    store.add(np.concatenate(keys), np.concatenate(vectors))


def _read_segment(path: Path, name: str) -> Segment:
    keys = np.load(path / "chunk_keys.npy")
    entries = _read_entries(path, keys, RowsFile(path / "sentence_vectors.npy"))
    return Segment(name, tuple(entries), Postings.load(path))


def _read_entries(data: Path, keys: np.ndarray, sentence_vectors: RowsFile) -> list[DocumentEntry]:
    """The entries of a data folder, holding offsets, not texts (see qa/stored.py)."""
    mapped = np.load(data / "sentences.npy", mmap_mode="r")
    _read_at_random(mapped)
    spans = mapped.view(np.ndarray).reshape(-1, 2)
    chunks = _chunk_array(data / "chunks.jsonl")
    documents = DocumentsFile(data / "documents.jsonl")
    entries: list[DocumentEntry] = []
    chunk_at = sentence_at = 0
    for row, start, end in documents.rows():
        document = StoredDocument(
            source=str(row["source"]),
            path=str(row["path"]),
            sha256=str(row["sha256"]),
            pages=tuple(Page(*p) for p in row["pages"]),  # type: ignore[attr-defined]
            file=documents,
            row=(start, end),
            chars=len(row["text"]),  # type: ignore[arg-type]
        )
        n_sentences = int(row["sentences"])  # type: ignore[call-overload]
        chunk_end = chunk_at + int(row["chunks"])  # type: ignore[call-overload]
        entries.append(
            DocumentEntry(
                document=document,
                sentences=SpanTable(spans[sentence_at : sentence_at + n_sentences]),
                chunks=ChunkTable(document, chunks[chunk_at:chunk_end]),
                chunk_keys=keys[chunk_at:chunk_end],
                sentence_vectors=StoredRows(sentence_vectors, sentence_at, n_sentences),
            )
        )
        chunk_at, sentence_at = chunk_end, sentence_at + n_sentences
    if (
        chunk_at != len(chunks)
        or len(keys) != len(chunks)
        or sentence_at != len(spans)
        or len(spans) != sentence_vectors.rows
    ):
        raise ValueError("the chunk and sentence tables do not match the documents")
    return entries


def _chunk_array(path: Path) -> np.ndarray:
    """chunks.jsonl as rows of CHUNK_COLUMNS, read a line at a time into blocks of rows (a
    million rows as Python tuples would take a few hundred MB, and leave the heap that large)."""
    blocks: list[np.ndarray] = []
    block = np.empty((65_536, len(CHUNK_COLUMNS)), dtype=np.int64)
    filled = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            block[filled] = chunk_row(Chunk(**json.loads(line)))
            filled += 1
            if filled == len(block):
                blocks.append(block)
                block, filled = np.empty_like(block), 0
        with contextlib.suppress(OSError, AttributeError):
            os.posix_fadvise(lines.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return np.concatenate([*blocks, block[:filled]])


def _read_at_random(array: np.ndarray) -> None:
    """Tell the kernel that `array`'s file is read a few rows at a time: without this, its
    read-ahead pulls in far more of the file than a question looks at."""
    mapped = getattr(array, "_mmap", None)
    if mapped is not None and hasattr(mapped, "madvise"):
        with contextlib.suppress(OSError, ValueError):
            mapped.madvise(mmap.MADV_RANDOM)


def _read_v2(folder: Path, manifest: dict[str, Any], dimension: int) -> Snapshot:
    """A version 2 index: one data folder. Its BM25 is rebuilt here (its own format is
    bm25s's), and the next save writes it as segments."""
    data = folder / str(manifest["data"])
    _check_files(data, manifest["files"], _V2_FILES, rebuild_hint(folder, manifest.get("roots")))
    store = open_store(manifest["store"], dimension, folder=data, create=False)
    keys = np.load(data / "chunk_keys.npy")
    entries = _read_entries(data, keys, RowsFile(data / "sentence_vectors.npy"))
    return Snapshot.of(entries, dimension, store)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # One writer at a time per folder, across processes.
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale(folder: Path, manifest: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Remove what qa wrote and no longer uses (only ever called locked): segment and vector
    folders (those with qa's marker) the manifest does not name, a version 2 data folder,
    and the leftovers of killed saves in `.qa/`. Nothing else in the folder is touched."""
    keep = {str(s["name"]) for s in manifest["segments"]}
    if "vectors" in manifest:
        keep.add(str(manifest["vectors"]["name"]))
    for parent in (folder / SEGMENTS, folder / VECTORS):
        if parent.is_dir() and not parent.is_symlink():
            for path in parent.iterdir():
                if path.name not in keep and _written_by_qa(path):
                    shutil.rmtree(path, ignore_errors=True)
    old_data = (previous or {}).get("data")
    for path in folder.iterdir():
        if path.name.startswith("data-") and (
            _written_by_qa(path) or (path.name == old_data and "/" not in path.name)
        ):
            shutil.rmtree(path, ignore_errors=True)
    for path in (folder / WORK).iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _written_by_qa(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / DATA_MARKER).is_file()


def _write_json_atomically(path: Path, value: dict[str, Any]) -> None:
    # Written in qa's own work folder (same file system), so a killed save leaves its
    # leftovers only where qa may delete them.
    fd, temp = tempfile.mkstemp(prefix="tmp-", suffix=".json", dir=path.parent / WORK)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(value, out, indent=2, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_folder(path.parent)


def file_sha256(path: Path, *, keep_cached: bool = False) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
        # Hashing read the whole file into the page cache, in large pages that a memory map
        # would later take in whole at the first row read from each: drop them instead.
        # A file read with pread (keep_cached) keeps them: the first questions then find
        # their rows in the kernel's cache, which is not this process's memory.
        if not keep_cached:
            with contextlib.suppress(OSError, AttributeError):
                os.posix_fadvise(data.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(path: Path) -> None:
    """Make renames and removals in the folder `path` durable (best effort)."""
    with contextlib.suppress(OSError):
        _fsync(path)
