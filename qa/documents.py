"""Load files (txt, md, html, pdf, docx) into Documents, skipping what cannot be read."""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from qa import limits
from qa.errors import DocumentError, InputError, NoDocumentsError
from qa.text import byte_size
from qa.types import Document, Page

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".rst"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}
DEFAULT_MAX_FILE_BYTES = 50_000_000


def supported_types() -> str:
    """The file types qa reads, as one list everywhere they are named: ".docx, .htm, ..."."""
    return ", ".join(sorted(SUPPORTED_SUFFIXES))


PAGE_SEPARATOR = "\n\n"  # between PDF pages and between DOCX paragraphs


@dataclass(frozen=True, slots=True)
class FileNotice:
    """Something a user should know about one file: why it was skipped, or what was repaired."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class FoundFile(NamedTuple):
    """A file to read, the source name it will have, and whether it is a link that leaves the
    folder it was found in (such a link is reported, never followed)."""

    path: Path
    source: str
    outside_link: bool = False


def find_files(paths: Sequence[str | os.PathLike[str]]) -> list[FoundFile]:
    """Every file under `paths`, once each, with the source name it will have in an index.

    Cheap (no file is read), so a large folder can be read a batch at a time afterwards.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise InputError("No paths given: name at least one file or folder to index.")
    roots = [Path(p).expanduser().resolve() for p in paths]
    for given, root in zip(paths, roots, strict=True):
        if not root.exists():
            raise InputError(f"No such file or folder: {os.fspath(given)}")
    base = _common_parent(roots)
    found: list[FoundFile] = []
    seen: set[Path] = set()
    for root, file in _walk(roots):
        real = file.resolve()  # a link and its target are one document
        source = file.relative_to(base).as_posix()
        if file != root and not real.is_relative_to(root):
            # A link in a folder to /etc/passwd or ~/.ssh: named, never read.
            found.append(FoundFile(file, source, outside_link=True))
        elif real not in seen:
            seen.add(real)
            found.append(FoundFile(file, source))
    return found


def read_files(
    files: Sequence[FoundFile], *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Iterator[tuple[Document | None, FileNotice | None]]:
    """Read files one at a time: (document, None), (document, what was repaired), or
    (None, why it was skipped)."""
    if max_file_bytes <= 0:
        raise InputError(f"max_file_bytes must be greater than 0, got {max_file_bytes}")
    for file, source, outside_link in files:
        if outside_link:
            yield None, FileNotice(source, OUTSIDE_LINK)
            continue
        try:
            document, repair = load_file(file, source=source, max_file_bytes=max_file_bytes)
        except DocumentError as error:
            yield None, FileNotice(source, error.reason)
            continue
        yield document, FileNotice(source, repair) if repair else None


def no_documents(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], skipped: list[FileNotice]
) -> NoDocumentsError:
    """The error for paths that held nothing readable, with the first reasons why."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    names = ", ".join(os.fspath(p) for p in paths)
    detail = "; ".join(str(n) for n in skipped[:5])
    return NoDocumentsError(
        f"No readable documents in {names}"
        + (f" ({detail})" if detail else "")
        + f". Supported formats: {supported_types()}."
    )


OUTSIDE_LINK = "a link to a file outside the folder; such links are not followed"


def load_file(
    path: str | os.PathLike[str],
    *,
    source: str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_chars: int | None = None,
) -> tuple[Document, str | None]:
    """Read one file into a Document; returns it with a note when its text had to be repaired.

    A text longer than `max_chars` (default: $QA_MAX_DOCUMENT_CHARS) is refused, and a .docx
    is never unpacked past $QA_MAX_UNPACKED_MB. Raises DocumentError with a reason a person
    can act on.
    """
    limit = limits.current()
    max_chars = max_chars if max_chars is not None else limit.document_chars
    file = Path(path).resolve()
    name = source or file.name
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            name,
            f"unsupported file type '{suffix or 'none'}' (supported: {supported_types()})",
        )
    try:
        size = file.stat().st_size
        if size > max_file_bytes:
            raise DocumentError(
                name, f"file is {byte_size(size)}, over the {byte_size(max_file_bytes)} limit"
            )
        data = file.read_bytes()
    except OSError as error:
        raise DocumentError(name, f"cannot be read ({error.strerror or error})") from error
    if not data.strip():
        raise DocumentError(name, "file is empty")

    repair: str | None = None
    pages: tuple[Page, ...] = ()
    if suffix in TEXT_SUFFIXES:
        text, repair = _decode_text(name, data)
    elif suffix in HTML_SUFFIXES:
        text, repair = _decode_text(name, data)
        text = html_visible_text(text)
    elif suffix == ".pdf":
        text, pages = _pdf_text(name, data, max_chars)
    else:
        text = _docx_text(name, data, limit.unpacked_bytes)
    if len(text) > max_chars:
        raise too_long(name, len(text), max_chars)
    if not text.strip():
        raise DocumentError(name, "no text found in the file")
    document = Document(
        source=name,
        path=str(file),
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        pages=pages,
    )
    return document, repair


def too_long(name: str, chars: int | None, max_chars: int) -> DocumentError:
    """The error for a document with more text than one document may hold."""
    size = f"{chars:,} characters" if chars is not None else "more"
    return DocumentError(
        name,
        f"its text is {size}, over the limit of {max_chars:,} for one document "
        "(QA_MAX_DOCUMENT_CHARS); split it into smaller files",
    )


def _walk(roots: Iterable[Path]) -> Iterable[tuple[Path, Path]]:
    """(root, file) for the files under each root in a stable order; hidden files and folders
    are left out, and links to folders are not entered."""
    for root in roots:
        if root.is_file():
            yield root, root
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield root, Path(folder) / name


def _common_parent(roots: Sequence[Path]) -> Path:
    # Sources are named relative to the folder above every input: ["docs/", "notes.md"]
    # gives "docs/a.txt" and "notes.md".
    return Path(os.path.commonpath([r.parent for r in roots]))


def _decode_text(name: str, data: bytes) -> tuple[str, str | None]:
    if b"\x00" in data[:8192]:
        raise DocumentError(name, "looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        text = data.decode("utf-8-sig", errors="replace")
        if text.count("\ufffd") > max(16, len(text) // 10):
            raise DocumentError(name, "looks like a binary file, not UTF-8 text") from error
        # error.start counts from after the BOM that utf-8-sig skipped.
        at = error.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        return text, f"not valid UTF-8 at byte {at}; undecodable bytes shown as \ufffd"


# Elements whose text a browser does not show as page content.
_INVISIBLE = [
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "svg",
    "math",
    "iframe",
    "object",
    "canvas",
    "select",
]
_BLOCKS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "td",
    "th",
    "title",
    "tr",
    "ul",
}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def html_visible_text(markup: str) -> str:
    """The text a reader sees on an HTML page: blocks become paragraphs, hidden parts go."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    # The page's own <title>, not one inside an inline SVG icon.
    title_tag = soup.find(lambda t: t.name == "title" and t.find_parent(["svg", "math"]) is None)
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup(_INVISIBLE):
        tag.decompose()
    hidden = [
        tag
        for tag in soup.find_all(True)
        if tag.has_attr("hidden") or _HIDDEN_STYLE.search(str(tag.get("style", "")))
    ]
    for tag in hidden:
        if not tag.decomposed:
            tag.decompose()
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text("")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    body = [p for p in paragraphs if p]
    if title and (not body or body[0] != title):
        body.insert(0, title)
    return "\n\n".join(body)


def _pdf_text(name: str, data: bytes, max_chars: int) -> tuple[str, tuple[Page, ...]]:
    from pypdf import PdfReader

    page_texts: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(data))
        locked = reader.is_encrypted and not reader.decrypt("")
        total = 0
        for page in [] if locked else reader.pages:
            page_texts.append(page.extract_text() or "")
            total += len(page_texts[-1])
            if total > max_chars:  # stop reading: the rest would be refused anyway
                raise too_long(name, None, max_chars)
    except DocumentError:
        raise
    except Exception as error:  # pypdf raises many types on damaged files
        raise DocumentError(
            name, f"not a readable PDF ({type(error).__name__}: {error})"
        ) from error
    if locked:
        raise DocumentError(name, "PDF is encrypted with a password; save an unlocked copy")
    parts: list[str] = []
    pages: list[Page] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        page_text = page_text.strip()
        if not page_text:
            continue
        if parts:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
        pages.append(Page(number, offset, offset + len(page_text)))
        parts.append(page_text)
        offset += len(page_text)
    if not pages:
        raise DocumentError(name, "PDF has no extractable text (a scan without OCR?)")
    return "".join(parts), tuple(pages)


def _check_unpacked_size(name: str, data: bytes, max_unpacked: int) -> None:
    """Refuse a .docx whose parts would unpack to more than `max_unpacked` bytes.

    The sizes come from the zip's directory, so nothing is decompressed to check them, and
    zipfile never returns more than a part's stated size: a part that lies about it fails
    its checksum instead of growing. A 1 MB upload holding a 413 MB document.xml stops here.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise DocumentError(
            name, f"not a readable Word (.docx) file (not a valid zip archive: {error})"
        ) from error
    if unpacked > max_unpacked:
        raise DocumentError(
            name,
            f"it would unpack to {byte_size(unpacked)}, over the {byte_size(max_unpacked)} limit "
            "(QA_MAX_UNPACKED_MB); a real Word file this size is rare: save it again or split it",
        )


def _docx_text(name: str, data: bytes, max_unpacked: int) -> str:
    import docx

    _check_unpacked_size(name, data, max_unpacked)
    try:
        # Read from memory, not the path: an error message never shows where the file sits.
        doc = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx surfaces zip, lxml and package errors alike
        raise DocumentError(
            name, f"not a readable Word (.docx) file ({type(error).__name__}: {error})"
        ) from error
    return PAGE_SEPARATOR.join(b for b in _docx_blocks(doc) if b)


def _docx_blocks(container: Any) -> Iterator[str]:
    """Paragraphs and table rows in reading order; a table inside a cell follows its row."""
    from docx.table import Table

    for item in container.iter_inner_content():
        if not isinstance(item, Table):
            yield item.text.strip()
            continue
        for row in item.rows:
            cells: list[str] = []
            nested: list[str] = []
            seen: set[int] = set()
            for cell in row.cells:  # a merged cell is listed once per grid column it spans
                if id(cell._tc) in seen:
                    continue
                seen.add(id(cell._tc))
                cells.append(cell.text.strip())
                nested.extend(b for t in cell.tables for b in _docx_blocks(_Only(t)))
            yield " | ".join(c for c in cells if c)
            yield from nested


class _Only:
    """One table as a container whose inner content is that table."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def iter_inner_content(self) -> Iterator[Any]:
        yield self.table
