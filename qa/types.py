"""Frozen dataclasses that flow through the pipeline: files -> documents -> chunks -> answers."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Page:
    """Where one page of a paged document (a PDF) lies in the document's text."""

    number: int  # 1-based, as a reader counts pages
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Document:
    """The text of one file, as extracted; every offset in the system points into `text`."""

    source: str  # readable name, unique within an index: "docs/report.pdf"
    path: str  # absolute path of the file: the document's identity when re-indexing
    text: str
    sha256: str  # hash of the file's bytes: unchanged files are not embedded again
    pages: tuple[Page, ...] = ()

    @property
    def chars(self) -> int:
        """How many characters its text has (known without reading a stored text)."""
        return len(self.text)

    def page_at(self, offset: int) -> int | None:
        """The page number holding character `offset`, or None for unpaged documents."""
        if not self.pages:
            return None
        starts = [p.start for p in self.pages]
        i = max(bisect.bisect_right(starts, offset) - 1, 0)
        return self.pages[i].number


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range [start, end) of a document's text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole sentences, the unit that is embedded and retrieved."""

    id: str  # "<source>#<n>", readable and stable for a given document and settings
    source: str
    start: int
    end: int
    text: str  # == document.text[start:end]
    page: int | None = None
    first_sentence: int = 0  # index into the document's sentences
    end_sentence: int = 0  # one past the last sentence


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its fused retrieval score."""

    source: str
    start: int
    end: int
    text: str
    score: float
    chunk_id: str
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    """An exact span of a source that supports part of an answer: quote == text[start:end]."""

    n: int  # the number of the answer's [n] marker
    source: str
    start: int
    end: int
    quote: str
    score: float
    page: int | None = None
    # Where the short answer lies in the document, when this citation holds it:
    # text[short_start:short_end] == answer.short, within [start, end).
    short_start: int | None = None
    short_end: int | None = None


@dataclass(frozen=True, slots=True)
class GenerationReport:
    """What happened when a language model wrote the answer, for people and for `qa eval`."""

    model: str
    prompt_tokens: int
    generated_tokens: int
    first_token_seconds: float  # from the start of generation to the first text piece
    seconds: float
    raw_text: str  # what the model wrote, before checking: never shown as the answer
    sentences: int  # sentences it wrote
    kept: int  # sentences a passage supports, shown with citations
    blended: int  # sentences only two different passages together would support: dropped
    misattributed: int  # kept, but its marker named another passage: corrected
    fell_back: bool  # nothing held up, so the extractive answer was shown instead

    @property
    def tokens_per_second(self) -> float:
        decoding = self.seconds - self.first_token_seconds
        return (self.generated_tokens - 1) / decoding if decoding > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer with inline [n] markers, its citations, and the passages it drew on."""

    question: str
    text: str
    answered: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    mode: str = "extractive"  # or "generate": written by a language model, then checked
    notes: list[str] = field(default_factory=list)  # what a reader should know, e.g. removals
    generation: GenerationReport | None = None
    short: str = ""  # the reader's short answer ("August 2021"); "" when refused
    confidence: float | None = None  # the reader's probability that the documents answer it
    # In a conversation, the standalone question that was searched for this one (which may
    # be a follow-up such as "Who announced it?"); None when the question was asked alone.
    searched: str | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view of the answer: `qa.present.answer_json`, the one JSON shape."""
        from qa.present import answer_json  # present builds on these types

        return answer_json(self)
