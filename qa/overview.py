"""Questions about a whole document: "What is this article about?", "Summarize it", "Who
wrote it?". Retrieval finds passages that match a question's words; these questions match
none, so they are answered from the document itself:

    a summary: its most central sentences (closest to the mean of all its sentence vectors,
               a little closer to the question's own words, none repeating another), in
               document order, each cited exactly;
    the author: the byline, a short line at the start or end that opens with a name
               ("Georgi Asatryan, associate professor, ..."), with the name as short answer.

With several documents, the question must name one (its file name), else the answer asks
which; a conversation passes the document its last answer cited.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np

from qa.retrieval import passage
from qa.snapshot import DocumentEntry, Snapshot
from qa.types import Answer, Citation, Passage

_DOCUMENT = r"(?:article|document|text|paper|report|file|piece|essay|post|story)"
# "it", "the article", or a file's name ("harbour.txt"), which also picks the document.
_FILE = r"[\w\-./]+\.(?:txt|text|md|markdown|rst|html?|xhtml|pdf|docx)"
_IT = rf"(?:it|this|this {_DOCUMENT}|the {_DOCUMENT}|{_FILE})"
# Whole questions only (lower case, without the final "?"): "What is it about the mine that is
# unusual?" or "Who wrote the book Elements?" are about something in a document.
_SUMMARY = re.compile(
    rf"(?:please |can you |could you )?(?:summari[sz]e|sum up|give (?:me )?(?:a |the )?"
    rf"(?:summary|gist))(?: of)?(?: {_IT})?|"
    rf"(?:what(?:'s| is| are)? )?(?:the )?(?:main|key) (?:points?|ideas?|takeaways?|argument)"
    rf"(?: of {_IT})?|"
    rf"what(?:'s| is| was) {_IT} (?:about|saying)|"
    rf"what does {_IT} (?:say|argue|cover)|"
    r"what does the author (?:recommend|argue|suggest|conclude|propose|say)|tl;?dr"
)
_AUTHOR = re.compile(rf"who (?:wrote|authored) {_IT}|who is the (?:author|writer)(?: of {_IT})?")
# A byline opens with a name: two to four capitalised words, then a comma or the line's end.
_BYLINE = re.compile(r"^(?:By\s+)?((?:[A-Z][\w'’\-]+\s+){1,3}[A-Z][\w'’\-]+)\s*(?:,|$)")
SUMMARY_SENTENCES = 3
QUESTION_WEIGHT = 0.3  # how much the question's own words pull the summary ("recommend")
REDUNDANCY = 0.85  # a sentence this similar to one already chosen repeats it


def overview_kind(question: str) -> str | None:
    """What a question about a whole document asks for ("summary" or "author"), or None."""
    asked = " ".join(question.lower().split()).rstrip("?.! ")
    if _AUTHOR.fullmatch(asked):
        return "author"
    if _SUMMARY.fullmatch(asked):
        return "summary"
    return None


def answer_overview(
    question: str,
    kind: str,
    snapshot: Snapshot,
    query_vector: np.ndarray,
    *,
    focus: str | None = None,
) -> Answer | None:
    """The answer to a whole-document question, or None to answer it as any other question
    (no byline found, or an empty index)."""
    entry = _which(question, snapshot, focus)
    if entry is None:
        if len(snapshot.entries) < 2:
            return None
        names = [e.document.source for e in snapshot.entries]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        text = (
            f"Which document do you mean? The index holds {len(names)}: {shown}. "
            "Ask again with its name."
        )
        return Answer(question=question, text=text, answered=False)
    answer = (
        _author(question, entry) if kind == "author" else _summary(question, entry, query_vector)
    )
    if answer is None:
        return None
    return dataclasses.replace(answer, passages=_passages_around(snapshot, answer.citations))


def _which(question: str, snapshot: Snapshot, focus: str | None) -> DocumentEntry | None:
    if len(snapshot.entries) == 1:
        return snapshot.entries[0]
    asked = question.lower()

    def names(entry: DocumentEntry) -> bool:
        # Its file name, or its name without the extension as a whole word of 4+ letters.
        name = entry.document.source.rsplit("/", 1)[-1].lower()
        stem = name.rsplit(".", 1)[0]
        return name in asked or (
            len(stem) >= 4 and re.search(rf"\b{re.escape(stem)}\b", asked) is not None
        )

    named = [e for e in snapshot.entries if names(e)]
    if len(named) == 1:
        return named[0]
    return snapshot.by_source.get(focus) if focus else None


def _summary(question: str, entry: DocumentEntry, query_vector: np.ndarray) -> Answer | None:
    text = entry.document.text
    rows = [i for i, s in enumerate(entry.sentences) if _is_prose(text[s.start : s.end])]
    if not rows:
        return None
    vectors = entry.sentence_vectors[rows]
    centre = vectors.mean(axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-12)
    score = vectors @ centre + QUESTION_WEIGHT * (vectors @ np.asarray(query_vector))
    chosen: list[int] = []
    for i in np.argsort(-score):
        if len(chosen) == SUMMARY_SENTENCES:
            break
        if any(float(vectors[i] @ vectors[j]) > REDUNDANCY for j in chosen):
            continue
        chosen.append(int(i))
    citations = []
    for n, i in enumerate(sorted(chosen, key=lambda i: rows[i]), start=1):
        span = entry.sentences[rows[i]]
        citations.append(_citation(n, entry, span.start, span.end, float(score[i])))
    return _answer(question, entry, citations)


def _author(question: str, entry: DocumentEntry) -> Answer | None:
    text = entry.document.text
    sentences = list(entry.sentences)
    # The end first: articles sign off with the author's name and title more than they open.
    for s in [*sentences[-3:][::-1], *sentences[:3]]:
        line = text[s.start : s.end]
        match = _BYLINE.match(line)
        if match is None or len(line) > 250 or len(match.group(1).split()) < 2:
            continue
        name_start = s.start + match.start(1)
        name_end = s.start + match.end(1)
        citation = dataclasses.replace(
            _citation(1, entry, s.start, s.end, 1.0), short_start=name_start, short_end=name_end
        )
        answer = _answer(question, entry, [citation])
        return dataclasses.replace(answer, short=text[name_start:name_end])
    return None


def _is_prose(sentence: str) -> bool:
    """A sentence of running text: not a title, heading or byline (no full stop, or short)."""
    words = sentence.split()
    return len(words) >= 6 and sentence.rstrip()[-1:] in ".!?”\"'’" and not _BYLINE.match(sentence)


def _citation(n: int, entry: DocumentEntry, start: int, end: int, score: float) -> Citation:
    document = entry.document
    return Citation(
        n=n,
        source=document.source,
        start=start,
        end=end,
        quote=document.text[start:end],
        score=round(score, 4),
        page=document.page_at(start),
    )


def _answer(question: str, entry: DocumentEntry, citations: Sequence[Citation]) -> Answer:
    parts = [f"{' '.join(c.quote.split())} [{c.n}]" for c in citations]
    return Answer(question=question, text=" ".join(parts), answered=True, citations=list(citations))


def _passages_around(snapshot: Snapshot, citations: Sequence[Citation]) -> list[Passage]:
    """The chunk holding each citation (once, with that citation's score), for the context
    shown around it."""
    held: dict[int, float] = {}  # chunk row -> score, in citation order
    for c in citations:
        entry = snapshot.by_source[c.source]
        number = snapshot.index_of(entry)
        own = list(range(int(snapshot.chunk_base[number]), int(snapshot.chunk_base[number + 1])))
        chunks = snapshot.chunks
        row = next(
            (r for r in own if chunks[r].start <= c.start and c.end <= chunks[r].end), own[0]
        )
        held.setdefault(row, c.score)
    return [passage(snapshot, row, score) for row, score in held.items()]
