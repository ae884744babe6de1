"""Follow-up questions' words: whether they refer back, and what "he", "it" or "this" may name."""

import pytest

from qa.followups import antecedents, in_context, message_text, reference, substitute
from qa.text import names_in

WEST_QUESTION = "Who is Thomas West?"
WEST_ANSWER = (
    "At the same time, Thomas West, the US special envoy for Afghanistan, has previously "
    "stated that Washington is the primary and biggest humanitarian supporter. [1]"
)


def test_a_pronoun_is_replaced_by_the_person_the_previous_question_named():
    [name, *_] = antecedents("person", WEST_QUESTION, WEST_ANSWER)
    assert name == "Thomas West"
    assert (
        substitute("What did he say about humanitarian aid?", name)
        == "What did Thomas West say about humanitarian aid?"
    )


def test_a_person_asked_about_by_role_is_found_in_the_previous_answer():
    question = "Who is the US special envoy for Afghanistan?"
    assert antecedents("person", question, WEST_ANSWER)[0] == "Thomas West"
    assert substitute("What did she say?", "Thomas West") == "What did Thomas West say?"


def test_a_person_no_turn_named_is_looked_for_around_the_answer():
    question = "Where has the US embassy in Afghanistan been operating from?"
    answer = "Since then, the US embassy in Afghanistan has been operating from Doha. [1]"
    names = antecedents("person", question, answer, nearby=WEST_ANSWER)
    assert "Thomas West" in names[:2]
    assert "US" not in names  # an acronym is never "he"


def test_it_after_a_which_question_means_the_answer():
    previous = "Which country removed the Taliban from its list?"
    answer = "At the end of last year, Kazakhstan decided to exclude the Taliban from the list."
    [name, *_] = antecedents("thing", previous, answer)
    assert substitute("Why did it do that?", name) == "Why did Kazakhstan do that?"


def test_without_a_name_the_question_is_read_after_the_one_it_follows():
    previous = "When was the embassy closed?"
    assert antecedents("thing", previous, "In 2021.") == []
    assert in_context("Why was it  closed?", previous) == (
        "Why was it closed? (When was the embassy closed?)"
    )


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Where is  the embassy?", None),
        ("What happened this year?", None),
        ("When did the Karsk observatory open its dome?", None),  # its own subject
        ("What did he say?", "person"),
        ("What is his job?", "person"),
        ("Who announced it?", "thing"),
        ("What does this mean?", "thing"),
        ("What did he say about it?", "person"),
        ("And Kazakhstan?", "ellipsis"),
    ],
)
def test_what_a_question_leans_on(question, kind):
    assert reference(question) == kind


def test_possessives_keep_their_meaning():
    assert substitute("What is his job?", "Thomas West") == "What is Thomas West's job?"
    assert substitute("What happened this year to him?", "Ann Lee") == (
        "What happened this year to Ann Lee?"
    )


def test_names_are_found_without_the_words_that_start_sentences():
    text = "Zabihullah Mujahid, of the Islamic Emirate of Afghanistan, said the Taliban’s view."
    assert names_in(text) == ["Zabihullah Mujahid", "Islamic Emirate of Afghanistan", "Taliban"]
    assert names_in("Who is Thomas West?") == ["Thomas West"]


def test_a_chat_message_gives_its_text_whatever_its_shape():
    assert message_text("Who?") == "Who?"
    assert message_text({"text": "Who?"}) == "Who?"
    assert message_text([{"type": "text", "text": "Who"}, {"text": "is he?"}]) == "Who is he?"
    assert message_text(None) == ""
