"""A user's own documents, uploaded through a page: checked, copied under safe names into the
index's uploads folder, and added; or removed again. Nothing half-added is ever left."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from qa import limits
from qa.documents import SUPPORTED_SUFFIXES, FileNotice, load_file
from qa.errors import DocumentError, InputError, SkippedFileWarning
from qa.index import Index, IndexReport, PathLike

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
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    n, unique = 2, name
    while unique.lower() in taken:  # lower: some file systems ignore case
        unique = _fit(stem, suffix, tag=f" ({n})")
        n += 1
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
    with tempfile.TemporaryDirectory(prefix="qa-upload-") as staging:
        # Each file is copied once, under its safe name, and what is read is what is kept:
        # the checks see the very bytes (and the very suffix) that go into the index.
        staged: list[Path] = []
        taken: set[str] = set()
        for i, file in enumerate(files):
            name = _unique(safe_filename(Path(os.fspath(file)).name), taken)
            report(0.5 * i / max(len(files), 1), f"Reading {name}")
            copy = Path(staging) / name
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
        report(0.5, f"Adding {what} to the index")
        with _uploads_lock:
            result = _add_in_place(index, staged, folder, limit)
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
        raise DocumentError(
            name, f"{kind} cannot be added (only {' '.join(SUPPORTED_UPLOADS)} files can)"
        )
    try:
        if not file.is_file():
            raise DocumentError(name, "not a file")
        size = file.stat().st_size
        if size > limit:
            raise DocumentError(
                name, f"it is {_amount(size)}, over the {_amount(limit)} upload limit"
            )
        copied = 0
        with open(file, "rb") as source, open(copy, "xb") as target:
            # Counted as it is copied too: a file that grows after the check is still stopped.
            while block := source.read(1 << 20):
                copied += len(block)
                if copied > limit:
                    raise DocumentError(name, f"it is over the {_amount(limit)} upload limit")
                target.write(block)
    except OSError as error:
        raise DocumentError(name, f"cannot be read ({error.strerror or error})") from error


def _amount(n: int) -> str:
    """Bytes as a person reads them: 900 bytes, 12.5 kB, 50 MB, 61.2 MB."""
    if n < 1000:
        return f"{n} bytes"
    value, unit = (n / 1e3, "kB") if n < 1_000_000 else (n / 1e6, "MB")
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def _add_in_place(index: Index, staged: Sequence[Path], folder: Path, limit: int) -> IndexReport:
    """Move staged files into `folder` and add them; on any failure put the folder back."""
    folder.mkdir(parents=True, exist_ok=True)
    placed: list[tuple[Path, Path | None]] = []  # each copy, and the file it replaced
    try:
        for file in staged:
            copy = folder / file.name
            # safe_filename rules these out; checked again, as a slip would write elsewhere.
            if file.name.startswith(".") or {"/", "\\", "\0"} & set(file.name):
                raise InputError(f"Refusing to write {file.name!r} into {folder}")
            backup = None
            if copy.exists() or copy.is_symlink():
                # Set aside, not overwritten: a link is never followed, and a failure below
                # can put it back. Hidden names are never indexed.
                handle, temporary = tempfile.mkstemp(prefix=".replaced-", dir=folder)
                os.close(handle)
                backup = Path(temporary)
                os.replace(copy, backup)
            placed.append((copy, backup))
            shutil.copyfile(file, copy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkippedFileWarning)  # reported in the result instead
            result = index.add([c for c, _ in placed], progress=True, max_file_bytes=limit)
    except BaseException:
        for copy, backup in reversed(placed):
            copy.unlink(missing_ok=True)
            if backup is not None:
                os.replace(backup, copy)
        raise
    for _, backup in placed:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return result


def remove_document(index: Index, source: str, *, folder: Path | None = None) -> str:
    """Remove a document from `index`, and its file when it was uploaded; says what it did."""
    if not source:
        raise InputError("Choose a document to remove.")
    document = index.document(source)
    removed = index.remove(source)
    folder = folder if folder is not None else uploads_folder(index)
    path = Path(document.path)
    if path.parent.resolve() == folder.resolve() and path.is_file():
        path.unlink()  # an uploaded copy belongs to the index; files of the user's own stay
    left = len(index)
    return f"Removed {', '.join(removed)}. {left} document{'s' if left != 1 else ''} left."
