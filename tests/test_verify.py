"""Marker parsing and the support check, on hand-made text with exact results."""

import numpy as np
import pytest

from qa.verify import Claim, SourceSentence, check_claim, facts, parse_claim

SOURCES_TEXT = [
    (1, "Since then, the US embassy in Afghanistan has been operating from Doha."),
    (1, "Its consular services are also available in neighboring countries."),
    (2, "At the end of last year, Kazakhstan decided to exclude the Taliban from its list."),
    (2, "The list was last audited in 2023."),
]


def sources(vector: np.ndarray) -> list[SourceSentence]:
    out, at = [], 0
    for passage, text in SOURCES_TEXT:
        out.append(SourceSentence(passage, "a.txt", at, at + len(text), text, vector))
        at += len(text) + 1
    return out


ALIGNED = np.array([1.0, 0.0])  # claim and sources point the same way: cosine 1


def check(text: str):
    return check_claim(parse_claim(text), ALIGNED, sources(ALIGNED), lambda term: 1.0)


@pytest.mark.parametrize(
    ("sentence", "text", "markers"),
    [
        ("Doha hosts it [1].", "Doha hosts it.", (1,)),
        ("Doha hosts it [1, 3].", "Doha hosts it.", (1, 3)),
        ("Doha hosts it [2-4].", "Doha hosts it.", (2, 3, 4)),
        ("Doha [1] hosts it [2][1].", "Doha hosts it.", (1, 2)),
        ("Doha hosts it.", "Doha hosts it.", ()),
        ("Doha hosts it [1-300].", "Doha hosts it.", (1,)),
        ("See [a] and [ 2 ].", "See [a] and.", (2,)),
    ],
)
def test_parse_claim(sentence, text, markers):
    assert parse_claim(sentence) == Claim(text, markers)


def test_facts_are_numbers_names_and_negation():
    assert facts("Kazakhstan did not ban it in 2023, said Aibek Smadiyarov.") == (
        {"2023"},
        {"kazakhstan", "aibek", "smadiyarov"},
        True,
    )
    assert facts("The embassy moved to Doha.") == (set(), {"doha"}, False)


def test_a_paraphrase_is_supported_by_its_sentence_with_the_exact_span():
    verdict = check("The US embassy in Afghanistan has been operating from Doha [1].")
    assert verdict.supported and verdict.reason == "supported"
    assert (verdict.support.passage, verdict.support.start, verdict.support.end) == (1, 0, 71)
    assert not verdict.misattributed and not verdict.blended


def test_a_wrong_marker_is_noticed_and_the_right_passage_found():
    verdict = check("Kazakhstan decided to exclude the Taliban from its list [1].")
    assert verdict.supported and verdict.support.passage == 2 and verdict.misattributed


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "The US embassy in Afghanistan has been operating from Qatar.",
            "the closest passage does not name 'qatar'",
        ),
        ("The list was last audited in 2021.", "the closest passage does not have the number 2021"),
        (
            "Kazakhstan decided not to exclude the Taliban from its list.",
            "it negates what the closest passage says",
        ),
        ("Pakistan has many mountains and rivers.", "no passage shares its words"),
        ("The weather was cold and rainy.", "no passage shares its words"),
    ],
)
def test_unsupported_claims_are_refused_with_a_reason(text, reason):
    verdict = check(text)
    assert not verdict.supported and verdict.reason == reason


def test_a_claim_joining_two_passages_is_a_blend():
    verdict = check("The embassy in Doha decided to exclude the Taliban from its list.")
    assert not verdict.supported and verdict.blended
    assert verdict.reason == "blends facts from different passages"


def test_low_similarity_needs_near_complete_coverage():
    claim = parse_claim("The US embassy in Afghanistan has been operating from Doha.")
    opposite = np.array([0.0, 1.0])  # cosine 0 between claim and every source
    verdict = check_claim(claim, opposite, sources(ALIGNED), lambda term: 1.0)
    assert verdict.supported  # every content word is there: coverage alone suffices
    partial = parse_claim("The US embassy has been operating from Doha for years.")
    assert not check_claim(partial, opposite, sources(ALIGNED), lambda term: 1.0).supported
