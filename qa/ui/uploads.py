"""A user's own documents, uploaded through a page: checked, copied under safe names into the
index's uploads folder, and added; or removed again. Nothing half-added is ever left."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import tempfile
import threading
import unicodedata
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from qa import limits
from qa.documents import SUPPORTED_SUFFIXES, FileNotice, load_file, supported_types
from qa.errors import DocumentError, InputError, SkippedFileWarning
from qa.index import Index, IndexReport, PathLike
from qa.storage import file_sha256, fsync_folder
from qa.text import byte_size, unique_name

# Every type qa reads; the page's file picker offers these, and add_uploads refuses the rest.
SUPPORTED_UPLOADS = sorted(SUPPORTED_SUFFIXES)
DEFAULT_UPLOAD_MB = 50
MAX_NAME = 120  # bytes of UTF-8, well under the 255 most file systems allow
# Names Windows reserves for devices: "CON.txt" cannot be created there.
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}
_uploads_lock = threading.Lock()  # one upload at a time moves files into the uploads folder


def upload_limit(text: str | None = None, *, where: str = "QA_MAX_UPLOAD_MB") -> int:
    """The largest upload in bytes: `text` megabytes, else $QA_MAX_UPLOAD_MB, else 50 MB."""
    return limits.megabytes(where, DEFAULT_UPLOAD_MB * 1_000_000, text)


def uploads_folder(index: Index) -> Path:
    """Where uploaded files are kept: $QA_UPLOADS, else uploads/ inside the index folder."""
    # Inside the index folder: git-ignored with it, one folder per index (no two indexes
    # overwrite each other's "notes.md"), and the index's own saves never touch it.
    if os.environ.get("QA_UPLOADS"):
        return Path(os.environ["QA_UPLOADS"]).expanduser()
    if index.path is None:
        raise InputError("This index lives in memory only: set QA_UPLOADS to a folder")
    return index.path / "uploads"


def safe_filename(name: str) -> str:
    """A plain file name from an untrusted one: no folders, "..", control or odd characters.

    "../../etc/passwd.txt" -> "passwd.txt"; "a<b>\\n.MD" -> "a_b.md"; "..." -> "upload".
    The result is never hidden (no leading dot), at most MAX_NAME bytes, and names no device.
    """
    safe = _safe_once(name)
    for _ in range(4):  # cleaning can expose what one more pass would change: "0‥0℠"
        again = _safe_once(safe)
        if again == safe:
            break
        safe = again
    return safe


def _safe_once(name: str) -> str:
    # NFKC first: a full-width "／" or "．．" becomes a real one, and is dropped as a folder.
    base = PureWindowsPath(unicodedata.normalize("NFKC", name)).name  # drops "a/" and "a\\"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = re.sub(r"[^\w]+", "", suffix).lower()
    if len(suffix) > 10:  # "notes.final_version_for_ann": not an extension
        stem, suffix = f"{stem}_{suffix}", ""
    return _fit(stem, suffix)


def _fit(stem: str, suffix: str, tag: str = "") -> str:
    """stem + tag + "." + suffix, cleaned, with the stem cut to keep it within MAX_NAME bytes."""
    # \w is Unicode-aware: letters of any script stay; controls, marks and symbols do not.
    stem = re.sub(r"[^\w\-.() ]+", "_", stem)
    stem = re.sub(r"\.{2,}", ".", stem).strip(" ._-")
    room = MAX_NAME - len(tag.encode()) - (len(suffix.encode()) + 1 if suffix else 0)
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .") or "upload"
    first, dot, rest = stem.partition(".")
    if first.upper() in _RESERVED:  # "aux.tar.md" is reserved too: "aux_.tar.md"
        stem = f"{first}_{dot}{rest}"
    return f"{stem}{tag}.{suffix}" if suffix else f"{stem}{tag}"


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or "name (2).ext", "name (3).ext"... when an earlier file of the batch has it."""
    # lower: some file systems ignore case
    unique = unique_name(name, lambda candidate: candidate.lower() in taken, fit=_fit)
    taken.add(unique.lower())
    return unique


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What adding uploaded files did: the documents added, updated or unchanged, files skipped."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[FileNotice] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the index now holds something it did not before."""
        return bool(self.added or self.updated)

    @property
    def message(self) -> str:
        """A sentence or two for the page."""
        lines = []
        if self.added:
            lines.append(f"Added {', '.join(self.added)}.")
        if self.updated:
            lines.append(f"Updated {', '.join(self.updated)}.")
        if self.unchanged:
            lines.append(f"Already in the index, unchanged: {', '.join(self.unchanged)}.")
        for notice in self.skipped:
            lines.append(f"Could not add {notice.path}: {notice.message}.")
        if not self.changed and not self.unchanged:
            lines.append("The index is unchanged.")
        return " ".join(lines)


Progress = Callable[[float, str], None]


def add_uploads(
    index: Index,
    files: Sequence[PathLike],
    *,
    folder: Path | None = None,
    progress: Progress | None = None,
    max_bytes: int | None = None,
) -> UploadResult:
    """Copy uploaded files into the uploads folder under safe names, then add them to `index`.

    A file of a type qa does not read, over `max_bytes` (default: `upload_limit()`), or that
    cannot be read is reported, not copied; if no file is left, the index is left exactly as
    it was. A file named like an earlier upload replaces it (the document is updated).
    """
    folder = folder if folder is not None else uploads_folder(index)
    limit = max_bytes if max_bytes is not None else upload_limit()
    report = progress or (lambda share, what: None)
    skipped: list[FileNotice] = []
    created = not folder.exists()
    _make_private_folder(folder)
    # Staged inside the uploads folder, hidden: never in /tmp, where a killed app would leave
    # copies of private documents, and on the same disk, so placing a file is one rename.
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    try:
        # Each file is copied once, under its safe name, and what is read is what is kept:
        # the checks see the very bytes (and the very suffix) that go into the index.
        staged: list[Path] = []
        taken: set[str] = set()
        for i, file in enumerate(files):
            name = _unique(safe_filename(Path(os.fspath(file)).name), taken)
            of = f" ({i + 1} of {len(files)})" if len(files) > 1 else ""
            report(0.5 * i / max(len(files), 1), f"Reading {name}{of}…")
            copy = staging / name
            try:
                _stage(Path(file), copy, limit)
                load_file(copy, source=name, max_file_bytes=limit)
            except DocumentError as error:
                skipped.append(FileNotice(name, error.reason))
                continue
            staged.append(copy)
        if not staged:
            return UploadResult(skipped=skipped)
        what = staged[0].name if len(staged) == 1 else f"{len(staged)} files"
        report(0.5, f"Indexing {what}: cutting it into passages and embedding them…")
        with _uploads_lock:
            recover(index, folder)  # an upload a killed app left half done comes first
            result = _add_in_place(index, staged, folder, limit, report, what)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: nothing was added
    report(1.0, "Done")
    return UploadResult(
        added=result.added,
        updated=result.updated,
        skipped=skipped + result.skipped,
        unchanged=result.unchanged,
    )


def _stage(file: Path, copy: Path, limit: int) -> None:
    """Copy an upload to `copy` if it is a file of a supported type within `limit` bytes."""
    name = copy.name
    suffix = copy.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{suffix}' files" if suffix else "files without an extension"
        raise DocumentError(name, f"{kind} cannot be added (only {supported_types()} files can)")
    try:
        if not file.is_file():
            raise DocumentError(name, "not a file")
        size = file.stat().st_size
        if size > limit:
            raise DocumentError(
                name, f"it is {byte_size(size)}, over the {byte_size(limit)} upload limit"
            )
        copied = 0
        with open(file, "rb") as source, open(copy, "xb") as target:
            # Counted as it is copied too: a file that grows after the check is still stopped.
            while block := source.read(1 << 20):
                copied += len(block)
                if copied > limit:
                    raise DocumentError(name, f"it is over the {byte_size(limit)} upload limit")
                target.write(block)
    except OSError as error:
        raise DocumentError(name, f"cannot be read ({error.strerror or error})") from error


def _add_in_place(
    index: Index, staged: Sequence[Path], folder: Path, limit: int, report: Progress, what: str
) -> IndexReport:
    """Move staged files into `folder` and add them; on any failure put the folder back.

    A journal written first names every file placed and every original set aside, so that
    after a kill -9 at any step `recover` can finish the upload (the index took the new files)
    or undo it (it did not): the folder and the index always end up agreeing.
    """
    entries: list[JournalEntry] = []
    for file in staged:
        # safe_filename rules these out; checked again, as a slip would write elsewhere.
        if file.name.startswith(".") or {"/", "\\", "\0"} & set(file.name):
            raise InputError(f"Refusing to write {file.name!r} into {folder}")
        live = folder / file.name
        backup = f".replaced-{uuid.uuid4().hex}" if live.exists() or live.is_symlink() else None
        entries.append(JournalEntry(file.name, backup, file_sha256(file)))
    _write_journal(folder, entries)
    try:
        for file, entry in zip(staged, entries, strict=True):
            if entry.backup is not None:
                # Set aside, not overwritten: a link is never followed, and a failure below
                # can put it back. Hidden names are never indexed.
                os.replace(folder / entry.name, folder / entry.backup)
            os.chmod(file, 0o600)  # private like the index itself
            os.replace(file, folder / entry.name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkippedFileWarning)  # reported in the result instead
            placed = [folder / e.name for e in entries]
            result = index.add(
                placed,
                progress=True,
                max_file_bytes=limit,
                on_embedded=lambda done, total: report(
                    0.5 + 0.5 * done / max(total, 1),
                    f"Indexing {what}: embedding {done} of {total} sentences…",
                ),
            )
    except BaseException:
        _undo(folder, entries)
        _finish(folder, [])  # put back as it was: only the journal is left to go
        raise
    _finish(folder, entries)
    return result


def remove_document(index: Index, source: str, *, folder: Path | None = None) -> str:
    """Remove a document from `index`, and its file when it was uploaded; says what it did."""
    if not source:
        raise InputError("Choose a document to remove.")
    document = index.document(source)
    folder = folder if folder is not None else uploads_folder(index)
    path = Path(document.path)
    # An uploaded copy belongs to the index; files of the user's own stay.
    uploaded = path.parent.resolve() == folder.resolve() and path.is_file()
    with _uploads_lock:
        if not uploaded:
            removed = index.remove(source)
        else:
            recover(index, folder)
            # Journaled like an upload: a kill -9 leaves the file and the index agreeing.
            entries = [JournalEntry(path.name, f".removed-{uuid.uuid4().hex}", None)]
            _write_journal(folder, entries)
            try:
                os.replace(path, folder / str(entries[0].backup))
                removed = index.remove(source)
            except BaseException:
                _undo(folder, entries)
                _finish(folder, [])
                raise
            _finish(folder, entries)
    left = len(index)
    return f"Removed {', '.join(removed)}. {left} document{'s' if left != 1 else ''} left."


# --- the journal: what a kill -9 in the middle of an upload or removal leaves ---------------

JOURNAL = ".journal.json"
STAGING_PREFIX = ".staging-"
LEFTOVERS = (".replaced-", ".removed-", ".journal-")  # set-aside originals, a half-written journal


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One file an upload places (sha256 of the new bytes) or a removal takes away (None),
    and the hidden name its previous version is kept under until the index has changed."""

    name: str
    backup: str | None
    sha256: str | None


def recover(index: Index, folder: Path) -> list[str]:
    """Finish or undo an upload or removal that a killed app left half done; names the files
    put back. The index decides: what it took is kept, what it did not is undone."""
    journal = folder / JOURNAL
    try:
        raw = json.loads(journal.read_text(encoding="utf-8"))
        entries = [JournalEntry(e["name"], e["backup"], e["sha256"]) for e in raw["entries"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)  # written atomically, so only a hand-made one is bad
        return []
    held = {d.path: d.sha256 for d in index.documents}
    undone: list[JournalEntry] = []
    for entry in entries:
        if Path(entry.name).name != entry.name or entry.name.startswith("."):
            continue  # never outside the folder, whatever the file says
        indexed = held.get(str((folder / entry.name).resolve()))
        taken = indexed == entry.sha256 if entry.sha256 is not None else indexed is None
        if not taken:
            undone.append(entry)
    _undo(folder, undone)
    _finish(folder, entries)
    return [e.name for e in undone]


def clean_on_start(index: Index, folder: Path | None = None) -> None:
    """At an app's start: recover a half-done upload, and delete staging copies and set-aside
    originals that a killed app left in the uploads folder."""
    folder = folder if folder is not None else uploads_folder(index)
    if not folder.is_dir():
        return
    with _uploads_lock:
        recover(index, folder)
        for path in folder.iterdir():
            if path.name.startswith(STAGING_PREFIX) and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif path.name.startswith(LEFTOVERS) and not path.is_dir():
                path.unlink(missing_ok=True)


def _undo(folder: Path, entries: Sequence[JournalEntry]) -> None:
    for entry in reversed(entries):
        live = folder / entry.name
        ours = entry.sha256 is not None and live.is_file() and not live.is_symlink()
        if ours and file_sha256(live) == entry.sha256:
            live.unlink()  # the new copy, which the index does not hold
        if entry.backup is not None and (folder / entry.backup).exists():
            os.replace(folder / entry.backup, live)
    fsync_folder(folder)


def _finish(folder: Path, entries: Sequence[JournalEntry]) -> None:
    for entry in entries:
        if entry.backup is not None:
            (folder / entry.backup).unlink(missing_ok=True)
    (folder / JOURNAL).unlink(missing_ok=True)
    fsync_folder(folder)


def _write_journal(folder: Path, entries: Sequence[JournalEntry]) -> None:
    """The journal, on disk before any file moves (written whole, then renamed into place)."""
    text = json.dumps({"entries": [dataclasses.asdict(e) for e in entries]})
    fd, temporary = tempfile.mkstemp(prefix=".journal-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, folder / JOURNAL)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_folder(folder)


def _make_private_folder(folder: Path) -> None:
    """The uploads folder, made if needed, readable by this user only (like the index)."""
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        folder.chmod(0o700)
