"""`qa eval --conversations FILE`: follow-up questions asked in a Conversation, scored against
the same questions asked in full.

A chain (one JSON object a line) is two or three turns, each with the question as a person
asks it in the conversation, the same question asked in full, and gold answers:
{"id": "article-01", "corpus": "article", "turns": [{"question": "...", "full": "...",
"answers": ["..."]}, ...]}. "article" chains are asked of the shipped article; "squad" chains
of an index of every paragraph of the SQuAD sample (each its own document, as `qa eval` does).
A turn is correct when a gold answer is in the quotes its answer cites.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.conversation import Conversation
from qa.embeddings import Embedder
from qa.errors import InputError
from qa.evaluation import _percentile, _write_corpus
from qa.index import Index, build_index
from qa.squad import contains_answer, load_squad
from qa.types import Answer

CORPORA = ("article", "squad")


@dataclass(frozen=True, slots=True)
class ChainTurn:
    question: str  # as asked in the conversation: "Who announced it?"
    full: str  # the same question standing alone
    answers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Chain:
    id: str
    corpus: str  # "article" or "squad"
    turns: tuple[ChainTurn, ...]


@dataclass(frozen=True, slots=True)
class TurnResult:
    chain: str
    corpus: str
    turn: int  # 0: the first question
    question: str
    searched: str | None
    correct: bool  # a gold answer is in the cited quotes, asked in the conversation
    correct_in_full: bool  # ... asked in full, alone
    ask_ms: float
    full_ask_ms: float


def load_chains(path: str | Path) -> list[Chain]:
    """The chains of a JSON-lines file; a clear error naming the line otherwise."""
    chains = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"Cannot read {path}: {error.strerror or error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            turns = tuple(
                ChainTurn(str(t["question"]), str(t["full"]), tuple(map(str, t["answers"])))
                for t in data["turns"]
            )
            chain = Chain(str(data["id"]), str(data["corpus"]), turns)
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"{path}, line {number}: not a conversation chain ({type(error).__name__}: {error})"
            ) from error
        if chain.corpus not in CORPORA or len(turns) < 2 or not all(t.answers for t in turns):
            raise InputError(
                f"{path}, line {number}: a chain needs corpus article or squad and two or more "
                "turns, each with answers"
            )
        chains.append(chain)
    if not chains:
        raise InputError(f"{path} holds no conversation chains")
    return chains


def run_conversation_eval(
    path: str | Path,
    *,
    article: Path,
    squad: Path,
    workdir: Path | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Ask every chain in a Conversation and each question in full; returns the report."""
    chains = load_chains(path)
    with tempfile.TemporaryDirectory(prefix="qa-conv-eval-") as scratch:
        work = workdir or Path(scratch)
        indexes: dict[str, Index] = {}
        if any(c.corpus == "article" for c in chains):
            corpus = work / "article-corpus"
            corpus.mkdir(parents=True, exist_ok=True)
            shutil.copy(article, corpus / article.name)
            indexes["article"] = build_index(
                [corpus], path=work / "article-index", embedder=embedder, progress=progress
            )
        if any(c.corpus == "squad" for c in chains):
            paragraphs, _ = load_squad(squad)
            _write_corpus(work / "corpus", paragraphs)
            indexes["squad"] = build_index(
                [work / "corpus"], path=work / "index", embedder=embedder, progress=progress
            )
        for index in indexes.values():
            index.ask("warm up")
        results = [r for chain in _progress(chains, progress) for r in _run(chain, indexes)]
    report = summarize_conversations(results)
    report["data"] = {"file": str(path), "chains": len(chains)}
    report["turns"] = [asdict(r) for r in results]
    return report


def _progress(chains: Sequence[Chain], progress: bool) -> Sequence[Chain]:
    from tqdm import tqdm

    return tqdm(chains, desc="Conversations", unit="chain", disable=not progress, file=sys.stderr)


def _run(chain: Chain, indexes: dict[str, Index]) -> list[TurnResult]:
    index = indexes[chain.corpus]
    conversation = Conversation(index)
    results = []
    for number, turn in enumerate(chain.turns):
        started = time.perf_counter()
        answer = conversation.ask(turn.question, k=10)
        ask_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        alone = index.ask(turn.full, k=10)
        full_ms = (time.perf_counter() - started) * 1000
        results.append(
            TurnResult(
                chain=chain.id,
                corpus=chain.corpus,
                turn=number,
                question=turn.question,
                searched=answer.searched,
                correct=_correct(answer, turn.answers),
                correct_in_full=_correct(alone, turn.answers),
                ask_ms=round(ask_ms, 2),
                full_ask_ms=round(full_ms, 2),
            )
        )
    return results


def _correct(answer: Answer, golds: Sequence[str]) -> bool:
    return answer.answered and contains_answer(" ".join(c.quote for c in answer.citations), golds)


def summarize_conversations(results: Sequence[TurnResult]) -> dict[str, Any]:
    """Follow-up accuracy beside in-full accuracy, per corpus and overall, and ask times."""

    def share(items: Sequence[TurnResult], correct: str) -> float | None:
        return round(sum(getattr(r, correct) for r in items) / len(items), 4) if items else None

    def p50(values: list[float]) -> float | None:
        return round(_percentile(sorted(values), 50), 2) if values else None

    report: dict[str, Any] = {}
    for name in ("all", *CORPORA):
        picked = [r for r in results if name == "all" or r.corpus == name]
        follow = [r for r in picked if r.turn > 0]
        if not follow:
            continue
        in_conversation = share(follow, "correct")
        in_full = share(follow, "correct_in_full")
        report[name] = {
            "follow_ups": len(follow),
            "follow_up_accuracy": in_conversation,
            "asked_in_full_accuracy": in_full,
            "gap_points": round(100 * ((in_full or 0) - (in_conversation or 0)), 1),
            "first_question_accuracy": share([r for r in picked if r.turn == 0], "correct"),
        }
    first = [r.ask_ms for r in results if r.turn == 0]
    follow_ms = [r.ask_ms for r in results if r.turn > 0]
    first_p50, follow_p50 = p50(first), p50(follow_ms)
    report["speed"] = {
        "first_question_p50_ms": first_p50,
        "follow_up_p50_ms": follow_p50,
        "follow_up_over_first": round(follow_p50 / first_p50, 2)
        if first_p50 and follow_p50
        else None,
        "asked_in_full_p50_ms": p50([r.full_ask_ms for r in results]),
        "follow_up_max_ms": round(max(follow_ms), 2) if follow_ms else None,
        "mean_first_ms": round(statistics.fmean(first), 2) if first else None,
    }
    return report


def format_conversation_report(report: dict[str, Any]) -> str:
    """The report as a table: each corpus's follow-up accuracy beside asked-in-full accuracy."""
    lines = [
        f"{report['data']['file']}: {report['data']['chains']} chains",
        "",
        f"{'chains':10} {'follow-ups':>10} {'in conversation':>16} {'asked in full':>14} "
        f"{'gap (points)':>13} {'first questions':>16}",
    ]
    for name in ("all", *CORPORA):
        row = report.get(name)
        if row is None:
            continue
        lines.append(
            f"{name:10} {row['follow_ups']:>10} {row['follow_up_accuracy']:>16.3f} "
            f"{row['asked_in_full_accuracy']:>14.3f} {row['gap_points']:>13.1f} "
            f"{row['first_question_accuracy']:>16.3f}"
        )
    speed = report["speed"]
    lines += [
        "",
        f"ask p50: first questions {speed['first_question_p50_ms']} ms, follow-ups "
        f"{speed['follow_up_p50_ms']} ms ({speed['follow_up_over_first']}x; target <= 2x), "
        f"questions asked in full {speed['asked_in_full_p50_ms']} ms",
    ]
    return "\n".join(lines)
