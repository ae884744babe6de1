"""The chat: take a typed (or example) question, answer it as the next turn of the
conversation and stream the reply; and the `/ask` API. The conversation is kept as questions
and Answers (`Turn`s), never read back from the HTML the chat shows."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import gradio as gr

from qa import Conversation, followups, limits, questions
from qa.conversation import Turn
from qa.present import answer_json
from qa.types import Answer
from qa.ui import render, serving
from qa.ui.boundary import guarded, guarded_stream

STREAM_SECONDS = 0.6  # the whole answer appears over this time, word by word
Messages = list[dict[str, Any]]
Turns = list[Turn]

# While a question is answered the Ask button says so and cannot be pressed, Enter does nothing
# and the text typed meanwhile stays in the box: no question is taken and then lost.
ANSWERING = "Answering…"
_answering: set[str] = set()  # page sessions with an answer streaming now
_answering_lock = threading.Lock()

# Questions in flight per page session or API client ($QA_QUESTIONS_PER_SESSION): one visitor
# cannot fill every place in the queue's workers.
SLOTS = serving.SessionSlots()


def add_question(message: str, history: Messages) -> tuple[str, Messages]:
    """Put the typed question into the chat and clear the box."""
    if not message.strip():
        return message, history
    return "", [*history, {"role": "user", "content": render.render_question(message)}]


def _controls(busy: bool) -> tuple[Any, Any]:
    """The Ask and New conversation buttons, disabled while an answer streams."""
    return (
        gr.update(value=ANSWERING if busy else "Ask", interactive=not busy),
        gr.update(interactive=not busy),
    )


def answer_typed(
    message: str,
    history: Messages,
    turns: Turns,
    k: float,
    folder: str,
    mode: str,
    request: gr.Request | None = None,
) -> Iterator[tuple[Any, Messages, Turns, Any, Any]]:
    """Take the typed question, then answer it as `respond` does. Yields the question box, the
    chat, the turns and the two buttons; a question sent while another is answered is not
    taken (it stays in the box)."""
    if not message.strip():
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    cleared, history = add_question(message, history)
    with _busy(request) as free:
        if not free:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield cleared, history, turns, *_controls(True)
        chat, after = history, turns
        for chat, after in respond(history, turns, k, folder, mode, request):
            yield gr.skip(), chat, after, gr.skip(), gr.skip()
        yield gr.skip(), chat, after, *_controls(False)


def answer_example(
    event: gr.SelectData,
    history: Messages,
    turns: Turns,
    k: float,
    folder: str,
    mode: str,
    request: gr.Request | None = None,
) -> Iterator[tuple[Any, Messages, Turns, Any, Any]]:
    """A clicked example question, asked as if typed (the box keeps what is in it)."""
    message = followups.message_text(event.value)
    for _box, *rest in answer_typed(message, history, turns, k, folder, mode, request):
        yield gr.skip(), *rest


@contextlib.contextmanager
def _busy(request: gr.Request | None) -> Iterator[bool]:
    """Marks this page session as answering; yields False when it already was."""
    key = request.session_hash if request is not None else None
    if key is None:
        yield True
        return
    with _answering_lock:
        if key in _answering:
            free = False
        else:
            _answering.add(key)
            free = True
    try:
        yield free
    finally:
        if free:
            with _answering_lock:
                _answering.discard(key)


def new_conversation() -> tuple[Messages, Turns]:
    """An empty chat, and no turns for the next question to follow up on."""
    return [], []


def _error_reply(message: str, history: Messages, turns: Turns, *_: Any) -> tuple[Messages, Turns]:
    """The chat with `message` as the reply; the turns as they were."""
    return [*history, {"role": "assistant", "content": render.render_error(message)}], turns


@guarded_stream("answering", _error_reply)
def respond(
    history: Messages,
    turns: Turns,
    k: float,
    folder: str,
    mode: str,
    request: gr.Request | None = None,
) -> Iterator[tuple[Messages, Turns]]:
    """Answer the last question as the next turn of the conversation, streaming the reply;
    sources follow the answer. Yields the chat and the turns (with this one once answered)."""
    if not history or history[-1].get("role") != "user":
        yield history, turns
        return
    with SLOTS.hold(request.session_hash if request else None):
        question = render.question_text(history[-1]["content"])
        anchor = f"qa-{len(history)}"  # links in this reply lead to this reply's sources
        passages = questions.whole_k(k)
        # Only the last turns are kept: a follow-up refers to the last one, and a long
        # session must not grow without bound.
        kept = turns[-max(1, limits.current().history_messages // 2) :]
        conversation = Conversation(serving.open_index(folder), turns=kept)
        if mode == "generate":
            answer = yield from _written(history, turns, conversation, question, passages)
            reply = render.render_reply(answer, anchor=anchor)
            yield [*history, {"role": "assistant", "content": reply}], conversation.turns
            return
        answer = conversation.ask(question, k=passages)
        pause = STREAM_SECONDS / len(render.stream_steps(answer))
        for i, reply in enumerate(render.stream_reply(answer, anchor=anchor)):
            if i:
                time.sleep(pause)
            yield [*history, {"role": "assistant", "content": reply}], conversation.turns


def _written(
    history: Messages, turns: Turns, conversation: Conversation, question: str, k: int
) -> Generator[tuple[Messages, Turns], None, Answer]:
    """Stream a written answer's checked sentences as the model produces them."""
    yield [*history, {"role": "assistant", "content": render.render_writing("")}], turns
    stream = conversation.stream(question, k=k, mode="generate")
    text = ""
    for piece in stream:
        text += piece
        yield [*history, {"role": "assistant", "content": render.render_writing(text)}], turns
    assert stream.answer is not None  # set once the stream has run to its end
    return stream.answer


def _refuse(message: str, *_: Any, **__: Any) -> dict[str, Any]:
    """The API's answer to a failure: gradio's error, which the client raises as AppError."""
    raise gr.Error(message)


@guarded("answering", _refuse)
def ask_api(
    question: str,
    k: int = 5,
    mode: str = "extractive",
    history: list[dict[str, str]] | None = None,
    request: gr.Request | None = None,
) -> dict[str, Any]:
    """Answer a question from the app's index: the answer text, citations with quotes, passages.

    mode "generate" has the local language model write the answer (checked before it is shown).
    history, the conversation so far as [{"role": "user" | "assistant", "content": text}, ...],
    lets a follow-up ("Who announced it?") be answered from what was said; the reply's
    "searched" field says what it was searched as.
    """
    asked = questions.clean_question(question)  # text, or a clear error: never guessed
    passages = questions.whole_k(k)
    with SLOTS.hold(request.session_hash if request else None):
        index = serving.open_index("")  # the app's own index, as the page's default
        conversation = Conversation.from_messages(history, index=index, k=passages)
        answer = conversation.ask(asked, k=passages, mode=mode)
    return answer_json(answer)
