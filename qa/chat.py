"""What a chat page needs from qa, with no UI library: follow-ups, safe HTML, JSON, uploads."""

from __future__ import annotations

import html
import ipaddress
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from qa.api import default_index, default_index_path
from qa.cli import location
from qa.documents import SUPPORTED_SUFFIXES, FileNotice, load_file
from qa.errors import DocumentError, InputError, SkippedFileWarning
from qa.index import Index, IndexReport, PathLike
from qa.lexical import terms
from qa.types import Answer, Citation, Passage

# --- follow-up questions ------------------------------------------------------------------

PERSONAL = {"he", "him", "she", "her"}
POSSESSIVE = {"his", "hers", "its", "their", "theirs"}
OTHER = {"it", "they", "them"}
DEMONSTRATIVE = {"this", "that", "these", "those"}
# "this" refers back when it stands for a whole thing ("What does this mean?"), not in
# "this year"; the words that may follow it then are few.
_DEMONSTRATIVE_BEFORE = {"is", "was", "are", "were", "mean", "means", "meant", "say", "said"}
_DEMONSTRATIVE_BEFORE |= {"do", "does", "did", "happen", "happened", "refer", "refers"}
_ELLIPSIS = re.compile(r"^\s*(and|what about|how about)\b", re.IGNORECASE)
# Capitalised words, joined by the small words inside names ("Islamic Emirate of Afghanistan").
_NAME = re.compile(
    r"[A-Z][\w\-]*(?:[’']s)?(?:\s+(?:(?:of|for|the|de|al)\s+)*[A-Z][\w\-]*(?:[’']s)?)*"
)
# Capitalised only because they start a sentence or a question; never the name asked about.
_NOT_NAMES = set(
    "who what when where why how which whose whom is are was were did does do can could should "
    "would will has have had the a an at in on of for to from by with as it he she they we i "
    "you this that these those there since although even if and but or so its his her their "
    "our my according one many two after before during while tell please also then now yes "
    "no however meanwhile thus".split()
)
_WORD_TOKEN = re.compile(r"[\w’'\-]+|[^\w\s]")
_PRONOUN = re.compile(
    r"\b(?:" + "|".join(sorted(PERSONAL | POSSESSIVE | OTHER | DEMONSTRATIVE)) + r")\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange of a chat: what was asked, what it was understood as, what was answered."""

    question: str
    searched: str  # the question with its references resolved: what retrieval saw
    answer: str


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, a {"text": ...} part, or a list of them."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, Sequence):
        return " ".join(t for t in (message_text(part) for part in content) if t)
    return ""


def answer_from_reply(reply: str) -> str:
    """The plain answer inside a reply made by `render_reply` (or the reply itself, untagged)."""
    match = re.search(r'<div class="qa-answer[^"]*">(.*?)</div>', reply, re.DOTALL)
    inner = match.group(1) if match else reply
    return html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()


def chat_turns(history: Sequence[Mapping[str, Any]]) -> list[Turn]:
    """The question/answer pairs of a messages-format history, each follow-up resolved in turn."""
    turns: list[Turn] = []
    question: str | None = None
    for message in history:
        text = message_text(message.get("content"))
        if message.get("role") == "user":
            question = text
        elif message.get("role") == "assistant" and question is not None:
            searched = contextualize(question, turns)
            turns.append(Turn(question, searched, answer_from_reply(text)))
            question = None
    return turns


def names_in(text: str) -> list[str]:
    """Capitalised names in `text`, first seen first: "Who is Thomas West?" -> ["Thomas West"]."""
    found: list[str] = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        while words and words[0].lower() in _NOT_NAMES:
            words.pop(0)
        while words and words[-1].lower() in {"of", "for", "the", "de", "al"}:
            words.pop()
        name = re.sub(r"[’']s$", "", " ".join(words))
        if len(name) > 1 and name not in found:
            found.append(name)
    return found


def contextualize(question: str, turns: Sequence[Turn]) -> str:
    """The question to search for, with "he", "it", "this"... replaced by what they refer to.

    After "Who is Thomas West?", "What did he say about aid?" becomes
    "What did Thomas West say about aid?". Questions that stand alone come back unchanged.
    """
    question = " ".join(question.split())
    if not turns:
        return question
    previous = turns[-1]
    tokens = _WORD_TOKEN.findall(question)
    references = [i for i, t in enumerate(tokens) if _refers_back(tokens, i)]
    if not references:
        if _ELLIPSIS.match(question) and len(tokens) <= 6:
            # "And Kazakhstan?" asks the previous question again about something else.
            return f"{question} {_content_words(previous.searched)}".strip()
        return question
    personal = any(tokens[i].lower() in PERSONAL | {"his", "hers"} for i in references)
    if not personal and names_in(question):
        # "When did the Karsk observatory open its dome?": "its" is the question's own subject.
        return question
    name = _antecedent(previous, personal=personal)
    if name is None:
        # Nothing named: the previous question's own words carry its subject.
        return f"{question} {_content_words(previous.searched)}".strip()
    return _substitute(question, name)


def _refers_back(tokens: Sequence[str], i: int) -> bool:
    word = tokens[i].lower()
    if word in PERSONAL | POSSESSIVE | OTHER:
        return True
    if word in DEMONSTRATIVE:
        following = tokens[i + 1].lower() if i + 1 < len(tokens) else "?"
        return not following[0].isalnum() or following in _DEMONSTRATIVE_BEFORE
    return False


def _antecedent(previous: Turn, *, personal: bool) -> str | None:
    """What a pronoun in the next question most likely names."""
    asked = names_in(previous.searched)
    answered = [n for n in names_in(previous.answer) if n not in asked]
    wh = previous.searched.split()[0].lower() if previous.searched.split() else ""
    if personal:
        # "he" is a person: a full name, from the question first, else from its answer.
        for name in [*asked, *answered]:
            if len(name.split()) >= 2:
                return name
    if wh in {"who", "which"} and answered:
        return answered[0]  # "Which country ...?" - "Why did it ...?": the answer is the subject
    # Otherwise "it" is what the question was about; an answer's names are only by the way.
    return asked[0] if asked else None


def _substitute(question: str, name: str) -> str:
    """The question with its first back-referring pronoun replaced by `name`."""
    for match in _PRONOUN.finditer(question):
        word = match.group()
        following = _WORD_TOKEN.findall(question[match.end() :])[:1]
        if not _refers_back([word, *following], 0):
            continue  # "this year": not a reference
        name = f"{name}'s" if word.lower() in POSSESSIVE else name
        return question[: match.start()] + name + question[match.end() :]
    return question


def _content_words(text: str) -> str:
    words = re.findall(r"[\w’'\-]+", text)
    return " ".join(w for w in words if terms(w) and w.lower() not in _NOT_NAMES)


# --- HTML for answers and their sources ---------------------------------------------------

CONTEXT_CHARS = 160  # characters of the passage shown on each side of the cited span
_MARKER = re.compile(r"\[(\d+)\]")


def escape(text: str) -> str:
    """Document text as inert HTML on one line: no tag, entity, Markdown block or LaTeX survives."""
    # One line keeps a Markdown renderer inside the HTML block; "$" would start LaTeX.
    return html.escape(" ".join(text.split()), quote=True).replace("$", "&#36;")


def render_reply(
    answer: Answer, *, anchor: str, words: int | None = None, asked: str | None = None
) -> str:
    """The chat reply: the answer with linked [n] markers, then its sources (once complete).

    `words` shows only the answer's first words, for streaming; `anchor` makes the links of
    this reply unique on the page; `asked` (the question as typed) shows what was searched
    when a follow-up was rewritten.
    """
    tokens = answer.text.split()
    complete = words is None or words >= len(tokens)
    shown = tokens if words is None else tokens[:words]
    citations = {c.n: c for c in answer.citations}
    text = " ".join(_render_token(t, citations, anchor) for t in shown)
    kind = "qa-answer" if answer.answered else "qa-answer qa-refusal"
    parts = [f'<div class="qa-reply"><div class="{kind}">{text}</div>']
    if complete:
        if asked is not None and " ".join(asked.split()) != answer.question:
            parts.append(f'<div class="qa-note">Searched for: “{escape(answer.question)}”</div>')
        if answer.mode == "generate" and answer.generation and not answer.generation.fell_back:
            parts.append(
                f'<div class="qa-note">Written by {escape(answer.generation.model)}; every '
                "sentence shown was checked against the passage it cites.</div>"
            )
        parts.extend(f'<div class="qa-note">{escape(note)}</div>' for note in answer.notes)
        parts.append(render_sources(answer, anchor=anchor))
    parts.append("</div>")
    return "".join(parts)


def _render_token(token: str, citations: Mapping[int, Citation], anchor: str) -> str:
    match = _MARKER.fullmatch(token)
    if match is None or int(match.group(1)) not in citations:
        return escape(token)
    c = citations[int(match.group(1))]
    title = escape(f"{c.source}, {location(c)}")
    return f'<a class="qa-marker" href="#{anchor}-{c.n}" title="{title}">[{c.n}]</a>'


def render_sources(answer: Answer, *, anchor: str) -> str:
    """The cited passages, each with its document, location and the quoted span in <mark>."""
    if answer.citations:
        cards = [_citation_card(c, answer.passages, anchor) for c in answer.citations]
        return (
            '<div class="qa-sources"><div class="qa-heading">Sources</div>'
            + "".join(cards)
            + "</div>"
        )
    if answer.passages:
        cards = [_passage_card(p) for p in answer.passages[:3]]
        heading = "Closest passages (not enough to answer)"
        return (
            f'<div class="qa-sources"><div class="qa-heading">{heading}</div>'
            + "".join(cards)
            + "</div>"
        )
    return ""


def highlighted(citation: Citation, passages: Sequence[Passage]) -> str:
    """The passage around a citation, escaped, with the cited span in <mark>."""
    passage = next(
        (
            p
            for p in passages
            if p.source == citation.source and p.start <= citation.start and citation.end <= p.end
        ),
        None,
    )
    before = after = ""
    if passage is not None:
        before = _clip_left(passage.text[: citation.start - passage.start])
        after = _clip_right(passage.text[citation.end - passage.start :])
    quote = escape(citation.quote)
    return f"{escape(before)} <mark>{quote}</mark> {escape(after)}".strip()


def _clip_left(text: str) -> str:
    if len(text) <= CONTEXT_CHARS:
        return text
    cut = text[-CONTEXT_CHARS:]
    return "…" + cut[cut.find(" ") + 1 :] if " " in cut else "…" + cut


def _clip_right(text: str) -> str:
    if len(text) <= CONTEXT_CHARS:
        return text
    cut = text[:CONTEXT_CHARS]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


def _citation_card(c: Citation, passages: Sequence[Passage], anchor: str) -> str:
    head = (
        f'<span class="qa-n">[{c.n}]</span> <span class="qa-doc">{escape(c.source)}</span>'
        f' <span class="qa-loc">{escape(location(c))}</span>'
    )
    body = f'<div class="qa-passage">{highlighted(c, passages)}</div>'
    return (
        f'<div class="qa-source" id="{anchor}-{c.n}"><div class="qa-head">{head}</div>{body}</div>'
    )


def _passage_card(p: Passage) -> str:
    head = (
        f'<span class="qa-doc">{escape(p.source)}</span>'
        f' <span class="qa-loc">{escape(location(p))}</span>'
    )
    body = f'<div class="qa-passage">{escape(_clip_right(p.text))}</div>'
    return f'<div class="qa-source"><div class="qa-head">{head}</div>{body}</div>'


def stream_steps(answer: Answer, *, steps: int = 20) -> list[int]:
    """How many words to show at each step of streaming the answer: [2, 4, ..., all]."""
    total = len(answer.text.split())
    size = max(1, -(-total // steps))  # ceiling division: at most `steps` updates
    return [*range(size, total, size), total]


def stream_reply(answer: Answer, *, anchor: str, asked: str | None = None) -> Iterator[str]:
    """The reply growing word by word, markers intact, ending with the complete one."""
    for words in stream_steps(answer):
        yield render_reply(answer, anchor=anchor, words=words, asked=asked)


def render_writing(text: str) -> str:
    """A written answer while it is being written: checked sentences so far, then a cursor."""
    shown = escape(text) if text else "Writing…"
    return f'<div class="qa-reply"><div class="qa-answer qa-writing">{shown} ▍</div></div>'


def render_error(message: str) -> str:
    """An error shown in the chat instead of an answer."""
    return f'<div class="qa-reply"><div class="qa-error">{escape(message)}</div></div>'


def render_notice(message: str, *, error: bool = False) -> str:
    """A status line for the page (what an upload or a setting did), escaped."""
    kind = "qa-notice qa-error" if error else "qa-notice"
    return f'<div class="{kind}" role="status">{escape(message)}</div>' if message else ""


# --- JSON for the API ---------------------------------------------------------------------


def answer_json(answer: Answer, *, asked: str | None = None) -> dict[str, Any]:
    """The answer as JSON for API clients: text, citations (with quotes) and passages."""
    return {
        "question": asked if asked is not None else answer.question,
        "searched": answer.question,
        "text": answer.text,
        "answered": answer.answered,
        "mode": answer.mode,
        "notes": list(answer.notes),
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "page": c.page,
                "location": location(c),
                "quote": c.quote,
                "score": c.score,
            }
            for c in answer.citations
        ],
        "passages": [
            {
                "source": p.source,
                "start": p.start,
                "end": p.end,
                "page": p.page,
                "text": p.text,
                "score": p.score,
            }
            for p in answer.passages
        ],
    }


# --- which index ---------------------------------------------------------------------------

_opened: dict[Path, Index] = {}
_opened_lock = threading.Lock()


def open_index(folder: PathLike | None = None) -> Index:
    """The index saved in `folder` (blank: the default index), opened once per process."""
    text = os.fspath(folder).strip() if folder is not None else ""
    if not text:
        return default_index()
    path = Path(text).expanduser().resolve()
    if path == default_index_path().expanduser().resolve():
        return default_index()
    with _opened_lock:
        if path not in _opened:
            if not path.is_dir():
                raise InputError(f"There is no folder {text}. Give the folder of an index.")
            _opened[path] = Index.load(path)
        return _opened[path]


def index_name(index: Index) -> str:
    """The index's folder as a person would type it: relative when under the current folder."""
    if index.path is None:
        return "(in memory)"
    path = index.path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def render_documents(index: Index) -> str:
    """The list of indexed documents with their sizes, escaped."""
    items = []
    for d in index.documents:
        size = f"{len(d.text):,} characters" + (f", {len(d.pages)} pages" if d.pages else "")
        items.append(
            f'<li><span class="qa-doc">{escape(d.source)}</span>'
            f' <span class="qa-loc">{escape(size)}</span></li>'
        )
    count = f"{len(items)} document{'s' if len(items) != 1 else ''}"
    where = f"in {escape(index_name(index))}"
    return (
        f'<div class="qa-docs"><div class="qa-heading">{count}</div>'
        f'<div class="qa-loc">{where}</div><ul>{"".join(items)}</ul></div>'
    )


# --- the user's own documents ---------------------------------------------------------------

# Every type qa reads; the page's file picker offers these, and add_uploads refuses the rest.
SUPPORTED_UPLOADS = sorted(SUPPORTED_SUFFIXES)
DEFAULT_UPLOAD_MB = 50
MAX_NAME = 120  # bytes of UTF-8, well under the 255 most file systems allow
# Names Windows reserves for devices: "CON.txt" cannot be created there.
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}
_uploads_lock = threading.Lock()  # one upload at a time moves files into the uploads folder


def upload_limit(text: str | None = None, *, where: str = "QA_MAX_UPLOAD_MB") -> int:
    """The largest upload in bytes: `text` megabytes, else $QA_MAX_UPLOAD_MB, else 50 MB."""
    if text is None:
        text = os.environ.get("QA_MAX_UPLOAD_MB") or str(DEFAULT_UPLOAD_MB)
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and megabytes > 0):
        raise InputError(f"{where} must be a number of megabytes above 0 (like 50), got {text!r}")
    return max(1, int(megabytes * 1_000_000))


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


# --- serving the page -----------------------------------------------------------------------

_log = logging.getLogger("qa.app")


def unexpected(error: BaseException, doing: str) -> str:
    """Log an error nobody planned for, with its traceback, to stderr; the page's short message."""
    _log.error("Unexpected error while %s", doing, exc_info=error)
    return f"Something went wrong while {doing}. The details are in the app's log."


def parse_auth(text: str, *, where: str = "QA_AUTH") -> list[tuple[str, str]]:
    """Sign-ins from "USER:PASSWORD", several separated by commas; [] for an empty text.

    "ann:s3cret, bob:a:b" -> [("ann", "s3cret"), ("bob", "a:b")] (a password may hold ":").
    The message of a bad value never repeats it: it may hold a password.
    """
    pairs: list[tuple[str, str]] = []
    entries = [e.strip() for e in text.split(",")]
    for n, entry in enumerate(entries, start=1):
        if not entry:
            continue  # "ann:pw," is fine
        user, colon, password = entry.partition(":")
        user = user.strip()
        problem = None
        if not colon:
            problem = "has no ':'"
        elif not user:
            problem = "has no user name"
        elif not password:
            problem = "has no password"
        elif user in dict(pairs):
            problem = f"names the user {user!r} again"
        if problem:
            which = f"entry {n}" if len(entries) > 1 else "it"
            raise InputError(
                f"{where} must be USER:PASSWORD, or several separated by commas, "
                f"like ann:correct-horse; {which} {problem}."
            )
        pairs.append((user.strip(), password))
    return pairs


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach a server listening on `host`."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to an outside address
