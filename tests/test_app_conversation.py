"""The page's conversation: kept as turns (questions and Answers), cleared by New conversation."""

import pytest
from tests_support import page_handlers


@pytest.fixture
def app(monkeypatch, conversation_index):
    monkeypatch.setattr("qa.ui.serving.open_index", lambda folder: conversation_index)
    monkeypatch.setattr("qa.ui.chat.STREAM_SECONDS", 0.0)
    return page_handlers()


def ask(app, history, turns, question):
    history = [*history, {"role": "user", "content": question}]
    *_, (messages, turns) = app.respond(history, turns, 5, "idx", "extractive")
    return messages, turns


def test_a_follow_up_on_the_page_is_answered_from_the_last_turn_and_says_so(app):
    messages, turns = ask(app, [], [], "What did Kazakhstan decide?")
    assert [t.question for t in turns] == ["What did Kazakhstan decide?"]
    assert turns[0].answer.citations and "Searched for" not in messages[-1]["content"]
    messages, turns = ask(app, messages, turns, "Who announced it?")
    reply = messages[-1]["content"]
    assert "Aibek Smadiyarov" in reply and "Searched for: “" in reply
    assert [t.question for t in turns] == ["What did Kazakhstan decide?", "Who announced it?"]


def test_new_conversation_clears_the_chat_and_what_follow_ups_follow(app):
    messages, turns = ask(app, [], [], "What did Kazakhstan decide?")
    messages, turns = app.new_conversation()
    assert messages == [] and turns == []
    messages, turns = ask(app, messages, turns, "Who announced it?")
    assert "Searched for" not in messages[-1]["content"]  # nothing to follow any more
    assert turns[0].answer.searched == "Who announced it?"


def test_an_error_leaves_the_conversation_as_it_was(app, monkeypatch):
    messages, turns = ask(app, [], [], "What did Kazakhstan decide?")
    messages, after = ask(app, messages, turns, "   ")
    assert "The question is empty" in messages[-1]["content"] and after == turns


class Tab:
    """A page session, as gradio passes it to the page's events."""

    def __init__(self, name: str) -> None:
        self.session_hash = name


UNCHANGED = {"__type__": "update"}  # what gradio leaves as it is on the page


def test_a_question_sent_while_another_is_answered_stays_in_the_box(app):
    first = app.answer_typed(
        "What did Kazakhstan decide?", [], [], 5, "idx", "extractive", Tab("a")
    )
    box, chat, turns, ask, new = next(first)
    assert box == "" and chat[-1]["content"].endswith("What did Kazakhstan decide?</div>")
    assert ask["value"] == "Answering…" and ask["interactive"] is False
    assert new["interactive"] is False
    # Sent from the same page meanwhile: nothing on the page changes, so the box keeps it.
    kept = list(
        app.answer_typed("Who announced it?", chat, turns, 5, "idx", "extractive", Tab("a"))
    )
    assert kept == [(UNCHANGED,) * 5]
    # Another page is answered as usual.
    *_, other = app.answer_typed("Who announced it?", [], [], 5, "idx", "extractive", Tab("b"))
    assert other[3]["value"] == "Ask" and len(other[2]) == 1
    *_, (box, chat, turns, ask, new) = first
    assert ask["value"] == "Ask" and ask["interactive"] is True and new["interactive"] is True
    assert [t.question for t in turns] == ["What did Kazakhstan decide?"]
    # Once the answer is done, the question waiting in the box is taken and answered.
    *_, (box, chat, turns, ask, _) = app.answer_typed(
        "Who announced it?", chat, turns, 5, "idx", "extractive", Tab("a")
    )
    assert "Aibek Smadiyarov" in chat[-1]["content"] and len(turns) == 2
