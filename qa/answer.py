"""Extractive answers: pick the sentences that best support the question, cite them exactly."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qa.errors import InputError
from qa.lexical import terms
from qa.quotes import as_shown, is_heading, near_duplicates, opener_length
from qa.reading import Reading, SpanReader, read_evidence
from qa.retrieval import passage
from qa.snapshot import Snapshot
from qa.text import is_name, is_number, lower_words, words
from qa.types import Answer, Citation

NOT_FOUND = "The documents do not contain an answer to this question."


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """How evidence is scored and when the answerer refuses.

    A sentence's support = dense_weight * cosine(question, sentence)
    + coverage_weight * the IDF-weighted share of the question's terms it contains
    + passage_weight * the retrieval score of the passage holding it.
    The answer is refused when no sentence has min_support. Which sentences (of those with
    min_quote_support) are quoted is decided by their rank = support
    + novelty_weight * the share of the sentence's terms the question does not hold
    - length_weight * ln(1 + its number of terms)
    - answer_type_weight when the question asks for a number, date or name it lacks.
    (An answer says something the question does not, briefly, and of the kind asked for.)
    The weights and thresholds were chosen with `qa eval` (docs/evaluation.md).
    """

    min_support: float = 0.48
    min_quote_support: float = 0.38  # no sentence below this is quoted, however it ranks
    dense_weight: float = 0.3
    coverage_weight: float = 0.3
    passage_weight: float = 0.4
    novelty_weight: float = 0.2
    length_weight: float = 0.02
    answer_type_weight: float = 0.08
    max_sentences: int = 3
    margin: float = 0.1  # extra sentences must rank within this of the best one
    evidence_passages: int = 5  # the answer draws on at most this many of the top passages
    # The reader (qa/reading.py): how many sentence windows it reads and how much retrieval's
    # support adds to its score when ranking them. The question is answered when
    # logit(reader's answerability) + support_weight * (best passage's retrieval score)
    # reaches answer_threshold. Chosen on held-out training articles by
    # bench/tune_reader.py (models/reader/README.md), never on the evaluation sample.
    reader: bool = True  # False: retrieval's support alone decides, as before the reader
    reader_windows: int = 4
    retrieval_weight: float = 1.0
    support_weight: float = 1.0
    answer_threshold: float = 0.6287

    def __post_init__(self) -> None:
        if not 0 <= self.min_support <= 2:
            raise InputError(f"min_support must be between 0 and 2, got {self.min_support}")
        if not 0 <= self.min_quote_support <= 2:
            raise InputError(
                f"min_quote_support must be between 0 and 2, got {self.min_quote_support}"
            )
        weights = (self.dense_weight, self.coverage_weight, self.passage_weight)
        if min(weights) < 0 or sum(weights) == 0:
            raise InputError(f"support weights must be 0 or more and not all 0, got {weights}")
        ranking = (self.novelty_weight, self.length_weight, self.answer_type_weight)
        if min(ranking) < 0:
            raise InputError(f"ranking weights must be 0 or more, got {ranking}")
        if self.max_sentences < 1:
            raise InputError(f"max_sentences must be at least 1, got {self.max_sentences}")
        if self.margin < 0:
            raise InputError(f"margin must be 0 or more, got {self.margin}")
        if self.evidence_passages < 1:
            raise InputError(f"evidence_passages must be at least 1, got {self.evidence_passages}")
        if self.reader_windows < 1:
            raise InputError(f"reader_windows must be at least 1, got {self.reader_windows}")
        if self.support_weight < 0:
            raise InputError(f"support_weight must be 0 or more, got {self.support_weight}")


@dataclass(frozen=True, slots=True)
class Evidence:
    """A candidate sentence with the scores that rank it."""

    sentence_row: int
    support: float  # how well it supports the question: decides whether to answer at all
    rank: float  # support adjusted for what makes a good answer: decides what is quoted
    dense: float
    coverage: float
    passage: float
    adds: bool  # holds a word the question does not: it can tell the asker something new


def score_sentences(
    snapshot: Snapshot,
    hits: Sequence[tuple[int, float]],
    question: str,
    query_vector: np.ndarray,
    settings: AnswerSettings,
    bonus: Mapping[int, float] | None = None,
) -> list[Evidence]:
    """Every sentence of the retrieved chunks, best ranked first.

    `bonus` (sentence row -> amount) is added to the support of sentences a conversation
    makes likelier, e.g. those next to the previous answer's citations.
    """
    passage_of: dict[int, float] = {}  # a sentence in two overlapping chunks takes the better
    for row, score in hits:
        for sentence_row in snapshot.sentence_rows(row):
            passage_of[sentence_row] = max(score, passage_of.get(sentence_row, score))
    sentence_rows = sorted(passage_of)
    if not sentence_rows:
        return []
    dense = snapshot.sentence_vectors[sentence_rows] @ query_vector
    weights = {t: snapshot.bm25.idf(t) for t in set(terms(question))}
    total = sum(weights.values())
    wanted, asked = expected_kind(question), lower_words(question)
    evidence = []
    for sentence_row, cosine in zip(sentence_rows, dense.tolist(), strict=True):
        entry, span = snapshot.sentence_span(sentence_row)
        text = entry.document.text[span.start : span.end]
        sentence_terms = terms(text)
        present = set(sentence_terms)
        matched = {t for t in weights if t in present or any(_near(t, p) for p in present)}
        adds = any(not (p in weights or any(_near(p, t) for t in weights)) for p in present)
        if len(present) <= 2 and not adds:
            continue  # a title or byline naming only what the question names ("Georgi Asatrian")
        coverage = sum(weights[t] for t in matched) / total if total else 0.0
        passage = passage_of[sentence_row]
        support = (
            settings.dense_weight * cosine
            + settings.coverage_weight * coverage
            + settings.passage_weight * passage
            + (bonus.get(sentence_row, 0.0) if bonus else 0.0)
        )
        novelty = sum(t not in weights for t in sentence_terms) / len(sentence_terms)
        rank = (
            support
            + settings.novelty_weight * novelty
            - settings.length_weight * math.log1p(len(sentence_terms))
            - settings.answer_type_weight * (not holds_kind(text, asked, wanted))
        )
        evidence.append(Evidence(sentence_row, support, rank, cosine, coverage, passage, adds))
    evidence.sort(key=lambda e: (-e.rank, e.sentence_row))
    return evidence


_NUMBER_QUESTION = re.compile(
    r"\b(when|how (many|much|long|old|far|large|big|tall|high|often)"
    r"|(what|which|in what) (year|percentage|percent|number|date|age|decade|century))\b"
)
_NAME_QUESTION = re.compile(r"\b(who|whom|whose|where)\b")


def expected_kind(question: str) -> str | None:
    """What kind of answer the question asks for: "number" (dates too), "name", or None.

    "When was it closed?" -> "number"; "Who is the envoy?" -> "name"; "Why ...?" -> None.
    Only the first question counts: in "Who said it? (When was it closed?)" the rest is context.
    """
    lowered = question.lower().partition("?")[0]
    if _NUMBER_QUESTION.search(lowered):
        return "number"
    if _NAME_QUESTION.search(lowered):
        return "name"
    return None


def holds_kind(sentence: str, asked: set[str], kind: str | None) -> bool:
    """Whether `sentence` holds a word of `kind` not among `asked` (the question's lower_words)."""
    if kind is None:
        return True
    found = words(sentence)
    if kind == "number":
        return any(w.lower() not in asked and is_number(w) for w in found)
    # A name past the first word: a person, a place, an organisation.
    return any(is_name(w) and w.lower() not in asked for w in found[1:])


def _near(a: str, b: str) -> bool:
    """Spelling variants of a longer word: one letter changed, added or dropped.

    "asatryan" ~ "asatrian"; short words must match exactly ("us" is not "is").
    """
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def compose_answer(
    question: str,
    snapshot: Snapshot,
    hits: Sequence[tuple[int, float]],
    query_vector: np.ndarray,
    settings: AnswerSettings,
    reader: SpanReader | None = None,
    *,
    context: Sequence[tuple[int, float]] = (),
    bonus: Mapping[int, float] | None = None,
) -> Answer:
    """An answer quoting the best-ranked sentences with [n] markers, or a refusal.

    With a reader, the reader decides whether to answer, its short answer leads, and the
    sentence holding it is the first citation. Without one, retrieval's support decides.
    `context` (chunk rows with their scores) is read as evidence besides the best hits, and
    `bonus` favours some sentences: a conversation's way to keep to what was said.
    """
    # Asking for more passages shows more, but the answer reads only the best few.
    read = list(hits[: settings.evidence_passages])
    read += [hit for hit in context if hit[0] not in {row for row, _ in read}]
    shown = list(hits) + [hit for hit in context if hit[0] not in {row for row, _ in hits}]
    passages = [passage(snapshot, row, score) for row, score in shown]
    refusal = Answer(question=question, text=NOT_FOUND, answered=False, passages=passages)
    evidence = score_sentences(snapshot, read, question, query_vector, settings, bonus)
    reading: Reading | None = None
    if reader is not None:
        readings = read_evidence(question, snapshot, evidence, reader, settings)
        top = max((score for _, score in hits), default=0.0)
        if not readings or (
            logit(readings[0].answerable) + settings.support_weight * top
            < settings.answer_threshold
        ):
            confidence = round(readings[0].answerable, 4) if readings else None
            return dataclasses.replace(refusal, confidence=confidence)
        reading = readings[0]
        quotable = [e for e in evidence if e.support >= settings.min_quote_support]
    else:
        quotable = [e for e in evidence if e.support >= settings.min_quote_support]
        if not quotable or max(e.support for e in evidence) < settings.min_support:
            return refusal
    # Sentence rows quoted, each as a (first, last) run; the reader's sentence comes first.
    runs: list[tuple[int, int, float]] = []
    said: list[str] = []  # what the runs quote, so that nothing is said twice
    if reading is not None:
        first = _past_heading(snapshot, reading.sentence_first, reading.sentence_last, reading)
        runs.append((first, reading.sentence_last, reading.answerable))
        said.append(_run_text(snapshot, first, reading.sentence_last))
    floor = quotable[0].rank - settings.margin if quotable else 0.0
    for item in quotable:
        if len(runs) == settings.max_sentences or item.rank < floor:
            break
        row = item.sentence_row
        if any(first <= row <= last for first, last, _ in runs):
            continue
        text = _run_text(snapshot, row, row)
        if not item.adds or _heading_row(snapshot, row):
            # A title, or the start of a sentence cut short by a 20,000-character word
            # ("The quokka serial number is"), only repeats the question.
            continue
        if any(near_duplicates(text, other) for other in said):
            continue  # documents repeat themselves, sometimes with a word changed
        said.append(text)
        runs.append((row, row, item.support))
    if not runs:
        return refusal
    citations: list[Citation] = []
    parts: list[str] = []
    for n, (first, last, score) in enumerate(runs, start=1):
        entry, first_span = snapshot.sentence_span(first)
        _, last_span = snapshot.sentence_span(last)
        start, end = first_span.start, last_span.end
        holds_short = reading is not None and n == 1
        text = entry.document.text
        # A dangling opener ("Since then, ") is left out of the quote, unless it holds the
        # short answer: the quote stays an exact span, starting later.
        skip = opener_length(text[start:end])
        if holds_short and reading is not None and reading.start < start + skip:
            skip = 0
        start += skip
        quote = text[start:end]
        citations.append(
            Citation(
                n=n,
                source=entry.document.source,
                start=start,
                end=end,
                quote=quote,
                score=round(score, 4),
                page=entry.document.page_at(start),
                short_start=reading.start if holds_short and reading else None,
                short_end=reading.end if holds_short and reading else None,
            )
        )
        parts.append(f"{as_shown(quote, trimmed=skip > 0)} [{n}]")
    if reading is not None:
        # The reader's scores rank the passages too: the one holding its answer comes first.
        holder = citations[0]
        passages.sort(
            key=lambda p: not (p.source == holder.source and p.start <= holder.start < p.end)
        )
    return Answer(
        question=question,
        text=" ".join(parts),
        answered=True,
        citations=citations,
        passages=passages,
        short=reading.text if reading else "",
        confidence=round(reading.answerable, 4) if reading else None,
    )


def logit(probability: float) -> float:
    """ln(p / (1 - p)), kept finite: 0.5 -> 0.0, 0.9 -> 2.197."""
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _run_text(snapshot: Snapshot, first: int, last: int) -> str:
    """The text of sentence rows first..last."""
    entry, first_span = snapshot.sentence_span(first)
    _, last_span = snapshot.sentence_span(last)
    return entry.document.text[first_span.start : last_span.end]


def _heading_row(snapshot: Snapshot, row: int) -> bool:
    entry, span = snapshot.sentence_span(row)
    return is_heading(entry.document.text, span.start, span.end)


def _past_heading(snapshot: Snapshot, first: int, last: int, reading: Reading) -> int:
    """The reader's run without the title or heading lines it starts with, unless they hold
    its short answer: a title is not quoted as if it answered."""
    while first < last and _heading_row(snapshot, first):
        if reading.start < snapshot.sentence_span(first + 1)[1].start:
            break
        first += 1
    return first
