"""SQuAD loading and the standard answer metrics, on tiny hand-made data."""

import json

import pytest

from qa.errors import InputError
from qa.squad import contains_answer, exact_match, f1_score, load_squad, normalize_answer


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The  U.S.!", "us"),
        ("an Apple, a pear", "apple pear"),
        ("Theory of the case", "theory of case"),
        ("  Doha  ", "doha"),
    ],
)
def test_normalize_answer(text, normalized):
    assert normalize_answer(text) == normalized


def test_exact_match_takes_the_best_gold_answer():
    assert exact_match("the Doha", ["Kabul", "Doha"]) == 1.0
    assert exact_match("in Doha", ["Doha"]) == 0.0


def test_f1_counts_shared_tokens():
    # prediction "operating from doha" vs gold "from doha": precision 2/3, recall 1 -> 0.8
    assert f1_score("operating from Doha", ["from Doha"]) == pytest.approx(0.8)
    assert f1_score("Kabul", ["Doha"]) == 0.0
    assert f1_score("", ["Doha"]) == 0.0
    assert f1_score("Doha", ["Kabul", "the Doha"]) == 1.0


def test_contains_answer_matches_whole_words_only():
    assert contains_answer("It moved to Doha in 2021.", ["doha"])
    assert not contains_answer("It moved to Dohaville.", ["Doha"])
    assert contains_answer("Founded in 1881 by X.", ["1881"])
    assert not contains_answer("anything", ["the"])  # an answer that normalises to nothing


def test_load_squad_reads_paragraphs_and_questions(tmp_path):
    data = {
        "version": "1.1",
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "Doha is in Qatar.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Where is Doha?",
                                "answers": [
                                    {"text": "Qatar", "answer_start": 11},
                                    {"text": "Qatar", "answer_start": 11},
                                ],
                            },
                            {"id": "q2", "question": "No answer?", "answers": []},
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    paragraphs, questions = load_squad(path)
    assert [(p.id, p.title, p.context) for p in paragraphs] == [
        ("00-000", "T", "Doha is in Qatar.")
    ]
    assert [(q.id, q.answers, q.paragraph_id) for q in questions] == [("q1", ("Qatar",), "00-000")]


def test_load_squad_rejects_other_json(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"rows": []}')
    with pytest.raises(InputError, match="is not SQuAD-format JSON"):
        load_squad(path)
    with pytest.raises(InputError, match="Cannot read"):
        load_squad(tmp_path / "missing.json")
