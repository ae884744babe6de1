"""Follow-up questions: what "he", "it" or "this" refers to, from the chat so far."""

import pytest
from tests_support import EVIL, answer_citing

from qa.errors import InputError
from qa.followups import (
    Turn,
    answer_from_reply,
    chat_turns,
    contextualize,
    history_turns,
    names_in,
)
from qa.render import render_reply

WEST = Turn(
    question="Who is Thomas West?",
    searched="Who is Thomas West?",
    answer="At the same time, Thomas West, the US special envoy for Afghanistan, has previously "
    "stated that Washington is the primary and biggest humanitarian supporter. [1]",
)


def test_a_pronoun_is_replaced_by_the_person_the_previous_question_named():
    assert (
        contextualize("What did he say about humanitarian aid?", [WEST])
        == "What did Thomas West say about humanitarian aid?"
    )


def test_a_person_asked_about_by_role_is_found_in_the_previousanswer_citing():
    previous = Turn(
        "Who is the US special envoy for Afghanistan?",
        "Who is the US special envoy for Afghanistan?",
        WEST.answer,
    )
    assert contextualize("What did she say?", [previous]) == "What did Thomas West say?"


def test_it_after_a_which_question_means_theanswer_citing():
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
    answer = answer_citing(WEST.answer.removesuffix(" [1]"), quote="Thomas West")
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
    answer = answer_citing(EVIL, quote="flashes")
    assert answer_from_reply(render_reply(answer, anchor="a")) == EVIL + " [1]"


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


def test_a_history_sent_by_another_program_is_read_like_the_chats_own():
    history = [
        {"role": "user", "content": "Who is Thomas West?"},
        {"role": "assistant", "content": WEST.answer},
    ]
    assert history_turns(history) == [WEST]
    assert history_turns(None) == [] and history_turns([]) == []


@pytest.mark.parametrize(
    "history",
    ["Who is Thomas West?", [{"role": "user"}], [{"role": "bot", "content": "x"}], [["a", "b"]]],
)
def test_a_malformed_history_is_refused_with_what_it_should_look_like(history):
    with pytest.raises(InputError, match=r'"role": "user" or "assistant"'):
        history_turns(history)
