"""Written answers: a local language model answers from numbered passages, and every sentence
it writes is checked against them (qa.verify) before it is shown. Nothing unchecked streams.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from qa.chunking import split_sentences
from qa.embeddings import Embedder
from qa.llm import GenerationSettings, LanguageModel
from qa.snapshot import Snapshot
from qa.squad import normalize_answer
from qa.types import Answer, Citation, GenerationReport, Passage
from qa.verify import CheckSettings, SourceSentence, Verdict, check_claim, parse_claim

SYSTEM_PROMPT = (
    "Answer the question in one or two short sentences, using only the numbered passages. "
    "After each sentence, put the number of the passage it comes from in brackets, like [1]."
)
# "The answer is: 2008" says "2008"; the preamble is not a claim to check.
_BOILERPLATE = re.compile(
    r"^\s*(?:the\s+)?answer(?:\s+to\s+(?:the|this|your)\s+question)?(?:\s+is)?\s*[:\-–]\s*",
    re.IGNORECASE,
)
FELL_BACK = (
    "The written answer did not hold up against the documents, so the sentences it would "
    "have drawn on are quoted instead."
)
MISSED_SHORT = (
    "The written answer did not state what the reader found in the documents, so the "
    "sentences it would have drawn on are quoted instead."
)


@dataclass(frozen=True, slots=True)
class WritingSettings:
    """How a written answer is made: how many passages the model reads, and how it is checked."""

    passages: int = 3  # evidence passages: a cited sentence with one sentence either side
    max_sentences: int = 2  # generation stops once the model has finished this many
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    check: CheckSettings = field(default_factory=CheckSettings)


def prompt_messages(
    question: str, passages: Sequence[Passage], short: str = ""
) -> list[dict[str, str]]:
    """The chat messages the model sees: the instructions, the numbered passages, the question,
    and the reader's short answer, which the model is to phrase, not to second-guess."""
    numbered = "\n\n".join(f"[{n}] {' '.join(p.text.split())}" for n, p in enumerate(passages, 1))
    hint = f"\nShort answer (from passage [1]): {short}" if short else ""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Passages:\n{numbered}\n\nQuestion: {question}{hint}"},
    ]


def evidence_passages(
    snapshot: Snapshot, extractive: Answer, limit: int, radius: int = 1
) -> list[tuple[Passage, list[int]]]:
    """Short passages for the model: each cited sentence with `radius` sentences either side.

    A small model copes with a few focused sentences far better than with whole chunks, and
    the prompt stays short (first token sooner). Returns each passage with its sentence rows.
    """
    windows: list[tuple[Passage, list[int]]] = []
    for citation in extractive.citations:
        row = snapshot.sentence_row_at(citation.source, citation.start)
        if row is None or any(row in rows for _, rows in windows):
            continue
        entry, _ = snapshot.sentence_span(row)
        base = int(snapshot.sentence_base[snapshot.index_of(entry)])
        local = row - base
        rows = list(
            range(
                base + max(local - radius, 0), base + min(local + radius + 1, len(entry.sentences))
            )
        )
        start = entry.sentences[rows[0] - base].start
        end = entry.sentences[rows[-1] - base].end
        passage = Passage(
            source=citation.source,
            start=start,
            end=end,
            text=entry.document.text[start:end],
            score=citation.score,
            chunk_id=f"{citation.source}@{start}-{end}",
            page=entry.document.page_at(start),
        )
        windows.append((passage, rows))
        if len(windows) == limit:
            break
    return windows


def source_sentences(
    snapshot: Snapshot, windows: Sequence[tuple[Passage, list[int]]]
) -> list[SourceSentence]:
    """Every sentence of the passages shown to the model, with its exact span and vector."""
    sentences = []
    for n, (_, rows) in enumerate(windows, 1):
        for sentence_row in rows:
            entry, span = snapshot.sentence_span(sentence_row)
            sentences.append(
                SourceSentence(
                    passage=n,
                    source=entry.document.source,
                    start=span.start,
                    end=span.end,
                    text=entry.document.text[span.start : span.end],
                    vector=snapshot.sentence_vectors[sentence_row],
                )
            )
    return sentences


class AnswerStream:
    """Iterate for the checked answer's text as it is written; `answer` is set at the end."""

    def __init__(
        self, pieces: Iterator[str], finish: Callable[[], Answer], *, short: str = ""
    ) -> None:
        self._pieces = pieces
        self._finish = finish
        self.short = short  # the reader's short answer, known before any text streams
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces
        self.answer = self._finish()

    def result(self) -> Answer:
        """Run to the end and return the answer."""
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


def write_answer(
    question: str,
    extractive: Answer,
    snapshot: Snapshot,
    model: LanguageModel,
    embedder: Embedder,
    settings: WritingSettings,
) -> AnswerStream:
    """Stream a written answer to `question`, checked sentence by sentence.

    When the extractive answerer refused, the model is not run: there is nothing to write from.
    """
    state = _Writing(question, extractive, snapshot, model, embedder, settings)
    if not extractive.answered:
        refusal = _as_generated(extractive, list(extractive.notes))
        return AnswerStream(iter([refusal.text]), lambda: refusal)
    return AnswerStream(state.pieces(), state.answer, short=extractive.short)


class _Writing:
    """The state of one written answer: what was generated, kept, dropped and cited."""

    def __init__(
        self,
        question: str,
        extractive: Answer,
        snapshot: Snapshot,
        model: LanguageModel,
        embedder: Embedder,
        settings: WritingSettings,
    ) -> None:
        self.question, self.extractive = question, extractive
        self.model, self.embedder, self.settings = model, embedder, settings
        windows = evidence_passages(snapshot, extractive, settings.passages)
        self.passages = [passage for passage, _ in windows]
        self.sources = source_sentences(snapshot, windows)
        self.weight = snapshot.bm25.idf
        self.messages = prompt_messages(question, self.passages, extractive.short)
        self.verdicts: list[Verdict] = []
        self.citations: list[Citation] = []
        self.kept: list[str] = []
        self.raw = ""
        self.cut_off = ""  # an unfinished last sentence (the token limit): never shown
        self.first_token = self.seconds = 0.0

    def pieces(self) -> Iterator[str]:
        started = time.perf_counter()
        pending = ""  # text of the sentence being written
        finished = 0
        tokens = self.model.stream(self.messages, self.settings.generation)
        try:
            for piece in tokens:
                if not self.raw:
                    self.first_token = time.perf_counter() - started
                self.raw += piece
                pending += piece
                sentences = split_sentences(pending)
                if len(sentences) > 1:  # all but the last are finished
                    cut = sentences[-1].start
                    finished += len(sentences) - 1
                    yield from self._check(pending[:cut])
                    pending = pending[cut:]
                    if finished >= self.settings.max_sentences:
                        pending = ""  # enough for a short answer: stop writing
                        break
        finally:
            tokens.close()  # frees the model for the next question
        self.seconds = time.perf_counter() - started
        limit = self.settings.generation.max_new_tokens
        stopped_itself = self.model.count_tokens(self.raw) < limit if self.raw else True
        if stopped_itself or _finished(pending):  # a last sentence may lack its full stop
            yield from self._check(pending)
        elif pending.strip():
            self.cut_off = pending.strip()
        if not self.kept:
            yield self.extractive.text

    def _check(self, text: str) -> Iterator[str]:
        for span in split_sentences(text):
            claim = parse_claim(_BOILERPLATE.sub("", text[span.start : span.end]))
            if not claim.text:
                continue
            vector = self.embedder.embed([claim.text])[0]
            verdict = check_claim(claim, vector, self.sources, self.weight, self.settings.check)
            self.verdicts.append(verdict)
            if verdict.support is None:
                continue
            n = self._cite(verdict)
            shown = f"{claim.text} [{n}]"
            self.kept.append(shown)
            yield shown if len(self.kept) == 1 else " " + shown

    def _cite(self, verdict: Verdict) -> int:
        support = verdict.support
        assert support is not None
        for c in self.citations:
            if (c.source, c.start, c.end) == (support.source, support.start, support.end):
                return c.n
        passage = self.passages[support.passage - 1]
        # Source sentences come from the passage's chunk, so the span lies inside its text.
        quote = passage.text[support.start - passage.start : support.end - passage.start]
        citation = Citation(
            n=len(self.citations) + 1,
            source=support.source,
            start=support.start,
            end=support.end,
            quote=quote,
            score=round(support.coverage, 4),
            page=passage.page,
        )
        self.citations.append(citation)
        return citation.n

    def answer(self) -> Answer:
        notes = [*self.extractive.notes] + [
            f"Removed a sentence no passage supports ({v.reason}): “{v.claim.text}”"
            for v in self.verdicts
            if v.support is None
        ]
        if self.cut_off:
            notes.append(f"Removed an unfinished sentence: “{self.cut_off}”")
        report = GenerationReport(
            model=self.model.name,
            prompt_tokens=self.model.count_tokens(" ".join(m["content"] for m in self.messages)),
            generated_tokens=self.model.count_tokens(self.raw) if self.raw else 0,
            first_token_seconds=round(self.first_token, 4),
            seconds=round(self.seconds, 4),
            raw_text=self.raw,
            sentences=len(self.verdicts),
            kept=len(self.kept),
            blended=sum(v.blended for v in self.verdicts),
            misattributed=sum(v.misattributed for v in self.verdicts if v.supported),
            fell_back=not self.kept,
        )
        if not self.kept:
            return _as_generated(self.extractive, [*notes, FELL_BACK], report)
        citations = self._with_short(self.citations)
        if self.extractive.short and citations is None:
            # The reader decides what is true: a written answer that does not say what it
            # found, cited where it found it, is not shown.
            report = dataclasses.replace(report, fell_back=True)
            return _as_generated(self.extractive, [*notes, MISSED_SHORT], report)
        return Answer(
            question=self.question,
            text=" ".join(self.kept),
            answered=True,
            citations=citations or self.citations,
            passages=self.extractive.passages,
            mode="generate",
            notes=notes,
            generation=report,
            short=self.extractive.short,
            confidence=self.extractive.confidence,
        )

    def _with_short(self, citations: list[Citation]) -> list[Citation] | None:
        """The citations, with the short answer's offsets on the one holding it; None when
        no kept sentence states the short answer from a sentence that holds it."""
        holder = next((c for c in self.extractive.citations if c.short_start is not None), None)
        if holder is None or holder.short_start is None or holder.short_end is None:
            return None
        said = normalize_answer(" ".join(self.kept))
        if normalize_answer(self.extractive.short) not in said:
            return None
        marked, found = [], False
        for c in citations:
            inside = (
                c.source == holder.source
                and c.start <= holder.short_start
                and holder.short_end <= c.end
            )
            if inside and not found:
                c = dataclasses.replace(
                    c, short_start=holder.short_start, short_end=holder.short_end
                )
                found = True
            marked.append(c)
        return marked if found else None


def _finished(text: str) -> bool:
    """Whether a sentence was completed, not cut off by the token limit."""
    bare = parse_claim(text).text.rstrip("\"'”’)] ")
    return bare.endswith((".", "!", "?", "…"))


def _as_generated(
    extractive: Answer, notes: list[str], report: GenerationReport | None = None
) -> Answer:
    return Answer(
        question=extractive.question,
        text=extractive.text,
        answered=extractive.answered,
        citations=extractive.citations,
        passages=extractive.passages,
        mode="generate",
        notes=notes,
        generation=report,
        short=extractive.short,
        confidence=extractive.confidence,
    )
