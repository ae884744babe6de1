"""Conversations: follow-ups answered from what the last turn said, first questions untouched."""

import pytest
from tests_support import ARTICLE

from qa import Conversation, InputError
from qa.conversation import follow_up_candidates, support
from qa.types import Answer, Citation


@pytest.fixture
def index(conversation_index):
    return conversation_index


def quotes(answer: Answer) -> str:
    return " ".join(c.quote for c in answer.citations)


def test_a_first_question_is_asked_as_it_stands(index):
    chat = Conversation(index)
    answer = chat.ask("When does the harbour of Ulmbridge open?")
    alone = index.ask("When does the harbour of Ulmbridge open?")
    assert (answer.text, answer.citations) == (alone.text, alone.citations)
    assert answer.searched == answer.question == "When does the harbour of Ulmbridge open?"
    assert [t.question for t in chat.turns] == [answer.question]
    assert chat.turns[0].answer == answer  # structured: the Answer itself, with citations


def test_a_follow_up_is_answered_from_the_sentence_after_the_last_citation(index):
    chat = Conversation(index)
    first = chat.ask("What did Kazakhstan decide?")
    assert "Kazakhstan decided" in quotes(first)
    follow = chat.ask("Who announced it?")
    assert follow.answered and "Aibek Smadiyarov" in quotes(follow)
    assert follow.question == "Who announced it?"
    assert follow.searched is not None and follow.searched != follow.question
    assert [t.answer for t in chat.turns] == [first, follow]


def test_a_follow_up_about_a_person_names_them(index):
    chat = Conversation(index)
    chat.ask("Who runs the harbour office of Ulmbridge?")
    follow = chat.ask("What does she sell?")
    assert follow.searched == "What does Marta Lind sell?"
    assert "ferry tickets" in quotes(follow)


def test_a_question_naming_its_own_subject_is_not_rewritten(index):
    chat = Conversation(index)
    chat.ask("What did Kazakhstan decide?")
    answer = chat.ask("When does the harbour of Ulmbridge open its doors?")
    assert answer.searched == answer.question
    assert "opens at six" in quotes(answer)


def test_a_new_conversation_forgets_the_last_turn(index):
    chat = Conversation(index)
    chat.ask("What did Kazakhstan decide?")
    chat.clear()
    assert chat.turns == []
    answer = chat.ask("Who announced it?")
    assert answer.searched == "Who announced it?"


def test_a_chat_history_from_another_program_is_asked_again_for_its_citations(index):
    history = [
        {"role": "user", "content": "What did Kazakhstan decide?"},
        {"role": "assistant", "content": "Kazakhstan decided to exclude the movement. [1]"},
    ]
    chat = Conversation.from_messages(history, index=index)
    assert [t.question for t in chat.turns] == ["What did Kazakhstan decide?"]
    assert chat.turns[0].answer.citations  # what a follow-up keeps to
    assert "Aibek Smadiyarov" in quotes(chat.ask("Who announced it?"))
    assert Conversation.from_messages(None, index=index).turns == []
    assert Conversation.from_messages([], index=index).turns == []


@pytest.mark.parametrize(
    "history",
    ["Who is Thomas West?", [{"role": "user"}], [{"role": "bot", "content": "x"}], [["a", "b"]]],
)
def test_a_malformed_history_is_refused_with_what_it_should_look_like(index, history):
    with pytest.raises(InputError, match=r'"role": "user" or "assistant"'):
        Conversation.from_messages(history, index=index)


def test_bad_questions_and_modes_are_clear_errors(index):
    chat = Conversation(index)
    with pytest.raises(InputError, match="The question is empty"):
        chat.ask("  ")
    with pytest.raises(InputError, match="mode must be one of"):
        chat.ask("Who?", mode="poetry")
    assert chat.turns == []


def test_readings_of_a_follow_up_put_names_first_then_the_question_in_context():
    citation = Citation(1, "a.txt", 0, 10, "Thomas West said so.", 0.7)
    previous = Answer("Who spoke?", "Thomas West said so. [1]", True, [citation])
    from qa.conversation import Turn

    turn = Turn("Who spoke?", previous)
    assert follow_up_candidates("What did he say?", "person", turn) == [
        "What did Thomas West say?",
        "What did he say? (Who spoke?)",
    ]
    assert follow_up_candidates("And Kazakhstan?", "ellipsis", turn) == [
        "And Kazakhstan? (Who spoke?)"
    ]


def test_support_is_the_readers_confidence_else_the_best_citation_score_and_0_if_refused():
    cited = [Citation(1, "a", 0, 1, "a", 0.5), Citation(2, "a", 1, 2, "b", 0.7)]
    assert support(Answer("q", "a [1] b [2]", True, cited)) == 0.7
    assert support(Answer("q", "Not found.", False)) == 0.0
    # Where the reader read it, its confidence compares the candidates.
    assert support(Answer("q", "a [1] b [2]", True, cited, confidence=0.9)) == 0.9
    assert support(Answer("q", "Not found.", False, confidence=0.2)) == 0.0


# --- the shipped article, with the real model ----------------------------------------------

CHAINS = [
    ("What did Kazakhstan decide at the end of last year?", "Who announced it?", "Smadiyarov"),
    (
        "Where has the US embassy in Afghanistan been operating from?",
        "Who is he?",
        "Thomas West",
    ),
    (
        "What did the State Department publish?",
        "What does it reveal?",
        "reopening a consulate in Afghanistan",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("first", "follow_up", "expected"), CHAINS)
def test_the_articles_follow_ups_are_answered(article_index, first, follow_up, expected):
    chat = Conversation(article_index)
    chat.ask(first)
    answer = chat.ask(follow_up)
    assert answer.answered and expected in quotes(answer)
    assert answer.searched != follow_up  # the page says what it was searched as
    text = ARTICLE.read_text(encoding="utf-8")
    for c in answer.citations:
        assert text[c.start : c.end] == c.quote
