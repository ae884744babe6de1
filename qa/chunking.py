"""Sentence splitting and chunking; every sentence and chunk keeps exact character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.errors import InputError
from qa.types import Chunk, Document, Span

# Stored in the manifest so that a change in how an index is cut or embedded forces a rebuild
# by the next `qa index`. 2: chunk vectors are the mean of their sentences' vectors.
SPLITTER_VERSION = 2

# Words that end with a period without ending the sentence ("Dr. West", "e.g. this").
# Left out on purpose: words that often end a sentence too ("no.", "etc.").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft vs e.g i.e cf al gen col lt sgt capt gov sen rep pres "
    "vol fig figs approx dept est inc ltd co corp jan feb mar apr jun jul aug sep sept oct "
    "nov dec u.s u.k u.n e.u".split()
)
# A sentence ends at . ! ? or … (with closing quotes/brackets), before whitespace.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
# A paragraph break, or a line that starts a Markdown heading, list item or quote.
_BREAK = re.compile(r"\n[ \t]*\n\s*|\n(?=[ \t]*(?:#{1,6}\s|[-*+]\s|\d{1,3}[.)]\s|>))")
# The end of a Markdown heading line: the heading is a sentence of its own.
_HEADING_END = re.compile(r"^[ \t]*#{1,6}[ \t][^\n]*(?=\n)", re.MULTILINE)
# A short line without end punctuation, before a line that starts with a capital: a title or
# a byline ("Georgi Asatrian\nGeorgi Asatryan, associate professor").
_SHORT_LINE = re.compile(r"^[^\n]{1,40}(?<![.!?:;,])(?=\n[ \t]*[\"'“(\[]*[^\W\d_a-z])", re.M)
_NEXT_START = re.compile(r"\s+[\"'“‘(\[]*(\w)")
_LAST_WORD = re.compile(r"(\S+)$")
_LAST_WORD_WINDOW = 64  # look this far back for the word before a period: keeps splitting linear


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    """How documents are cut: chunks of whole sentences up to `size` characters."""

    size: int = 800
    overlap: int = 150  # characters of trailing sentences repeated at the next chunk's start

    def __post_init__(self) -> None:
        if self.size < 50:
            raise InputError(f"chunk size must be at least 50 characters, got {self.size}")
        if not 0 <= self.overlap < self.size:
            raise InputError(
                f"chunk overlap must be between 0 and the chunk size ({self.size}), "
                f"got {self.overlap}"
            )


def split_sentences(text: str, *, max_length: int | None = None) -> list[Span]:
    """Sentences of `text` as spans, trimmed of surrounding white space.

    "Mr. West arrived. He left!" -> [Span(0, 17), Span(18, 26)]
    Sentences longer than `max_length` are cut at white space into pieces that fit.
    """
    if max_length is not None and max_length < 1:
        raise InputError(f"max_length must be at least 1, got {max_length}")
    cuts = {m.start() for m in _BREAK.finditer(text)}
    cuts.update(m.end() for m in _HEADING_END.finditer(text))
    cuts.update(m.end() for m in _SHORT_LINE.finditer(text))
    for match in _END.finditer(text):
        if _ends_sentence(text, match.start(), match.end()):
            cuts.add(match.end())
    spans: list[Span] = []
    start = 0
    for cut in [*sorted(cuts), len(text)]:
        span = _trim(text, start, cut)
        if span is not None:
            if max_length is not None and span.end - span.start > max_length:
                spans.extend(_split_long(text, span, max_length))
            else:
                spans.append(span)
        start = cut
    return spans


def _ends_sentence(text: str, punct_start: int, end: int) -> bool:
    following = _NEXT_START.match(text, end)
    if following is None:
        return False
    first = following.group(1)
    if not (first.isupper() or first.isdigit()):
        return False  # "in the U.S. missions", "3.5 million": a sentence starts with a capital
    if text[punct_start] != ".":
        return True
    word = _LAST_WORD.search(text, max(0, punct_start - _LAST_WORD_WINDOW), punct_start)
    if word is None:
        return True
    token = word.group(1).lstrip("\"'“‘([").lower()
    if token in _ABBREVIATIONS:
        return False
    # Initials such as "J." or "U.S." do not end a sentence ("J. Smith", "U.S. forces").
    return not ((len(token) == 1 and token.isalpha()) or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token))


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def _split_long(text: str, span: Span, max_length: int) -> list[Span]:
    """Cut an over-long sentence at white space into pieces of at most `max_length`."""
    pieces: list[Span] = []
    start = span.start
    while True:
        while start < span.end and text[start].isspace():
            start += 1
        if span.end - start <= max_length:
            break
        limit = start + max_length
        # The last white space that leaves a non-empty piece within the limit.
        cut = next((i for i in range(limit, start, -1) if text[i].isspace()), limit)
        piece = _trim(text, start, cut)
        if piece is not None:
            pieces.append(piece)
        start = cut
    tail = _trim(text, start, span.end)
    if tail is not None:
        pieces.append(tail)
    return pieces


def chunk_document(
    document: Document, settings: ChunkSettings, sentences: list[Span] | None = None
) -> list[Chunk]:
    """Pack consecutive sentences into chunks of at most `settings.size` characters.

    Each chunk after the first starts with the last sentences of the one before it, up to
    `settings.overlap` characters, so a fact spread over a boundary is found whole.
    """
    if sentences is None:
        sentences = split_sentences(document.text, max_length=settings.size)
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        end = first + 1
        while end < len(sentences) and sentences[end].end - sentences[first].start <= settings.size:
            end += 1
        start, stop = sentences[first].start, sentences[end - 1].end
        chunks.append(
            Chunk(
                id=f"{document.source}#{len(chunks)}",
                source=document.source,
                start=start,
                end=stop,
                text=document.text[start:stop],
                page=document.page_at(start),
                first_sentence=first,
                end_sentence=end,
            )
        )
        if end == len(sentences):
            break
        # Step back over trailing sentences that fit in the overlap, as long as the next chunk
        # still has room for at least one new sentence: it must always add something.
        next_first = end
        while (
            next_first - 1 > first
            and stop - sentences[next_first - 1].start <= settings.overlap
            and sentences[end].end - sentences[next_first - 1].start <= settings.size
        ):
            next_first -= 1
        first = next_first
    return chunks
