"""`qa eval`: metrics on hand-made results (exact values), and a run on a tiny SQuAD file."""

import json

import pytest

from qa.errors import InputError
from qa.evaluation import EvalConfig, QuestionResult, format_report, run_eval, select, summarize
from qa.squad import Paragraph, Question


def result(
    answerable=True,
    answered=True,
    rank=1,
    cited=True,
    evidence=True,
    em=0.0,
    f1=0.5,
    contains=True,
    citations=1,
    exact=1,
    latency=10.0,
    closed=None,
    exact_short=True,
):
    closed_em, closed_f1 = closed if closed else (None, None)
    return QuestionResult(
        "id",
        "q?",
        answerable,
        answered,
        "text",
        rank,
        cited,
        evidence,
        em,
        f1,
        contains,
        citations,
        exact,
        latency,
        exact_short_span=exact_short,
        closed_exact_match=closed_em,
        closed_f1=closed_f1,
    )


def test_summarize_gives_exact_shares():
    results = [
        result(rank=1, em=1.0, f1=1.0, latency=10.0, closed=(1.0, 1.0)),
        result(
            rank=3,
            cited=False,
            evidence=False,
            f1=0.5,
            contains=False,
            latency=20.0,
            closed=(0.0, 0.5),
        ),
        result(
            rank=None,
            answered=False,
            cited=False,
            evidence=False,
            f1=0.0,
            contains=False,
            citations=0,
            exact=0,
            latency=30.0,
        ),
        result(rank=7, citations=2, exact=2, f1=0.25, latency=40.0, closed=(1.0, 0.5)),
        result(
            answerable=False,
            answered=False,
            rank=None,
            citations=0,
            exact=0,
            latency=50.0,
            exact_short=False,
        ),
        result(answerable=False, answered=True, rank=None, citations=1, exact=1, latency=60.0),
    ]
    report = summarize(results)
    assert report["retrieval"] == {
        "recall@1": 0.25,
        "recall@5": 0.5,
        "recall@10": 0.75,
        "recall@cited": 0.5,
    }
    assert report["evidence"] == {"gold_answer_in_cited": 0.5}
    # The closed setting (gold paragraph given) averages the questions that were read so.
    assert report["answers"] == {
        "exact_match": 0.25,
        "f1": 0.4375,
        "contains_gold": 0.5,
        "closed_exact_match": 0.6667,
        "closed_f1": 0.6667,
    }
    assert report["citations"] == {"total": 5, "exact": 1.0, "exact_short_answers": 0.8333}
    assert report["refusals"] == {"answerable_wrongly_refused": 0.25, "unanswerable_refused": 0.5}
    assert report["speed"] == {"asks": 6, "ask_p50_ms": 35.0, "ask_p95_ms": 57.5}


def test_an_inexact_citation_shows_below_one():
    report = summarize([result(citations=4, exact=3)])
    assert report["citations"]["exact"] == 0.75


def test_select_is_seeded_and_holds_out_a_share_of_paragraphs():
    paragraphs = [Paragraph(f"{a:02d}-{p:03d}", "t", "x") for a in range(3) for p in range(10)]
    questions = [Question(f"q{i}", "?", ("x",), paragraphs[i % 30].id) for i in range(90)]
    config = EvalConfig(data="unused", sample=20, holdout=0.2, articles=2, seed=7)
    kept, held_out, asked = select(paragraphs, questions, config)
    assert {p.id[:2] for p in kept} == {"00", "01"} and len(held_out) == 4
    assert held_out <= {p.id for p in kept}
    assert len(asked) == 20 and all(q.paragraph_id[:2] in {"00", "01"} for q in asked)
    assert select(paragraphs, questions, config) == (kept, held_out, asked)


@pytest.mark.parametrize("kwargs", [{"sample": 0}, {"holdout": 1.0}, {"articles": 0}, {"k": 5}])
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(InputError):
        EvalConfig(data="x.json", **kwargs)


def test_run_eval_on_a_tiny_file(tmp_path, fake_embedder):
    contexts = [
        "The embassy has been operating from Doha since 2021.",
        "Kazakhstan removed the Taliban from its list of banned groups in December.",
        "Thomas West is the special envoy and spoke about humanitarian aid.",
        "The Haqqani Network is backed by the Pakistani military.",
    ]
    questions = [
        ("Where has the embassy been operating from?", "Doha"),
        ("Which country removed the Taliban from its banned list?", "Kazakhstan"),
        ("Who is the special envoy?", "Thomas West"),
        ("Who backs the Haqqani Network?", "the Pakistani military"),
    ]
    data = {
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": c,
                        "qas": [
                            {
                                "id": f"q{i}",
                                "question": q,
                                "answers": [{"text": a, "answer_start": c.index(a)}],
                            }
                        ],
                    }
                    for i, (c, (q, a)) in enumerate(zip(contexts, questions, strict=True))
                ],
            }
        ]
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    report = run_eval(EvalConfig(data=path, holdout=0.25), embedder=fake_embedder, progress=False)
    assert report["data"]["questions_answerable"] == 3
    assert report["data"]["questions_unanswerable"] == 1
    assert report["retrieval"]["recall@1"] == 1.0
    assert report["evidence"]["gold_answer_in_cited"] == 1.0
    assert report["citations"]["exact"] == 1.0
    assert report["refusals"]["unanswerable_refused"] == 1.0
    assert len(report["questions"]) == 4
    table = format_report(report)
    assert "retrieval recall@1" in table and "citations exact" in table
