"""Bad questions and bad files: a clear answer or a clear error, and the next request works."""

import pytest
from tests_support import DOHA

from qa import Index
from qa.errors import InputError, NoDocumentsError
from qa.questions import MAX_QUESTION_CHARS

GOOD = "Where has the embassy been operating from?"


@pytest.fixture
def index(fake_embedder, write):
    index = Index(embedder=fake_embedder)
    index.add([write("doha.txt", DOHA)])
    return index


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "The question is empty"),
        ("   \n\t ", "The question is empty"),
        ("?!... ;;; ---", "The question is empty"),
        ("\x00\x01\x02", "The question is empty"),
        (None, "The question must be text, got NoneType"),
        (b"Where?", "The question must be text, got bytes"),
    ],
)
def test_unusable_questions_get_a_clear_error_and_the_next_one_works(index, question, message):
    with pytest.raises(InputError, match=message):
        index.ask(question)
    assert index.ask(GOOD).answered


def test_control_characters_and_null_bytes_are_ignored(index):
    answer = index.ask("Where has the\x00 embassy\x07 been operating\r\n from?\x1b")
    assert answer.answered and "Doha" in answer.text
    assert answer.question == "Where has the embassy been operating from?"


def test_a_very_long_question_is_cut_and_the_cut_is_said(index):
    question = GOOD + " " + "and also tell me more about everything " * 2600  # ~100,000 chars
    assert len(question) > 100_000
    answer = index.ask(question)
    assert len(answer.question) <= MAX_QUESTION_CHARS
    assert answer.question.startswith(GOOD)
    cleaned = " ".join(question.split())
    assert answer.notes[0].startswith(f"The question was {len(cleaned):,} characters long")
    assert answer.text  # an answer or the plain refusal, not an error
    assert index.ask(GOOD).notes == []


def test_a_question_in_another_language_gets_an_answer_or_a_refusal(index):
    answer = index.ask("¿Desde dónde opera la embajada?")
    assert answer.answered in (True, False)
    assert answer.text  # either quoted evidence or the plain refusal
    assert index.ask(GOOD).answered


def test_a_batch_with_bad_files_indexes_the_good_ones_and_names_each_bad_one(
    fake_embedder, write, tmp_path
):
    from pypdf import PdfWriter

    write("docs/good.md", DOHA)
    write("docs/empty.txt", "")
    write("docs/binary.txt", b"\x00\x01\x02\xff" * 50)
    write("docs/latin1.txt", "Caf\xe9 au lait in Doha.".encode("latin-1"))
    write("docs/broken.pdf", b"%PDF-1.4\n%%EOF garbage")
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    with open(tmp_path / "docs" / "locked.pdf", "wb") as out:
        writer.write(out)
    write("docs/huge.txt", "x " * 600_000)
    write("docs/picture.png", b"\x89PNG\r\n\x1a\n")
    index = Index(tmp_path / "idx", embedder=fake_embedder)
    with pytest.warns(UserWarning):
        report = index.add([tmp_path / "docs"], max_file_bytes=1_000_000)
    assert report.added == ["docs/good.md", "docs/latin1.txt"]
    reasons = {n.path: n.message for n in report.skipped}
    assert reasons == {
        "docs/binary.txt": "looks like a binary file, not text",
        "docs/broken.pdf": reasons["docs/broken.pdf"],
        "docs/empty.txt": "file is empty",
        "docs/huge.txt": "file is 1.2 MB, over the 1 MB limit",
        "docs/locked.pdf": "PDF is encrypted with a password; save an unlocked copy",
        "docs/picture.png": reasons["docs/picture.png"],
    }
    assert reasons["docs/broken.pdf"].startswith("not a readable PDF")
    assert reasons["docs/picture.png"].startswith("unsupported file type '.png'")
    [repaired] = report.repaired
    assert repaired.path == "docs/latin1.txt" and "not valid UTF-8 at byte 3" in repaired.message
    reloaded = Index.load(tmp_path / "idx", embedder=fake_embedder)
    assert [d.source for d in reloaded.documents] == ["docs/good.md", "docs/latin1.txt"]


def test_a_batch_of_only_bad_files_changes_nothing(fake_embedder, write, tmp_path):
    index = Index(tmp_path / "idx", embedder=fake_embedder)
    index.add([write("good.txt", DOHA)])
    write("bad/empty.txt", "")
    with pytest.raises(NoDocumentsError, match="empty.txt: file is empty"):
        index.add([tmp_path / "bad"])
    assert [d.source for d in Index.load(tmp_path / "idx", embedder=fake_embedder).documents] == [
        "good.txt"
    ]
