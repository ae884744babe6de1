"""The chat page's logic without a browser: follow-ups, escaped sources, JSON, uploads."""

import json
import re

import pytest

from qa import Answer, Citation, Passage, build_index
from qa.chat import (
    Turn,
    add_uploads,
    answer_from_reply,
    answer_json,
    chat_turns,
    contextualize,
    names_in,
    open_index,
    remove_document,
    render_reply,
    safe_filename,
    stream_reply,
    stream_steps,
)
from qa.errors import IndexNotFoundError, InputError

WEST = Turn(
    question="Who is Thomas West?",
    searched="Who is Thomas West?",
    answer="At the same time, Thomas West, the US special envoy for Afghanistan, has previously "
    "stated that Washington is the primary and biggest humanitarian supporter. [1]",
)
DOHA = "The embassy has been operating from Doha since 2021. It offers consular services."
EVIL = 'The beacon <script>alert("x")</script> flashes <img src=x onerror="alert(1)"> green.'


# --- follow-up questions ------------------------------------------------------------------


def test_a_pronoun_is_replaced_by_the_person_the_previous_question_named():
    assert (
        contextualize("What did he say about humanitarian aid?", [WEST])
        == "What did Thomas West say about humanitarian aid?"
    )


def test_a_person_asked_about_by_role_is_found_in_the_previous_answer():
    previous = Turn(
        "Who is the US special envoy for Afghanistan?",
        "Who is the US special envoy for Afghanistan?",
        WEST.answer,
    )
    assert contextualize("What did she say?", [previous]) == "What did Thomas West say?"


def test_it_after_a_which_question_means_the_answer():
    previous = Turn(
        "Which country removed the Taliban from its list?",
        "Which country removed the Taliban from its list?",
        "At the end of last year, Kazakhstan decided to exclude the Taliban from the list. [1]",
    )
    assert contextualize("Why did it do that?", [previous]) == "Why did Kazakhstan do that?"


def test_without_a_name_the_previous_questions_words_are_added():
    previous = Turn("When was the embassy closed?", "When was the embassy closed?", "In 2021.")
    assert contextualize("Why was it closed?", [previous]) == "Why was it closed? embassy closed"


def test_questions_that_stand_alone_are_unchanged():
    assert contextualize("Where is  the embassy?", [WEST]) == "Where is the embassy?"
    assert contextualize("What happened this year?", [WEST]) == "What happened this year?"
    assert contextualize("What did he say?", []) == "What did he say?"


def test_possessives_keep_their_meaning():
    assert contextualize("What is his job?", [WEST]) == "What is Thomas West's job?"


def test_names_are_found_without_the_words_that_start_sentences():
    text = "Zabihullah Mujahid, of the Islamic Emirate of Afghanistan, said the Taliban’s view."
    assert names_in(text) == ["Zabihullah Mujahid", "Islamic Emirate of Afghanistan", "Taliban"]
    assert names_in("Who is Thomas West?") == ["Thomas West"]


def test_turns_are_read_from_a_gradio_history_and_chained():
    answer = _answer(WEST.answer.removesuffix(" [1]"), quote="Thomas West")
    history = [
        {"role": "user", "content": [{"type": "text", "text": "Who is Thomas West?"}]},
        {"role": "assistant", "content": render_reply(answer, anchor="a")},
        {"role": "user", "content": "What did he say about aid?"},
        {"role": "assistant", "content": "Something [1]"},
    ]
    turns = chat_turns(history)
    assert [t.question for t in turns] == ["Who is Thomas West?", "What did he say about aid?"]
    assert turns[0].answer.startswith("At the same time, Thomas West")
    assert turns[1].searched == "What did Thomas West say about aid?"


def test_the_plain_answer_comes_back_out_of_a_reply():
    answer = _answer(EVIL, quote="flashes")
    assert answer_from_reply(render_reply(answer, anchor="a")) == EVIL + " [1]"


# --- HTML ---------------------------------------------------------------------------------


def _answer(sentence: str, *, quote: str, source: str = "notes.md", page: int | None = None):
    """An answer citing `quote`, a span of a passage made of `sentence`."""
    text = f"Before it. {sentence} After it."
    start = text.index(quote)
    passage = Passage(source, 0, len(text), text, 0.9, f"{source}#0", page)
    citation = Citation(1, source, start, start + len(quote), quote, 0.8, page)
    return Answer("q", f"{sentence} [1]", True, [citation], [passage])


def test_document_text_is_escaped_everywhere_and_the_quote_is_marked():
    answer = _answer(EVIL, quote=EVIL, source="<b>evil</b>.md")
    page = render_reply(answer, anchor="r1")
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "onerror=&quot;alert(1)&quot;" in page
    assert "&lt;b&gt;evil&lt;/b&gt;.md" in page
    marked = re.search(r"<mark>(.*?)</mark>", page)
    assert marked is not None and marked.group(1).startswith("The beacon &lt;script&gt;")


def test_a_reply_is_one_line_so_markdown_and_latex_leave_it_alone():
    answer = _answer("Costs rose $$5 *a lot*\n\n# not a heading", quote="Costs")
    page = render_reply(answer, anchor="r1")
    assert "\n" not in page
    assert "$" not in page and "&#36;&#36;5" in page


def test_each_marker_links_to_its_source_card():
    page = render_reply(_answer("The sky is green.", quote="sky"), anchor="r7")
    assert '<a class="qa-marker" href="#r7-1"' in page
    assert '<div class="qa-source" id="r7-1">' in page
    assert "notes.md" in page and "characters 15–18" in page


def test_pdf_sources_show_their_page():
    page = render_reply(_answer("The sky is green.", quote="sky", page=3), anchor="r")
    assert "page 3, characters" in page


def test_a_refusal_shows_the_closest_passages_without_marks():
    passage = Passage("a.txt", 0, 11, "Some <text>", 0.2, "a.txt#0")
    page = render_reply(Answer("q", "Not found.", False, [], [passage]), anchor="r")
    assert "Closest passages" in page and "Some &lt;text&gt;" in page and "<mark>" not in page


def test_a_rewritten_follow_up_says_what_was_searched():
    answer = _answer("Green.", quote="Green")
    answer = Answer("What did Thomas West say?", answer.text, True, answer.citations)
    assert "Searched for: “What did Thomas West say?”" in render_reply(
        answer, anchor="r", asked="What did he say?"
    )
    assert "Searched for" not in render_reply(answer, anchor="r", asked=answer.question)


def test_streaming_grows_by_whole_words_and_ends_with_the_sources():
    answer = _answer(" ".join(f"w{i}" for i in range(50)), quote="w3")
    steps = stream_steps(answer)
    assert steps == sorted(steps) and steps[-1] == 51 and len(steps) <= 20
    replies = list(stream_reply(answer, anchor="r"))
    texts = [answer_from_reply(r) for r in replies]
    assert all(answer.text.startswith(t) for t in texts)
    assert "qa-sources" not in replies[0] and replies[-1] == render_reply(answer, anchor="r")
    assert texts[-1].endswith("[1]")  # markers are never cut in half


# --- JSON ---------------------------------------------------------------------------------


def test_answer_json_has_the_text_and_exact_citations():
    answer = _answer("The sky is green.", quote="sky is green", page=2)
    data = json.loads(json.dumps(answer_json(answer, asked="sky?")))
    assert data["question"] == "sky?" and data["searched"] == "q"
    assert data["text"] == "The sky is green. [1]" and data["answered"] is True
    [citation] = data["citations"]
    assert citation["quote"] == "sky is green" and citation["page"] == 2
    assert citation["location"] == "page 2, characters 15–27"
    passage = data["passages"][0]["text"]
    assert passage[citation["start"] : citation["end"]] == citation["quote"]


# --- uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("a<script>b.md", "a_script_b.md"),
        ("  .hidden.TXT", "hidden.txt"),
        ("notes (final).MD", "notes (final).md"),
        ("..", "upload"),
        ("", "upload"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_uploaded_file_names_are_made_safe(given, expected):
    assert safe_filename(given) == expected


@pytest.fixture
def small_index(tmp_path, write, fake_embedder):
    write("docs/doha.txt", DOHA)
    return build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)


def test_an_upload_is_copied_under_a_safe_name_and_answers_questions(tmp_path, write, small_index):
    upload = write("incoming/..evil name!.md", "The lighthouse keeper is Ada Brightwater.")
    steps = []
    result = add_uploads(
        small_index,
        [upload],
        folder=tmp_path / "uploads",
        progress=lambda share, what: steps.append((share, what)),
    )
    assert result.added == ["evil name.md"] and result.skipped == []
    assert result.message == "Added evil name.md."
    assert (tmp_path / "uploads" / "evil name.md").is_file()
    assert [share for share, _ in steps] == sorted(share for share, _ in steps)
    assert steps[-1] == (1.0, "Done")
    answer = small_index.ask("Who is the lighthouse keeper?")
    assert "Ada Brightwater" in answer.text
    assert answer.citations[0].source == "evil name.md"


def test_an_unreadable_upload_is_named_and_the_index_stays_as_it_was(tmp_path, write, small_index):
    before = small_index.documents
    broken = write("incoming/broken.pdf", b"%PDF-1.4 this is not really a pdf")
    empty = write("incoming/empty.txt", "")
    result = add_uploads(small_index, [broken, empty], folder=tmp_path / "uploads")
    assert small_index.documents == before
    assert not (tmp_path / "uploads").exists()
    assert [n.path for n in result.skipped] == ["broken.pdf", "empty.txt"]
    assert result.message.startswith("Could not add broken.pdf: ")
    assert result.message.endswith("The index is unchanged.")


def test_readable_uploads_are_added_beside_unreadable_ones(tmp_path, write, small_index):
    good = write("incoming/good.txt", "The harbour is in Tallinn.")
    bad = write("incoming/bad.docx", b"not a zip")
    result = add_uploads(small_index, [good, bad], folder=tmp_path / "uploads")
    assert result.added == ["good.txt"] and [n.path for n in result.skipped] == ["bad.docx"]
    assert "Added good.txt." in result.message and "Could not add bad.docx" in result.message
    assert len(small_index) == 2


def test_removing_an_uploaded_document_deletes_its_copy_but_not_the_users_files(
    tmp_path, write, small_index
):
    folder = tmp_path / "uploads"
    add_uploads(small_index, [write("incoming/new.txt", "Fresh text here.")], folder=folder)
    assert remove_document(small_index, "new.txt", folder=folder) == (
        "Removed new.txt. 1 document left."
    )
    assert not (folder / "new.txt").exists()
    remove_document(small_index, "docs/doha.txt", folder=folder)
    assert (tmp_path / "docs" / "doha.txt").is_file() and len(small_index) == 0
    with pytest.raises(InputError, match="No document named"):
        remove_document(small_index, "docs/doha.txt", folder=folder)


# --- which index --------------------------------------------------------------------------


def test_a_missing_index_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="There is no folder"):
        open_index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError, match="No index in"):
        open_index(tmp_path / "empty")


def test_an_index_is_opened_once(tmp_path, small_index, monkeypatch):
    opened = []
    monkeypatch.setattr(
        "qa.chat.Index.load", lambda path: opened.append(path) or small_index, raising=True
    )
    assert open_index(f" {tmp_path / 'idx'} ") is open_index(tmp_path / "idx") is small_index
    assert len(opened) == 1


def test_a_question_naming_its_own_subject_is_not_rewritten():
    turns = [
        Turn(
            "When does the Ulmbridge ferry leave?",
            "When does the Ulmbridge ferry leave?",
            "The Ulmbridge ferry leaves at 6.",
        )
    ]
    question = "When did the Karsk observatory open its dome?"
    assert contextualize(question, turns) == question
    assert (
        contextualize(
            "What did he say about it?",
            [Turn("Who is Thomas West?", "Who is Thomas West?", "Thomas West is the envoy.")],
        )
        == "What did Thomas West say about it?"
    )
