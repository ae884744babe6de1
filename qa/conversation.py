"""Conversations: follow-up questions answered from what was said before.

    chat = Conversation()
    chat.ask("What did Kazakhstan decide at the end of last year?")
    chat.ask("Who announced it?").searched
    # 'Who announced it? (What did Kazakhstan decide at the end of last year?)'

A question that stands alone is asked as it is. A follow-up ("Who announced it?", "Who is
he?") is asked as a few standalone candidates - its pronoun replaced by a name the last turn
offers (from its question, its answer, or the sentences around its citations), and the
question followed by the one it follows - each read against the last answer's passages with
the sentences next to its citations favoured. The best-supported answer is kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qa import asking, followups
from qa.answer import compose_answer
from qa.errors import InputError
from qa.generate import AnswerStream
from qa.index import Index, PathLike
from qa.lexical import terms
from qa.pipeline_settings import DEFAULT_PASSAGES
from qa.questions import check_k, clean_question, fit_question
from qa.retrieval import retrieve
from qa.settings import Mode
from qa.snapshot import Snapshot
from qa.types import Answer


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange: the question as asked, and its answer (`answer.searched`: as searched)."""

    question: str
    answer: Answer


@dataclass(frozen=True, slots=True)
class ConversationSettings:
    """How a follow-up keeps to the last turn.

    Sentences within `window` of a sentence the last answer cited gain `nearby_bonus` / distance
    (the answer to "Who announced it?" is often the next sentence); the cited ones themselves
    gain `cited_bonus` (a follow-up asks something new, but may be answered by the same
    sentence). A later candidate replaces an earlier one only when its support is higher by
    more than `switch_margin` (by more than `confidence_margin` where the reader's confidence
    is compared: it moves by a few hundredths with the wording alone): the earlier ones are the
    more precise readings.
    Set by reasoning, not tuned: no figure of `qa eval --conversations` was used to pick them.
    """

    max_candidates: int = 3
    window: int = 2
    nearby_bonus: float = 0.1
    cited_bonus: float = 0.0
    switch_margin: float = 0.02
    confidence_margin: float = 0.1

    def __post_init__(self) -> None:
        if self.max_candidates < 1:
            raise InputError(f"max_candidates must be at least 1, got {self.max_candidates}")
        if self.window < 0:
            raise InputError(f"window must be 0 or more, got {self.window}")


class Conversation:
    """Questions asked in turn, each follow-up understood through the turns before it."""

    def __init__(
        self,
        index: Index | PathLike | None = None,
        *,
        turns: Sequence[Turn] = (),
        settings: ConversationSettings | None = None,
    ) -> None:
        self._index = index if isinstance(index, Index) or index is None else Index.load(index)
        self._turns = list(turns)
        self.settings = settings or ConversationSettings()

    @property
    def index(self) -> Index:
        if self._index is None:
            from qa.api import default_index

            self._index = default_index()
        return self._index

    @property
    def turns(self) -> list[Turn]:
        """The exchanges so far, oldest first."""
        return list(self._turns)

    def clear(self) -> None:
        """Forget the turns: the next question starts a new conversation."""
        self._turns.clear()

    def ask(
        self, question: str, *, k: int = DEFAULT_PASSAGES, mode: Mode | str = Mode.EXTRACTIVE
    ) -> Answer:
        """Answer `question` as the next turn; `answer.searched` says what was searched."""
        return self.stream(question, k=k, mode=mode).result()

    def stream(
        self, question: str, *, k: int = DEFAULT_PASSAGES, mode: Mode | str = Mode.EXTRACTIVE
    ) -> AnswerStream:
        """Like `ask`, as it is written; the turn is remembered once the stream ends."""
        mode = Mode.of(mode)
        asked = clean_question(question)
        check_k(k)
        index = self.index
        snapshot = index.snapshot
        answer = self._extractive(asked, snapshot, k)
        if mode is Mode.EXTRACTIVE:
            self._turns.append(Turn(asked, answer))
            return AnswerStream(iter([answer.text]), lambda: answer)
        searched = answer.searched or asked
        written = asking.write(
            index, searched, dataclasses.replace(answer, question=searched), snapshot
        )

        def finish() -> Answer:
            assert written.answer is not None
            final = dataclasses.replace(written.answer, question=asked, searched=searched)
            self._turns.append(Turn(asked, final))
            return final

        return AnswerStream(iter(written), finish)

    def _extractive(self, asked: str, snapshot: Snapshot, k: int) -> Answer:
        kind = followups.reference(asked)
        previous = self._turns[-1] if self._turns else None
        if previous is None or kind is None:
            # First questions go through unchanged; "Summarize the article" means the one the
            # last answer cited.
            focus = (
                previous.answer.citations[0].source
                if previous and previous.answer.citations
                else None
            )
            answer = self.index.ask(asked, k=k, focus=focus)
            return dataclasses.replace(answer, searched=answer.question)
        cited = _cited_rows(snapshot, previous.answer)
        candidates = follow_up_candidates(
            asked, kind, previous, nearby=_nearby_text(snapshot, cited, self.settings.window)
        )[: self.settings.max_candidates]
        fitted = [fit_question(c) for c in candidates]
        vectors = self.index.embedder.embed([text for text, _ in fitted])
        bonus = _bonus(snapshot, cited, self.settings)
        best: Answer | None = None
        for (text, notes), vector in zip(fitted, vectors, strict=True):
            if best is not None and _unbeatable(best, self.settings):
                break  # no later reading could replace it: skip the work
            ranking = retrieve(
                snapshot,
                vector,
                terms(text),
                max(k, self.index.retrieval.candidates),
                self.index.retrieval,
            )
            scores = dict(ranking)
            floor = min(scores.values(), default=0.0)
            context = [(row, scores.get(row, floor)) for row in _chunk_rows(snapshot, cited)]
            answer = compose_answer(
                text,
                snapshot,
                ranking[:k],
                vector,
                self.index.answering,
                asking.reader_of(self.index),
                context=context,
                bonus=bonus,
            )
            answer = dataclasses.replace(
                answer, question=asked, searched=text, notes=notes + answer.notes
            )
            if best is None or support(answer) > support(best) + self._margin(best):
                best = answer
        assert best is not None
        return best

    def _margin(self, best: Answer) -> float:
        """How much better a later candidate must be than `best` to replace it."""
        if best.answered and best.confidence is not None:
            return self.settings.confidence_margin
        return self.settings.switch_margin

    @classmethod
    def from_messages(
        cls,
        history: object,
        *,
        index: Index | None = None,
        replay: int = 2,
        k: int = DEFAULT_PASSAGES,
    ) -> Conversation:
        """A conversation holding a chat history sent by another program; None is no history.

        The history is in the chat messages format, oldest first:
        [{"role": "user", "content": "Who is Thomas West?"}, {"role": "assistant", ...}].
        Its last `replay` questions are asked again, so that their answers carry citations.
        """
        if history is None:
            return cls(index)
        if isinstance(history, list):
            # Only what is read is checked: 20,000 messages cost nothing.
            history = followups.recent(history)
        if not isinstance(history, list) or not all(
            isinstance(m, Mapping)
            and m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str)
            for m in history
        ):
            raise InputError(
                'history must be a list of messages, oldest first, each {"role": "user" or '
                '"assistant", "content": "its text"}'
            )
        conversation = cls(index)
        questions = [followups.question_text(m["content"]) for m in history if m["role"] == "user"]
        questions = [q for q in questions if q.strip()]
        for question in questions[-replay:] if replay else []:
            conversation.ask(question, k=k)
        return conversation


def follow_up_candidates(asked: str, kind: str, previous: Turn, *, nearby: str = "") -> list[str]:
    """Standalone readings of a follow-up, the most precise first: each name the last turn
    offers put in place of the pronoun, then the question followed by the one it follows."""
    before = previous.answer.searched or previous.question
    readings: list[str] = []
    if kind != "ellipsis":
        answer_text = previous.answer.text if previous.answer.answered else ""
        for name in followups.antecedents(kind, before, answer_text, nearby)[:2]:
            readings.append(followups.substitute(asked, name))
    readings.append(followups.in_context(asked, before))
    return list(dict.fromkeys(r for r in readings if r != asked))


def support(answer: Answer) -> float:
    """How well the documents support an answer (0 if refused).

    The one place candidate answers are compared: the reader's confidence where it read the
    answer, else the best citation's support.
    """
    if not answer.answered or not answer.citations:
        return 0.0
    if answer.confidence is not None:
        return answer.confidence
    return max(c.score for c in answer.citations)


def _unbeatable(best: Answer, settings: ConversationSettings) -> bool:
    """Whether no other candidate could replace `best`: a reader's confidence is at most 1, so
    one within `confidence_margin` of 1 cannot be beaten by that margin."""
    return (
        best.answered
        and best.confidence is not None
        and best.confidence + settings.confidence_margin >= 1.0
    )


def _cited_rows(snapshot: Snapshot, answer: Answer) -> list[int]:
    """The sentence rows the answer cited (those still in this index)."""
    rows = [snapshot.sentence_row_at(c.source, c.start) for c in answer.citations]
    return [r for r in rows if r is not None]


def _neighbours(snapshot: Snapshot, row: int, window: int) -> dict[int, int]:
    """Sentence rows within `window` of `row` in the same document -> their distance."""
    entry, _ = snapshot.sentence_span(row)
    out: dict[int, int] = {}
    for distance in range(1, window + 1):
        for other in (row - distance, row + distance):
            if 0 <= other < snapshot.sentence_count and snapshot.sentence_span(other)[0] is entry:
                out.setdefault(other, distance)
    return out


def _bonus(
    snapshot: Snapshot, cited: Sequence[int], settings: ConversationSettings
) -> dict[int, float]:
    bonus: dict[int, float] = {}
    for row in cited:
        for other, distance in _neighbours(snapshot, row, settings.window).items():
            bonus[other] = max(bonus.get(other, 0.0), settings.nearby_bonus / distance)
    for row in cited:
        bonus[row] = settings.cited_bonus
    return bonus


def _nearby_text(snapshot: Snapshot, cited: Sequence[int], window: int) -> str:
    """The sentences around the cited ones, nearest first: where a new name may come from."""
    near: dict[int, int] = {}
    for row in cited:
        for other, distance in _neighbours(snapshot, row, window).items():
            if other not in cited:
                near[other] = min(distance, near.get(other, distance))
    texts = []
    for other in sorted(near, key=lambda r: (near[r], r < min(cited), r)):
        entry, span = snapshot.sentence_span(other)
        texts.append(entry.document.text[span.start : span.end])
    return " ".join(texts)


def _chunk_rows(snapshot: Snapshot, sentence_rows: Sequence[int]) -> list[int]:
    """The chunk rows holding these sentence rows, in index order."""
    wanted = set(sentence_rows)
    found: set[int] = set()
    for sentence_row in wanted:
        entry = snapshot.entry_of_sentence(sentence_row)
        # An entry's chunks are consecutive rows.
        first, end = snapshot.chunk_base[entry], snapshot.chunk_base[entry + 1]
        found.update(
            row
            for row in range(int(first), int(end))
            if sentence_row in snapshot.sentence_rows(row)
        )
    return sorted(found)
