"""The read path: a question in, passages or an answer out.

    clean the question -> embed it -> retrieve passages (qa.retrieval)
      -> compose the answer with the reader (qa.answer, qa.reading); a question about a
         whole document ("What is this article about?") from the document (qa.overview)
      -> [mode "generate"] have the language model write it, keep what a source supports
         (qa.generate, qa.verify)

It reads one snapshot of an index and changes nothing; `qa.index.Index.ask` and
`Index.stream` come here, and so does `qa.conversation` for what it shares with a question
asked alone.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from qa.answer import AnswerSettings, compose_answer
from qa.embeddings import Embedder
from qa.generate import AnswerStream, WritingSettings
from qa.lexical import terms
from qa.overview import answer_overview, overview_kind
from qa.questions import check_k, clean_question, fit_question
from qa.reading import SpanReader
from qa.retrieval import RetrievalSettings, passage, retrieve
from qa.settings import Mode
from qa.snapshot import Snapshot
from qa.types import Answer, Passage

if TYPE_CHECKING:
    from qa.llm import LanguageModel


class Source(Protocol):
    """What the read path reads: an index's current snapshot, its models and settings."""

    embedder: Embedder
    retrieval: RetrievalSettings
    answering: AnswerSettings
    writing: WritingSettings
    model: LanguageModel | None

    @property
    def snapshot(self) -> Snapshot: ...

    @property
    def reader(self) -> SpanReader: ...


def search(source: Source, question: str, *, k: int = 5) -> list[Passage]:
    """The `k` passages that best match `question`, best first; no answer is composed."""
    question, _ = fit_question(clean_question(question))
    check_k(k)
    snapshot = source.snapshot
    query_vector = source.embedder.embed([question])[0]
    hits = retrieve(snapshot, query_vector, terms(question), k, source.retrieval)
    return [passage(snapshot, row, score) for row, score in hits]


def ask(
    source: Source,
    question: str,
    *,
    k: int = 5,
    mode: Mode | str = Mode.EXTRACTIVE,
    focus: str | None = None,
) -> AnswerStream:
    """Answer `question` from `source`, citing exact spans, or refuse; as a stream.

    mode "extractive" quotes the documents; "generate" has the language model write the
    answer, then keeps only the sentences a passage supports. `focus` names the document a
    question about "the article" means when the index holds several (a conversation's).
    """
    mode = Mode.of(mode)
    question, notes = fit_question(clean_question(question))
    check_k(k)
    snapshot = source.snapshot  # one consistent view, whatever other threads change
    query_vector = source.embedder.embed([question])[0]
    kind = overview_kind(question)
    overview = kind and answer_overview(question, kind, snapshot, query_vector, focus=focus)
    if overview:
        # A summary or byline is quoted as it is: there is nothing for the model to rephrase.
        answer = dataclasses.replace(overview, notes=notes + overview.notes)
        return AnswerStream(iter([answer.text]), lambda: answer, short=answer.short)
    hits = retrieve(snapshot, query_vector, terms(question), k, source.retrieval)
    answer = compose_answer(
        question, snapshot, hits, query_vector, source.answering, reader_of(source)
    )
    if notes:
        answer = dataclasses.replace(answer, notes=notes + answer.notes)
    if mode is Mode.EXTRACTIVE:
        return AnswerStream(iter([answer.text]), lambda: answer, short=answer.short)
    return write(source, question, answer, snapshot)


def reader_of(source: Source) -> SpanReader | None:
    """The reader that decides what answers a question, or None where settings turn it off."""
    return source.reader if source.answering.reader else None


def write(source: Source, question: str, answer: Answer, snapshot: Snapshot) -> AnswerStream:
    """Have the language model write the answer from `answer`'s passages; each sentence is
    kept only if a source sentence supports it (qa.generate, qa.verify)."""
    from qa.generate import write_answer
    from qa.llm import default_model

    model = source.model or default_model()
    return write_answer(question, answer, snapshot, model, source.embedder, source.writing)
