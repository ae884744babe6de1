"""The page's conversation: kept as turns (questions and Answers), cleared by New conversation."""

import pytest


@pytest.fixture
def app(monkeypatch, conversation_index):
    import app

    monkeypatch.setattr(app.chat, "open_index", lambda folder: conversation_index)
    monkeypatch.setattr(app, "STREAM_SECONDS", 0.0)
    return app


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
