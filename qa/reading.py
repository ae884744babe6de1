"""The reading stage: the reader model reads the question against windows of consecutive
sentences around the best retrieved ones, finds the short answer, and decides whether the
documents answer the question at all.

    evidence (sentences ranked by retrieval) ──windows──▶ reader ──▶ Reading | None

A window's score fuses the reader's with retrieval's, so a confident span in a passage that
retrieval ranked low does not beat a good one in the best passage by a hair.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from qa.snapshot import Snapshot

if TYPE_CHECKING:
    from qa.answer import AnswerSettings, Evidence
    from qa.reader import ReadSpan

# Characters trimmed from the ends of a short answer: the model sometimes takes in the
# sentence's full stop or a comma ("August 2021." -> "August 2021").
_TRIM = " \t\n,;:.!?\"'“”‘’()[]"


class SpanReader(Protocol):
    """What the reading stage needs of a reader (qa.reader.Reader is one)."""

    max_length: int

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def read(self, question: str, windows: Sequence[str]) -> list[ReadSpan]: ...


@dataclass(frozen=True, slots=True)
class Window:
    """Consecutive sentences of one document: global sentence rows [first, last]."""

    first: int
    last: int
    start: int  # character offsets in the document's text
    end: int
    support: float  # retrieval's support for the sentence the window was built around


@dataclass(frozen=True, slots=True)
class Reading:
    """The reader's answer: an exact span of a document, and how sure it is."""

    sentence_first: int  # global rows of the sentence(s) holding the short answer
    sentence_last: int
    start: int  # character offsets of the short answer in the document's text
    end: int
    text: str  # == document.text[start:end]
    answerable: float  # the reader's probability that the window answers the question
    score: float  # fused: ranks windows against each other


def read_evidence(
    question: str,
    snapshot: Snapshot,
    evidence: Sequence[Evidence],
    reader: SpanReader,
    settings: AnswerSettings,
) -> list[Reading]:
    """Readings of the windows around the best evidence, best first (one per window)."""
    windows = build_windows(question, snapshot, evidence, reader, settings.reader_windows)
    if not windows:
        return []
    texts = [_window_text(snapshot, w) for w in windows]
    spans = reader.read(question, texts)
    readings = []
    for window, span in zip(windows, spans, strict=True):
        entry, _ = snapshot.sentence_span(window.first)
        text = entry.document.text
        start, end = _trimmed(text, window.start + span.start, window.start + span.end)
        base = window.first - _index_in_entry(snapshot, window.first)
        starts = [s.start for s in entry.sentences]
        at = max(bisect.bisect_right(starts, start) - 1, 0)
        # An answer is a phrase of one sentence: a span running on into the next is cut.
        start, end = _trimmed(text, start, min(end, entry.sentences[at].end))
        if end <= start:
            continue
        first = last = base + at
        logit = math.log(max(span.answerable, 1e-6) / max(1 - span.answerable, 1e-6))
        readings.append(
            Reading(
                sentence_first=first,
                sentence_last=last,
                start=start,
                end=end,
                text=text[start:end],
                answerable=span.answerable,
                score=logit + settings.retrieval_weight * window.support,
            )
        )
    readings.sort(key=lambda r: -r.score)
    return readings


def build_windows(
    question: str,
    snapshot: Snapshot,
    evidence: Sequence[Evidence],
    reader: SpanReader,
    count: int,
) -> list[Window]:
    """Up to `count` windows, each grown around one of the best sentences not yet covered,
    as large as the reader's input allows (question and window together)."""
    budget = window_budget(reader, question)
    windows: list[Window] = []
    covered: set[int] = set()
    lengths: dict[int, int] = {}
    for item in evidence:
        if len(windows) == count:
            break
        row = item.sentence_row
        if row in covered:
            continue
        entry, _ = snapshot.sentence_span(row)
        low = row - _index_in_entry(snapshot, row)
        high = low + len(entry.sentences) - 1
        first = last = row
        _measure(snapshot, [row], reader, lengths)
        used = lengths[row]
        grew = True
        while grew:  # one sentence after, then one before, while they fit
            grew = False
            for side in (last + 1, first - 1):
                if low <= side <= high:
                    _measure(snapshot, [side], reader, lengths)
                    if used + lengths[side] <= budget:
                        used += lengths[side]
                        first, last = min(first, side), max(last, side)
                        grew = True
        start = entry.sentences[first - low].start
        end = entry.sentences[last - low].end
        windows.append(Window(first, last, start, end, item.support))
        covered.update(range(first, last + 1))
    return windows


def text_windows(text: str, reader: SpanReader, budget: int) -> list[tuple[int, int]]:
    """Character ranges of consecutive-sentence windows covering `text`, each within `budget`
    tokens, the last sentence of one starting the next."""
    from qa.chunking import split_sentences

    sentences = split_sentences(text)
    if not sentences:
        return []
    lengths = reader.count_tokens([text[s.start : s.end] for s in sentences])
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(sentences):
        last, used = first, lengths[first]
        while last + 1 < len(sentences) and used + lengths[last + 1] <= budget:
            last += 1
            used += lengths[last]
        windows.append((sentences[first].start, sentences[last].end))
        if last + 1 >= len(sentences):
            break
        first = max(last, first + 1)
    return windows


def read_closed(reader: SpanReader, question: str, paragraph: str) -> str:
    """The reader's short answer with only `paragraph` to read (the closed setting)."""
    budget = window_budget(reader, question)
    windows = [paragraph[a:b] for a, b in text_windows(paragraph, reader, budget)]
    spans = reader.read(question, windows)
    return max(spans, key=lambda s: s.span_score).text if spans else ""


def window_budget(reader: SpanReader, question: str) -> int:
    """Tokens left for a window beside `question` in the reader's input (its special tokens
    take 3); the reader reads at most half its input of the question (Reader.clip_question)."""
    asked = min(reader.count_tokens([question])[0], reader.max_length // 2)
    return reader.max_length - asked - 3


def _measure(
    snapshot: Snapshot, rows: list[int], reader: SpanReader, lengths: dict[int, int]
) -> None:
    todo = [r for r in rows if r not in lengths]
    if not todo:
        return
    texts = []
    for r in todo:
        entry, span = snapshot.sentence_span(r)
        texts.append(entry.document.text[span.start : span.end])
    for r, n in zip(todo, reader.count_tokens(texts), strict=True):
        lengths[r] = n


def _index_in_entry(snapshot: Snapshot, row: int) -> int:
    return row - int(snapshot.sentence_base[snapshot.entry_of_sentence(row)])


def _window_text(snapshot: Snapshot, window: Window) -> str:
    entry, _ = snapshot.sentence_span(window.first)
    return entry.document.text[window.start : window.end]


_PAIRS = {"(": ")", "[": "]", "“": "”", "‘": "’", '"': '"'}
_OPENINGS = {closing: opening for opening, closing in _PAIRS.items()}


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM:
        # Keep an opening bracket or quote whose closing one ends the answer: “yes”, (big).
        closing = _PAIRS.get(text[start])
        if closing and closing in text[start + 1 : end]:
            break
        start += 1
    while end > start and text[end - 1] in _TRIM:
        # Keep a closing bracket or quote whose opening one is inside the answer, and the
        # last full stop of an abbreviation ("U.S.").
        closing = text[end - 1]
        opening = _OPENINGS.get(closing)
        if opening and opening in text[start : end - 1]:
            break
        if closing == "." and end - 3 >= start and text[end - 3] == ".":
            break
        end -= 1
    return start, end
