"""Extractive answers: pick the sentences that best support the question, cite them exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.errors import InputError
from qa.lexical import terms
from qa.snapshot import Snapshot
from qa.types import Answer, Citation, Passage

NOT_FOUND = "The documents do not contain an answer to this question."


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """How evidence is scored and when the answerer refuses.

    A sentence's support = dense_weight * cosine(question, sentence)
    + coverage_weight * the IDF-weighted share of the question's terms it contains
    + passage_weight * the retrieval score of the passage holding it.
    The weights and thresholds were chosen with `qa eval` (docs/evaluation.md).
    """

    min_support: float = 0.48
    dense_weight: float = 0.3
    coverage_weight: float = 0.3
    passage_weight: float = 0.4
    max_sentences: int = 3
    margin: float = 0.1  # extra sentences must score within this of the best one
    evidence_passages: int = 5  # the answer draws on at most this many of the top passages

    def __post_init__(self) -> None:
        if not 0 <= self.min_support <= 2:
            raise InputError(f"min_support must be between 0 and 2, got {self.min_support}")
        weights = (self.dense_weight, self.coverage_weight, self.passage_weight)
        if min(weights) < 0 or sum(weights) == 0:
            raise InputError(f"support weights must be 0 or more and not all 0, got {weights}")
        if self.max_sentences < 1:
            raise InputError(f"max_sentences must be at least 1, got {self.max_sentences}")
        if self.margin < 0:
            raise InputError(f"margin must be 0 or more, got {self.margin}")
        if self.evidence_passages < 1:
            raise InputError(f"evidence_passages must be at least 1, got {self.evidence_passages}")


@dataclass(frozen=True, slots=True)
class Evidence:
    """A candidate sentence with the scores that rank it."""

    sentence_row: int
    support: float
    dense: float
    coverage: float
    passage: float
    adds: bool  # holds a word the question does not: it can tell the asker something new


def score_sentences(
    snapshot: Snapshot,
    hits: Sequence[tuple[int, float]],
    query_vector: np.ndarray,
    query_terms: Sequence[str],
    settings: AnswerSettings,
) -> list[Evidence]:
    """Every sentence of the retrieved chunks, best supported first."""
    passage_of: dict[int, float] = {}  # a sentence in two overlapping chunks takes the better
    for row, score in hits:
        for sentence_row in snapshot.sentence_rows(row):
            passage_of[sentence_row] = max(score, passage_of.get(sentence_row, score))
    sentence_rows = sorted(passage_of)
    if not sentence_rows:
        return []
    dense = snapshot.sentence_vectors[sentence_rows] @ query_vector
    weights = {t: snapshot.bm25.idf(t) for t in set(query_terms)}
    total = sum(weights.values())
    evidence = []
    for sentence_row, cosine in zip(sentence_rows, dense.tolist(), strict=True):
        entry, span = snapshot.sentence_span(sentence_row)
        present = set(terms(entry.document.text[span.start : span.end]))
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
        )
        evidence.append(Evidence(sentence_row, support, cosine, coverage, passage, adds))
    evidence.sort(key=lambda e: (-e.support, e.sentence_row))
    return evidence


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
) -> Answer:
    """An answer quoting the best-supported sentences with [n] markers, or a refusal."""
    passages = [_passage(snapshot, row, score) for row, score in hits]
    # Asking for more passages shows more, but the answer reads only the best few.
    evidence = score_sentences(
        snapshot, hits[: settings.evidence_passages], query_vector, terms(question), settings
    )
    if not evidence or evidence[0].support < settings.min_support:
        return Answer(question=question, text=NOT_FOUND, answered=False, passages=passages)
    floor = max(settings.min_support, evidence[0].support - settings.margin)
    chosen: list[Evidence] = []
    seen_quotes: set[str] = set()
    for item in evidence:
        if len(chosen) == settings.max_sentences or item.support < floor:
            break
        entry, span = snapshot.sentence_span(item.sentence_row)
        key = " ".join(entry.document.text[span.start : span.end].split()).lower()
        if key in seen_quotes or (chosen and not item.adds):
            continue  # documents repeat themselves; a title only repeats the question
        seen_quotes.add(key)
        chosen.append(item)
    citations: list[Citation] = []
    parts: list[str] = []
    for n, item in enumerate(chosen, start=1):
        entry, span = snapshot.sentence_span(item.sentence_row)
        quote = entry.document.text[span.start : span.end]
        citations.append(
            Citation(
                n=n,
                source=entry.document.source,
                start=span.start,
                end=span.end,
                quote=quote,
                score=round(item.support, 4),
                page=entry.document.page_at(span.start),
            )
        )
        parts.append(f"{' '.join(quote.split())} [{n}]")
    return Answer(
        question=question,
        text=" ".join(parts),
        answered=True,
        citations=citations,
        passages=passages,
    )


def _passage(snapshot: Snapshot, row: int, score: float) -> Passage:
    chunk = snapshot.chunks[row]
    return Passage(
        source=chunk.source,
        start=chunk.start,
        end=chunk.end,
        text=chunk.text,
        score=round(score, 6),
        chunk_id=chunk.id,
        page=chunk.page,
    )
