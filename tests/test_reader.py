"""The reader: short exact answers, the decision to answer, and training it."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa.article_questions import ARTICLE_QUESTIONS
from qa.cli import main
from qa.reader import MODEL_DIR, WEIGHTS, load_reader
from qa.reading import _trimmed, text_windows

QA = str(Path(sys.executable).parent / "qa")


def test_the_shipped_reader_is_small_and_loads_offline():
    size = (MODEL_DIR / WEIGHTS).stat().st_size
    assert size <= 50 * 1024 * 1024
    reader = load_reader()
    [span] = reader.read(
        "When was the embassy closed?", ["Staff left when the embassy closed in August 2021."]
    )
    assert span.text == "August 2021"
    assert span.answerable > 0.5


def test_the_reader_finds_the_answer_in_the_window_that_holds_it():
    reader = load_reader()
    windows = [
        "The river is 300 kilometres long and floods every spring.",
        "The bridge over the river was built by Roman engineers in 112 AD.",
    ]
    spans = reader.read("Who built the bridge over the river?", windows)
    assert spans[1].answerable > spans[0].answerable
    assert "Roman engineers" in spans[1].text
    assert windows[1][spans[1].start : spans[1].end] == spans[1].text


def test_a_sentence_longer_than_the_reader_input_is_read_to_its_end():
    # Markup or lists can make one sentence longer than the 128 tokens the reader takes in;
    # the answer at its end used to be cut off, and the question refused.
    reader = load_reader()
    filler = " ".join(f"<span id=x{n}>" for n in range(30))
    window = f"The Qorvath lighthouse {filler} flashes violet light every nine seconds."
    assert reader.count_tokens([window])[0] > 1.5 * reader.max_length
    [span] = reader.read("How often does the Qorvath lighthouse flash?", [window])
    assert span.text == "nine seconds" and window[span.start : span.end] == span.text
    long_question = "How often does the Qorvath lighthouse flash? " + "tell me " * 500
    [span] = reader.read(long_question, ["It flashes every nine seconds."])
    assert "nine seconds" in span.text  # a long question is clipped, not an error


@pytest.mark.slow
@pytest.mark.parametrize(("question", "expected"), ARTICLE_QUESTIONS)
def test_short_answers_are_exact_spans_held_by_the_first_citation(
    article_index, question, expected
):
    answer = article_index.ask(question)
    assert answer.answered and answer.short
    holder = answer.citations[0]
    assert holder.short_start is not None and holder.short_end is not None
    document = article_index.document(holder.source)
    assert document.text[holder.short_start : holder.short_end] == answer.short
    assert holder.start <= holder.short_start < holder.short_end <= holder.end
    assert expected.lower() in holder.quote.lower()
    assert len(answer.short) < len(holder.quote)  # a phrase, not the whole sentence
    assert [c.short_start for c in answer.citations[1:]] == [None] * (len(answer.citations) - 1)


@pytest.mark.slow
def test_short_answers_on_the_article_name_what_was_asked(article_index):
    shorts = {
        q: article_index.ask(q).short
        for q in (
            "When was the US embassy in Kabul closed?",
            "Where has the US embassy in Afghanistan been operating from?",
            "Which country removed the Taliban from its list of banned organizations?",
        )
    }
    assert list(shorts.values()) == ["August 2021", "Doha", "Kazakhstan"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        # From the issue: answered before with a sentence about something else. (Its other
        # example, "When will the United Nations formally recognize the Taliban government?",
        # is still answered "August 2021": a known miss, see docs/evaluation.md.)
        "How many embassies does China have in Kabul?",
        "Who won the 2022 FIFA World Cup?",
    ],
)
def test_questions_the_article_does_not_answer_are_refused_by_the_reader(article_index, question):
    answer = article_index.ask(question)
    assert not answer.answered and answer.short == "" and answer.citations == []
    assert answer.confidence is not None and answer.confidence < 0.5


@pytest.mark.slow
def test_the_authors_universities_are_answered_from_the_last_line(article_index):
    answer = article_index.ask("At which universities is the author an associate professor?")
    assert answer.answered
    assert "Moscow State University" in answer.short
    assert "Plekhanov" in answer.citations[0].quote


@pytest.mark.slow
def test_qa_ask_prints_the_short_answer_first_and_json_holds_it(article_index, capsys):
    question = "When was the US embassy in Kabul closed?"
    assert main(["ask", question, "--index", str(article_index.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Answer: August 2021\n")
    assert main(["ask", question, "--index", str(article_index.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["short"] == "August 2021"
    holder = data["citations"][0]
    text = article_index.document(holder["source"]).text
    assert text[holder["short_start"] : holder["short_end"]] == "August 2021"


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("It closed in August 2021.", (13, 25), "August 2021"),  # the full stop goes
        ("Made in the U.S. by hand", (12, 16), "U.S."),  # an abbreviation keeps its stop
        ("He said “yes” loudly", (8, 13), "“yes”"),  # quotes opened inside stay
        ("the (big) one", (4, 9), "(big)"),
        ("   ", (0, 3), ""),
    ],
)
def test_short_answers_are_trimmed_of_stray_punctuation(text, span, expected):
    start, end = _trimmed(text, *span)
    assert text[start:end] == expected


class WordCounter:
    """A stand-in tokenizer: one token a word."""

    max_length = 16

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]


def test_text_windows_cover_the_text_in_whole_sentences_within_the_budget():
    text = "One two three. Four five six seven. Eight nine. Ten eleven twelve thirteen."
    windows = text_windows(text, WordCounter(), budget=7)
    pieces = [text[a:b] for a, b in windows]
    assert pieces == [
        "One two three. Four five six seven.",
        "Four five six seven. Eight nine.",
        "Eight nine. Ten eleven twelve thirteen.",
    ]


def _tiny_squad(path: Path) -> Path:
    contexts = [
        "The Orlov bridge was built in 1871 by Anna Petrova. It crosses the Neva river.",
        "The city museum opened in 1921. Its first director was Ivan Sokolov.",
        "The lake is 40 kilometres long. Fishermen catch trout there every summer.",
        "The tower is made of red brick. It was designed by the architect Lena Moss.",
        "The festival takes place in June. About 5,000 people visit it each year.",
        "The mill produced flour until 1950. A fire destroyed it in 1962.",
    ]
    articles = []
    for i, context in enumerate(contexts):
        first = context.split(". ")[0]
        answer = first.split()[-1]
        articles.append(
            {
                "title": f"Article_{i}",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": f"q{i}",
                                "question": f"What about {first.split()[1]}?",
                                "answers": [
                                    {"text": answer, "answer_start": context.index(answer)}
                                ],
                            }
                        ],
                    }
                ],
            }
        )
    path.write_bytes(gzip.compress(json.dumps({"data": articles}).encode()))
    return path


def test_train_reader_smoke_run_writes_a_model_that_loads_and_resumes(tmp_path):
    # A few steps on a tiny made-up set: checks the command, not the model's quality.
    squad = _tiny_squad(tmp_path / "tiny.json.gz")
    out = tmp_path / "reader"
    command = [
        QA, "train-reader", "--squad", str(squad), "--out", str(out), "--train-questions", "5",
        "--dev-articles", "1", "--dev-questions", "1", "--max-steps", "2", "--batch-size", "4",
        "--quiet",
    ]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    figures = json.loads(first.stdout[: first.stdout.rindex("}") + 1])
    assert figures["steps"] == 2 and 0 <= figures["closed_f1"] <= 1
    card = (out / "README.md").read_text()
    assert f"qa train-reader --squad {squad} --out {out}" in card and "CC BY-SA 4.0" in card
    reader = load_reader(out)
    assert len(reader.read("Who designed the tower?", ["The tower was designed by Lena."])) == 1
    # Run again with the same settings: it resumes from the checkpoint instead of retraining.
    again = subprocess.run([*command[:-1]], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "resuming at step 2 of 2" in again.stderr


def test_train_reader_with_a_missing_file_is_a_clear_error(tmp_path, capsys):
    code = main(["train-reader", "--squad", str(tmp_path / "none.json"), "--out", str(tmp_path)])
    assert code == 1
    assert "Cannot read" in capsys.readouterr().err
