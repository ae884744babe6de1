"""SQuAD data and its standard answer metrics (exact match and token F1, v1.1 normalisation)."""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.errors import InputError

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


@dataclass(frozen=True, slots=True)
class Paragraph:
    id: str  # "<article index>-<paragraph index>", e.g. "03-017"
    title: str
    context: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    paragraph_id: str


def load_squad(path: str | Path) -> tuple[list[Paragraph], list[Question]]:
    """Paragraphs and questions of a SQuAD-format JSON file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
        paragraphs, questions = [], []
        for a, article in enumerate(data):
            for p, paragraph in enumerate(article["paragraphs"]):
                pid = f"{a:02d}-{p:03d}"
                paragraphs.append(
                    Paragraph(pid, str(article.get("title", "")), paragraph["context"])
                )
                for qa in paragraph["qas"]:
                    answers = tuple(dict.fromkeys(x["text"] for x in qa["answers"]))
                    if answers:  # SQuAD 2.0 unanswerable questions carry no gold answer
                        questions.append(Question(qa["id"], qa["question"], answers, pid))
    except OSError as error:
        raise InputError(f"Cannot read {path}: {error.strerror or error}") from error
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{path} is not SQuAD-format JSON ({type(error).__name__}: {error})"
        ) from error
    if not questions:
        raise InputError(f"{path} holds no questions with answers")
    return paragraphs, questions


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces: 'The  U.S.!' -> 'us'."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """The best token-overlap F1 between the prediction and any gold answer."""
    predicted = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        expected = normalize_answer(gold).split()
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Whether a gold answer appears, as whole words, in `text` (both normalised)."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(g)} " in haystack for g in golds if normalize_answer(g))
