"""Questions before they are asked: cleaned, cut to what the model reads, k within bounds."""

import pytest

from qa.errors import InputError
from qa.questions import MAX_K, MAX_QUESTION_CHARS, check_k, clean_question, fit_question


def test_control_characters_and_extra_blanks_are_cleaned_away():
    assert clean_question("  Where\x00 is\tthe\x1b embassy?\n") == "Where is the embassy?"


@pytest.mark.parametrize("question", ["", "   ", "?!…", "\x00\x01", "\n\t"])
def test_a_question_without_a_word_is_refused(question):
    with pytest.raises(InputError, match="The question is empty"):
        clean_question(question)


def test_a_question_that_is_not_text_is_refused():
    with pytest.raises(InputError, match="must be text, got bytes"):
        clean_question(b"Where?")  # type: ignore[arg-type]


def test_a_short_question_is_kept_whole_without_a_note():
    assert fit_question("Where is the embassy?") == ("Where is the embassy?", [])


def test_a_long_question_is_cut_at_a_word_and_the_note_says_so():
    question = "embassy " * 500  # 4,000 characters
    kept, [note] = fit_question(question.strip())
    assert len(kept) <= MAX_QUESTION_CHARS and kept.endswith("embassy")
    assert note.startswith("The question was 3,999 characters long; only its first")


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1, 2.5, True, "5"])
def test_k_must_be_a_whole_number_within_bounds(k):
    with pytest.raises(InputError, match=f"from 1 to {MAX_K}"):
        check_k(k)


def test_k_at_the_bounds_is_accepted():
    check_k(1)
    check_k(MAX_K)
