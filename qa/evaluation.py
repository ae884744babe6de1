"""`qa eval`: measure retrieval, evidence, answers, citations, refusals and speed on SQuAD data.

Every paragraph is indexed as its own document (an open corpus) and every question is asked
through `Index.ask`, the same call users make. A seeded share of paragraphs is held out: their
questions are asked again after those paragraphs are removed, and should be refused.
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.answer import AnswerSettings
from qa.chunking import ChunkSettings
from qa.embeddings import Embedder
from qa.errors import InputError
from qa.index import Index, build
from qa.reading import SpanReader, read_closed
from qa.retrieval import RetrievalSettings
from qa.settings import Mode
from qa.squad import Paragraph, Question, contains_answer, exact_match, f1_score, load_squad

RECALL_KS = (1, 5, 10)
_MARKER = " [{}]"


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """What to evaluate: which data, how much of it, and with what settings."""

    data: Path
    sample: int | None = None  # questions asked; None: all
    seed: int = 0
    holdout: float = 0.1  # share of paragraphs removed to make unanswerable questions
    articles: int | None = None  # only the first N articles (a smaller corpus, for quick runs)
    k: int = 10  # passages retrieved per question (recall@k reads them)
    mode: str = "extractive"  # or "generate": the language model writes, then it is checked
    workdir: Path | None = None  # keeps the corpus files and index between runs
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answering: AnswerSettings = field(default_factory=AnswerSettings)

    def __post_init__(self) -> None:
        if self.sample is not None and self.sample < 1:
            raise InputError(f"sample must be at least 1, got {self.sample}")
        if not 0 <= self.holdout < 1:
            raise InputError(f"holdout must be between 0 and 1, got {self.holdout}")
        if self.articles is not None and self.articles < 1:
            raise InputError(f"articles must be at least 1, got {self.articles}")
        Mode.of(self.mode)
        if self.k < max(RECALL_KS):
            raise InputError(f"k must be at least {max(RECALL_KS)} to measure recall@10")


@dataclass(slots=True)
class QuestionResult:
    """One question's outcome."""

    id: str
    question: str
    answerable: bool
    answered: bool
    text: str
    gold_rank: int | None  # 1-based rank of the gold paragraph among retrieved documents
    cited_gold: bool
    evidence_has_gold: bool
    exact_match: float
    f1: float
    contains_gold: bool
    citations: int
    exact_citations: int
    latency_ms: float
    short: str = ""  # the reader's short answer
    confidence: float | None = None  # the reader's answerability: thresholds are swept on it
    top_score: float | None = None  # the best passage's retrieval score (for the same sweep)
    exact_short_span: bool = True  # document.text[short_start:short_end] == short
    closed_exact_match: float | None = None  # the reader given only the gold paragraph
    closed_f1: float | None = None
    generation: dict[str, Any] | None = None  # GenerationReport fields, in generate mode


def with_settings(config: EvalConfig, assignments: Sequence[str]) -> EvalConfig:
    """`config` with settings changed by "section.field=value" strings (values typed as the
    field's default): ["answering.min_support=0.5"] -> config.answering.min_support == 0.5."""
    import dataclasses

    for assignment in assignments:
        name, _, value = assignment.partition("=")
        section, _, field_name = name.strip().partition(".")
        if section not in ("chunking", "retrieval", "answering") or not value:
            raise InputError(
                f"--set needs SECTION.FIELD=VALUE with SECTION chunking, retrieval or "
                f"answering; got {assignment!r}"
            )
        settings = getattr(config, section)
        fields = {f.name for f in dataclasses.fields(settings)}
        if field_name not in fields:
            raise InputError(
                f"{section} has no setting {field_name!r}; it has {', '.join(sorted(fields))}"
            )
        kind = type(getattr(settings, field_name))
        try:
            if kind is bool:  # bool("False") is True: read the word
                if value.lower() not in ("true", "false"):
                    raise ValueError(value)
                typed: Any = value.lower() == "true"
            else:
                typed = kind(value)
        except ValueError as error:
            raise InputError(f"{assignment!r}: {value!r} is not a {kind.__name__}") from error
        config = dataclasses.replace(
            config, **{section: dataclasses.replace(settings, **{field_name: typed})}
        )
    return config


def select(
    paragraphs: list[Paragraph], questions: list[Question], config: EvalConfig
) -> tuple[list[Paragraph], set[str], list[Question]]:
    """The corpus, the held-out paragraph ids, and the questions to ask, all seeded."""
    if config.articles is not None:
        kept = {p.id[:2] for p in paragraphs}
        keep = sorted(kept)[: config.articles]
        paragraphs = [p for p in paragraphs if p.id[:2] in keep]
        questions = [q for q in questions if q.paragraph_id[:2] in keep]
    rng = random.Random(config.seed)
    held_out = set(rng.sample([p.id for p in paragraphs], round(len(paragraphs) * config.holdout)))
    if config.sample is not None and config.sample < len(questions):
        questions = rng.sample(questions, config.sample)
    return paragraphs, held_out, questions


def run_eval(
    config: EvalConfig, *, embedder: Embedder | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run the evaluation; returns the report (a JSON-ready dict)."""
    paragraphs, questions = load_squad(config.data)
    paragraphs, held_out, asked = select(paragraphs, questions, config)
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as scratch:
        workdir = config.workdir or Path(scratch)
        corpus = workdir / "corpus"
        sources = _write_corpus(corpus, paragraphs)
        texts = {sources[p.id]: p.context for p in paragraphs}
        paragraph_of = {source: pid for pid, source in sources.items()}

        started = time.perf_counter()
        index, built = build(
            [corpus],
            path=workdir / "index",
            embedder=embedder,
            chunk_size=config.chunking.size,
            chunk_overlap=config.chunking.overlap,
            progress=progress,
        )
        build_seconds = time.perf_counter() - started
        index.retrieval, index.answering = config.retrieval, config.answering

        answerable = [q for q in asked if q.paragraph_id not in held_out]
        unanswerable = [q for q in asked if q.paragraph_id in held_out]
        index.ask("warm up")
        mode = config.mode
        results = _ask_all(
            index, answerable, True, sources, paragraph_of, texts, progress, mode, index.reader
        )
        without = index.detached()  # removing paragraphs must not touch the saved index
        if held_out:
            without.remove(*(sources[pid] for pid in sorted(held_out)))
        results += _ask_all(
            without, unanswerable, False, sources, paragraph_of, texts, progress, mode
        )

    report = summarize(results)
    report["data"] = {
        "file": str(config.data),
        "articles": len({p.id[:2] for p in paragraphs}),
        "paragraphs": len(paragraphs),
        "held_out_paragraphs": len(held_out),
        "questions_answerable": len(answerable),
        "questions_unanswerable": len(unanswerable),
        "seed": config.seed,
    }
    report["settings"] = {
        "k": config.k,
        "mode": config.mode,
        "chunking": asdict(index.chunking),
        "retrieval": asdict(config.retrieval),
        "answering": asdict(config.answering),
        "embedding_model": index.embedder.name,
    }
    embedded = built.embedded_texts
    report["speed"].update(
        build_s=round(build_seconds, 2),
        texts_embedded=embedded,
        texts_per_s=round(embedded / build_seconds, 1) if embedded else None,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    report["questions"] = [asdict(r) for r in results]
    return report


def _write_corpus(folder: Path, paragraphs: Sequence[Paragraph]) -> dict[str, str]:
    """One file per paragraph; returns paragraph id -> source name in the index."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {}
    for p in paragraphs:
        name = f"{p.id}.txt"
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != p.context:
            path.write_text(p.context, encoding="utf-8")
        sources[p.id] = f"{folder.name}/{name}"
    return sources


def _ask_all(
    index: Index,
    questions: Sequence[Question],
    answerable: bool,
    sources: dict[str, str],
    paragraph_of: dict[str, str],
    texts: dict[str, str],
    progress: bool,
    mode: str = "extractive",
    closed_reader: SpanReader | None = None,
) -> list[QuestionResult]:
    from tqdm import tqdm

    results = []
    label = "Answerable questions" if answerable else "Held-out questions"
    for q in tqdm(questions, desc=label, unit="q", disable=not progress, file=sys.stderr):
        started = time.perf_counter()
        answer = index.ask(q.question, k=10, mode=mode)
        latency = (time.perf_counter() - started) * 1000
        ranked = list(dict.fromkeys(paragraph_of.get(p.source) for p in answer.passages))
        gold_rank = ranked.index(q.paragraph_id) + 1 if q.paragraph_id in ranked else None
        cited = " ".join(c.quote for c in answer.citations)
        prediction = answer.short
        if not prediction:  # no reader: the quoted sentences are the answer
            prediction = answer.text
            for c in answer.citations:
                prediction = prediction.replace(_MARKER.format(c.n), "")
        answered_text = prediction if answer.answered else ""
        holder = next((c for c in answer.citations if c.short_start is not None), None)
        exact_short = not answer.short or (
            holder is not None
            and holder.short_end is not None
            and texts.get(holder.source, "")[holder.short_start : holder.short_end] == answer.short
        )
        closed: tuple[float, float] | None = None
        if answerable and closed_reader is not None:
            short = read_closed(closed_reader, q.question, texts[sources[q.paragraph_id]])
            closed = (exact_match(short, q.answers), f1_score(short, q.answers))
        results.append(
            QuestionResult(
                id=q.id,
                question=q.question,
                answerable=answerable,
                answered=answer.answered,
                text=answer.text,
                gold_rank=gold_rank,
                cited_gold=any(
                    paragraph_of.get(c.source) == q.paragraph_id for c in answer.citations
                ),
                evidence_has_gold=contains_answer(cited, q.answers),
                exact_match=exact_match(answered_text, q.answers),
                f1=f1_score(answered_text, q.answers),
                contains_gold=contains_answer(answered_text, q.answers),
                citations=len(answer.citations),
                exact_citations=sum(
                    texts.get(c.source, "")[c.start : c.end] == c.quote for c in answer.citations
                ),
                latency_ms=latency,
                short=answer.short,
                confidence=answer.confidence,
                top_score=max((p.score for p in answer.passages), default=None),
                exact_short_span=exact_short,
                closed_exact_match=closed[0] if closed else None,
                closed_f1=closed[1] if closed else None,
                generation=asdict(answer.generation) if answer.generation else None,
            )
        )
    return results


def summarize(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """The report's figures from per-question results."""
    good = [r for r in results if r.answerable]
    held = [r for r in results if not r.answerable]

    def share(items: Sequence[QuestionResult], test: Any) -> float | None:
        return round(sum(1 for r in items if test(r)) / len(items), 4) if items else None

    citations = sum(r.citations for r in results)
    latencies = sorted(r.latency_ms for r in results)
    return {
        "retrieval": {
            **{
                f"recall@{k}": share(
                    good, lambda r, k=k: r.gold_rank is not None and r.gold_rank <= k
                )
                for k in RECALL_KS
            },
            "recall@cited": share(good, lambda r: r.cited_gold),
        },
        "evidence": {"gold_answer_in_cited": share(good, lambda r: r.evidence_has_gold)},
        "answers": {
            "exact_match": round(statistics.fmean(r.exact_match for r in good), 4)
            if good
            else None,
            "f1": round(statistics.fmean(r.f1 for r in good), 4) if good else None,
            "contains_gold": share(good, lambda r: r.contains_gold),
            "closed_exact_match": _mean([r.closed_exact_match for r in good]),
            "closed_f1": _mean([r.closed_f1 for r in good]),
        },
        "citations": {
            "total": citations,
            "exact": round(sum(r.exact_citations for r in results) / citations, 4)
            if citations
            else None,
            "exact_short_answers": share(results, lambda r: r.exact_short_span),
        },
        "refusals": {
            "answerable_wrongly_refused": share(good, lambda r: not r.answered),
            "unanswerable_refused": share(held, lambda r: not r.answered),
        },
        "speed": {
            "asks": len(latencies),
            "ask_p50_ms": round(_percentile(latencies, 50), 2) if latencies else None,
            "ask_p95_ms": round(_percentile(latencies, 95), 2) if latencies else None,
        },
        **_generation_summary([r.generation for r in results if r.generation]),
    }


def _generation_summary(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Figures for written answers: what share of sentences held up, and how fast."""
    if not reports:
        return {}
    written = sum(r["sentences"] for r in reports)

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    rates = [
        (r["generated_tokens"] - 1) / (r["seconds"] - r["first_token_seconds"])
        for r in reports
        if r["generated_tokens"] > 1 and r["seconds"] > r["first_token_seconds"]
    ]
    return {
        "generation": {
            "answers_written": len(reports),
            "sentences_written": written,
            "sentences_kept": round(sum(r["kept"] for r in reports) / written, 4)
            if written
            else None,
            "sentences_blended": round(sum(r["blended"] for r in reports) / written, 4)
            if written
            else None,
            "markers_corrected": sum(r["misattributed"] for r in reports),
            "fell_back_to_quotes": round(sum(r["fell_back"] for r in reports) / len(reports), 4),
            "first_token_p50_s": median([r["first_token_seconds"] for r in reports]),
            "tokens_per_s_p50": median(rates),
        }
    }


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of sorted values (as numpy's default)."""
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


TARGETS = {
    ("retrieval", "recall@1"): (">=", 0.90),
    ("retrieval", "recall@5"): (">=", 0.97),
    ("evidence", "gold_answer_in_cited"): (">=", 0.90),
    ("answers", "exact_match"): (">=", 0.55),
    ("answers", "f1"): (">=", 0.65),
    ("answers", "closed_exact_match"): (">=", 0.68),
    ("answers", "closed_f1"): (">=", 0.78),
    ("citations", "exact"): (">=", 1.0),
    ("citations", "exact_short_answers"): (">=", 1.0),
    ("refusals", "answerable_wrongly_refused"): ("<=", 0.05),
    ("refusals", "unanswerable_refused"): (">=", 0.80),
    ("speed", "ask_p50_ms"): ("<=", 100.0),
    ("generation", "first_token_p50_s"): ("<=", 1.5),
    ("generation", "tokens_per_s_p50"): (">=", 15.0),
}


def format_report(report: dict[str, Any]) -> str:
    """The report as a table for the terminal, each figure beside its target."""
    data = report["data"]
    lines = [
        f"{data['file']}: {data['paragraphs']} paragraphs from {data['articles']} articles; "
        f"{data['questions_answerable']} answerable and {data['questions_unanswerable']} "
        f"held-out questions (seed {data['seed']})",
        "",
        f"{'metric':38} {'value':>9}  target",
    ]
    sections = ("retrieval", "evidence", "answers", "citations", "refusals", "speed", "generation")
    for section in (s for s in sections if s in report):
        for name, value in report[section].items():
            target = TARGETS.get((section, name))
            mark = ""
            if target is not None and value is not None:
                op, goal = target
                met = value >= goal if op == ">=" else value <= goal
                mark = f"{op} {goal:g}  {'ok' if met else 'MISSED'}"
            shown = (
                "—"
                if value is None
                else (f"{value:.3f}" if isinstance(value, float) else str(value))
            )
            lines.append(f"{section + ' ' + name:38} {shown:>9}  {mark}")
    return "\n".join(lines)


def plot_report(report: dict[str, Any], path: Path) -> None:
    """Recall@k curve and latency histogram, side by side, as a PNG."""
    try:
        import matplotlib
    except ImportError as error:
        raise InputError("Plotting needs matplotlib: pip install matplotlib") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    good = [q for q in report["questions"] if q["answerable"]]
    ks = list(range(1, 11))
    recall = [
        sum(1 for q in good if q["gold_rank"] and q["gold_rank"] <= k) / max(len(good), 1)
        for k in ks
    ]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(ks, recall, marker="o")
    left.set(
        xlabel="k (documents retrieved)",
        ylabel="recall of the gold paragraph",
        title="Recall@k",
        ylim=(min([*recall, 0.8]) - 0.02, 1.0),
        xticks=ks,
    )
    left.grid(alpha=0.3)
    right.hist([q["latency_ms"] for q in report["questions"]], bins=40)
    right.set(xlabel="ask latency (ms)", ylabel="questions", title="Latency")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
