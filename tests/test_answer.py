"""Evidence selection, composition, numbering and refusal (fake embedder, exact results)."""

import pytest

from qa import AnswerSettings, Index
from qa.answer import NOT_FOUND
from qa.errors import InputError

TEXT = (
    "The embassy has been operating from Doha since 2021.\n\n"
    "The embassy has been operating from Doha since 2021.\n\n"
    "Kazakhstan removed the Taliban from its list of banned groups.\n\n"
    "Thomas West is the special envoy for Afghanistan."
)


@pytest.fixture
def index(fake_embedder, write):
    index = Index(embedder=fake_embedder)
    index.add([write("article.txt", TEXT)])
    return index


def test_answer_quotes_the_best_sentence_with_a_marker(index):
    answer = index.ask("Who is the special envoy for Afghanistan?")
    assert answer.answered
    assert answer.text == "Thomas West is the special envoy for Afghanistan. [1]"
    [citation] = answer.citations
    assert (citation.n, citation.source, citation.page) == (1, "article.txt", None)
    assert citation.quote == TEXT[citation.start : citation.end]
    assert citation.quote == "Thomas West is the special envoy for Afghanistan."


def test_a_repeated_statement_is_cited_once(index):
    answer = index.ask("Where has the embassy been operating from since 2021?")
    assert answer.text.count("Doha") == 1
    assert [c.n for c in answer.citations] == [1]
    assert answer.citations[0].start == 0  # the first occurrence


def test_unrelated_question_is_refused_but_passages_are_still_returned(index):
    answer = index.ask("Who won the 2022 FIFA World Cup?")
    assert not answer.answered
    assert answer.text == NOT_FOUND
    assert answer.citations == []
    assert answer.passages  # what was looked at, for a person to check


def test_more_sentences_are_cited_in_order_when_they_score_alike(fake_embedder, write):
    settings = AnswerSettings(margin=1.0, min_support=0.0, max_sentences=2)
    index = Index(embedder=fake_embedder, answering=settings)
    index.add([write("article.txt", TEXT)])
    answer = index.ask("Taliban envoy embassy?")
    assert [c.n for c in answer.citations] == [1, 2]
    for citation in answer.citations:
        assert f"[{citation.n}]" in answer.text
        assert citation.quote == TEXT[citation.start : citation.end]
    assert answer.citations[0].score >= answer.citations[1].score


def test_passages_come_best_first_with_exact_offsets(index):
    answer = index.ask("Which list did Kazakhstan remove the Taliban from?")
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)
    for passage in answer.passages:
        assert passage.text == TEXT[passage.start : passage.end]


def test_answer_to_dict_is_plain_json_data(index):
    import json

    data = index.ask("Who is the special envoy?").to_dict()
    assert json.loads(json.dumps(data))["citations"][0]["quote"].startswith("Thomas West")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_support": -0.1},
        {"dense_weight": 0, "coverage_weight": 0, "passage_weight": 0},
        {"dense_weight": -0.1},
        {"max_sentences": 0},
        {"margin": -1},
        {"evidence_passages": 0},
    ],
)
def test_bad_answer_settings_are_rejected(kwargs):
    with pytest.raises(InputError):
        AnswerSettings(**kwargs)


def test_a_title_repeating_the_question_is_not_cited_as_extra_evidence(fake_embedder, write):
    text = (
        "The Lunar Garden Society\n\n"
        "The Lunar Garden Society was founded in 1987 by Mira Okonkwo in Tallinn."
    )
    index = Index(embedder=fake_embedder, answering=AnswerSettings(margin=1.0, min_support=0.0))
    index.add([write("garden.md", text)])
    answer = index.ask("Who founded the Lunar Garden Society?")
    assert [c.quote for c in answer.citations] == [
        "The Lunar Garden Society was founded in 1987 by Mira Okonkwo in Tallinn."
    ]
