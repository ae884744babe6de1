"""Check a written answer against its sources, sentence by sentence, before anyone sees it.

A generated sentence is kept only if one source sentence supports it: most of its content
words are there, and every number, name and negation in it is too. It is then cited with that
sentence's exact span. A sentence that only two different passages together would support is a
*blend* (small models mix facts): it is dropped and counted. Two adjacent sentences are not
allowed to support one claim either: on the article, the model joined "ISIS-K threatens
Taliban credibility" to the next sentence's "the main goal of the United States" into a claim
that both sentences' words covered and neither said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.lexical import terms
from qa.text import name_stems
from qa.text import numbers as numbers_in

# "[1]", "[1, 3]", "[2-4]"; "[1][2]" is two markers.
_MARKER = re.compile(r"\s*\[\s*(\d+(?:\s*(?:[,;]|[-–])\s*\d+)*)\s*\]")
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|without|cannot)\b|n[’']t\b", re.I)
MAX_RANGE = 20  # "[1-300]" is not a citation


@dataclass(frozen=True, slots=True)
class Claim:
    """A generated sentence without its markers, and the passage numbers it cited."""

    text: str
    markers: tuple[int, ...]


def parse_claim(sentence: str) -> Claim:
    """Split markers off a sentence: "Doha hosts it [1, 3]." -> Claim("Doha hosts it.", (1, 3))."""
    markers: list[int] = []
    for match in _MARKER.finditer(sentence):
        for part in re.split(r"\s*[,;]\s*", match.group(1)):
            bounds = [int(b) for b in re.split(r"\s*[-–]\s*", part)]
            low, high = bounds[0], bounds[-1]
            markers.extend(range(low, high + 1) if 0 <= high - low < MAX_RANGE else [low])
    text = re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", sentence))
    return Claim(text=" ".join(text.split()), markers=tuple(dict.fromkeys(markers)))


@dataclass(frozen=True, slots=True)
class SourceSentence:
    """A sentence of a passage the model was shown, with where it lies in its document."""

    passage: int  # the passage's number in the prompt, 1-based
    source: str
    start: int
    end: int
    text: str
    vector: np.ndarray


@dataclass(frozen=True, slots=True)
class Support:
    """The source sentence that supports a claim."""

    passage: int
    source: str
    start: int
    end: int
    coverage: float
    cosine: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the check found for one claim."""

    claim: Claim
    support: Support | None
    reason: str  # "supported", or why not, for a person to read
    blended: bool = False  # two different passages together would support it
    misattributed: bool = False  # supported, but not by a passage its markers named

    @property
    def supported(self) -> bool:
        return self.support is not None


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """How much of a claim a source must hold to support it."""

    min_coverage: float = 0.75  # IDF-weighted share of the claim's content words
    min_cosine: float = 0.55  # unless coverage alone is this high:
    sure_coverage: float = 0.9


def facts(text: str) -> tuple[set[str], set[str], bool]:
    """Numbers, name stems and whether a negation occurs: the parts a paraphrase may not change.

    "Kazakhstan did not ban it in 2023." -> ({"2023"}, {"kazakhstan"}, True)
    """
    return numbers_in(text), name_stems(text), bool(_NEGATION.search(text))


def check_claim(
    claim: Claim,
    claim_vector: np.ndarray,
    sources: Sequence[SourceSentence],
    weight: Callable[[str], float],
    settings: CheckSettings | None = None,
) -> Verdict:
    """Find the source span that supports `claim`, or say why none does."""
    settings = settings or CheckSettings()
    claim_terms = set(terms(claim.text))
    if not claim_terms:
        return Verdict(claim, None, "says nothing that can be checked")
    numbers, names, negated = facts(claim.text)
    weights = {t: weight(t) for t in claim_terms}
    total = sum(weights.values()) or 1.0

    def coverage(present: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in present) / total

    best: tuple[float, Support] | None = None
    closest = (0.0, "no passage shares its words")
    per_passage: dict[int, list[str]] = {}
    for sentence in sources:
        present = set(terms(sentence.text))
        per_passage.setdefault(sentence.passage, []).append(sentence.text)
        share = coverage(present)
        cosine = float(sentence.vector @ claim_vector)
        missing = _missing_facts(sentence.text, present, numbers, names, negated)
        if missing:
            if share > closest[0]:
                closest = (share, missing)
            continue
        if share < settings.min_coverage or (
            cosine < settings.min_cosine and share < settings.sure_coverage
        ):
            if share > closest[0]:
                closest = (share, f"only {share:.0%} of its words are in one passage")
            continue
        score = share + cosine
        if best is None or score > best[0]:
            support = Support(
                sentence.passage, sentence.source, sentence.start, sentence.end, share, cosine
            )
            best = (score, support)
    if best is not None:
        support = best[1]
        misattributed = bool(claim.markers) and support.passage not in claim.markers
        return Verdict(claim, support, "supported", misattributed=misattributed)
    blended = _needs_two(coverage, per_passage, (numbers, names, negated), settings)
    reason = "blends facts from different passages" if blended else closest[1]
    return Verdict(claim, None, reason, blended=blended)


def _missing_facts(
    text: str, present: set[str], numbers: set[str], names: set[str], negated: bool
) -> str:
    have_numbers = numbers_in(text)
    if numbers - have_numbers:
        return f"the closest passage does not have the number {sorted(numbers - have_numbers)[0]}"
    if names - present:
        return f"the closest passage does not name '{sorted(names - present)[0]}'"
    if negated and not _NEGATION.search(text):
        return "it negates what the closest passage says"
    return ""


def _needs_two(
    coverage: Callable[[set[str]], float],
    per_passage: dict[int, list[str]],
    claim_facts: tuple[set[str], set[str], bool],
    settings: CheckSettings,
) -> bool:
    """Whether two passages together would support the claim though no single sentence does."""
    passages = list(per_passage)
    for i, a in enumerate(passages):
        for b in passages[i + 1 :]:
            text = " ".join(per_passage[a] + per_passage[b])
            present = set(terms(text))
            if coverage(present) >= settings.min_coverage and not _missing_facts(
                text, present, *claim_facts
            ):
                return True
    return False
