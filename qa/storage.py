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
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
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
from qa.lexical import Bm25
from qa.snapshot import DocumentEntry, Snapshot
from qa.stores import StoreError, VectorStore, open_store
from qa.types import Chunk, Document, Page, Span

FORMAT = "qa-index"
FORMAT_VERSION = 2  # 2: chunk vectors in a vector store, found by key
MANIFEST = "manifest.json"
WORK = ".qa"  # qa's own scratch folder inside an index folder: staging data, temporary files
DATA_MARKER = ".qa-data"  # inside every data folder qa writes: proof that qa may delete it
FOLDER_MARKER = ".qa-index"  # says a folder is meant for a qa index (the repository's index/)
_FILES = (
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


def save_snapshot(folder: Path, snapshot: Snapshot, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write `snapshot` into `folder` and point the manifest at it; returns the manifest.

    A FAISS store is written into the data folder with the rest; a Milvus store keeps itself.
    """
    claim_folder(folder)
    with _locked(folder):
        previous = _previous_data(folder)
        staging = Path(tempfile.mkdtemp(prefix="data-", dir=folder / WORK))
        try:
            (staging / DATA_MARKER).write_text("written by qa: deleted when no longer used\n")
            with open(staging / "documents.jsonl", "w", encoding="utf-8") as out:
                for entry in snapshot.entries:
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
            with open(staging / "chunks.jsonl", "w", encoding="utf-8") as out:
                for chunk in snapshot.chunks:
                    out.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
            spans = np.array(
                [[s.start, s.end] for e in snapshot.entries for s in e.sentences], dtype=np.int64
            ).reshape(-1, 2)
            np.save(staging / "sentences.npy", spans)
            np.save(staging / "sentence_vectors.npy", snapshot.sentence_vectors)
            np.save(staging / "chunk_keys.npy", snapshot.keys)
            snapshot.store.save(staging)
            snapshot.bm25.save(staging / "bm25")
            manifest = dict(manifest)
            manifest["store"] = snapshot.store.describe()
            stored = [p.name for p in staging.iterdir() if p.is_file() and p.name != DATA_MARKER]
            manifest["files"] = {name: _sha256(staging / name) for name in sorted(stored)}
            for path in staging.rglob("*"):
                if path.is_file():
                    _fsync(path)
            data_name = f"data-{time.strftime('%Y%m%dT%H%M%S')}-{staging.name[-8:]}"
            staging.rename(folder / data_name)
            manifest["data"] = data_name
            _write_json_atomically(folder / MANIFEST, manifest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remove_stale(folder, keep=data_name, previous=previous)
    return manifest


def _previous_data(folder: Path) -> str | None:
    """The data folder named by the qa manifest now in `folder`, if any."""
    try:
        name = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("data")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name.startswith("data-") and "/" not in name else None


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
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise IndexMismatchError(
            f"The index in {folder} has format version {version}; this qa reads version "
            f"{FORMAT_VERSION}"
            + (" (it was built by a newer qa: upgrade qa, or" if newer else " (")
            + f" rebuild it with: {rebuild_hint(folder, manifest.get('roots'))})"
        )
    return manifest


def load_snapshot(folder: Path) -> tuple[Snapshot, dict[str, Any]]:
    """Read the index in `folder`, checking every data file against the manifest."""
    for attempt in range(3):
        manifest = read_manifest(folder)
        try:
            return _read_checked(folder, manifest), manifest
        except IndexCorruptError:
            # A save in another process may have replaced the data while we read it.
            if attempt == 2 or read_manifest(folder).get("data") == manifest.get("data"):
                raise
    raise AssertionError("unreachable")


def _read_checked(folder: Path, manifest: dict[str, Any]) -> Snapshot:
    hint = rebuild_hint(folder, manifest.get("roots"))
    try:
        data = folder / str(manifest["data"])
        files = manifest["files"]
        for name in sorted(set(_FILES) | set(files)):
            if name not in files or _sha256(data / name) != files[name]:
                raise IndexCorruptError(
                    f"The index file {data / name} does not match its manifest (damaged or "
                    f"changed by hand). Rebuild with: {hint}"
                )
        dimension = int(manifest["embedding_dimension"])
        store = open_store(manifest["store"], dimension, folder=data, create=False)
        return _read_data(data, dimension, store)
    except IndexCorruptError:
        raise
    except StoreError as error:
        raise IndexCorruptError(f"{error}. Rebuild with: {hint}") from error
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
        raise IndexCorruptError(
            f"The index in {folder} cannot be read ({type(error).__name__}: {error}). "
            f"Rebuild with: {hint}"
        ) from error


def _read_data(data: Path, dimension: int, store: VectorStore) -> Snapshot:
    keys = np.load(data / "chunk_keys.npy")
    sentence_vectors = np.load(data / "sentence_vectors.npy")
    spans = np.load(data / "sentences.npy")
    with open(data / "chunks.jsonl", encoding="utf-8") as lines:
        chunks = [Chunk(**json.loads(line)) for line in lines]
    entries: list[DocumentEntry] = []
    chunk_at = sentence_at = 0
    with open(data / "documents.jsonl", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            document = Document(
                source=row["source"],
                path=row["path"],
                text=row["text"],
                sha256=row["sha256"],
                pages=tuple(Page(*p) for p in row["pages"]),
            )
            n_sentences, chunk_end = int(row["sentences"]), chunk_at + int(row["chunks"])
            entries.append(
                DocumentEntry(
                    document=document,
                    sentences=tuple(
                        Span(int(s), int(e))
                        for s, e in spans[sentence_at : sentence_at + n_sentences]
                    ),
                    chunks=tuple(chunks[chunk_at:chunk_end]),
                    chunk_keys=keys[chunk_at:chunk_end],
                    sentence_vectors=sentence_vectors[sentence_at : sentence_at + n_sentences],
                )
            )
            chunk_at, sentence_at = chunk_end, sentence_at + n_sentences
    if (
        chunk_at != len(chunks)
        or len(keys) != len(chunks)
        or sentence_at != len(spans)
        or len(spans) != len(sentence_vectors)
    ):
        raise ValueError("the chunk and sentence tables do not match the documents")
    return Snapshot(entries, dimension, store, bm25=Bm25.load(data / "bm25"))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # One writer at a time per folder, across processes.
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale(folder: Path, keep: str, previous: str | None = None) -> None:
    """Remove what qa wrote and no longer uses (only ever called locked): older data folders
    (those with qa's marker, and the one the previous manifest named) and the leftovers of
    killed saves in `.qa/`. Nothing else in the folder is touched."""
    for path in folder.iterdir():
        if path.name == keep or path.is_symlink() or not path.is_dir():
            continue
        if path.name.startswith("data-") and (
            (path / DATA_MARKER).is_file() or path.name == previous
        ):
            shutil.rmtree(path, ignore_errors=True)
    for path in (folder / WORK).iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


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
    _fsync_dir(path.parent)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)
