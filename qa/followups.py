"""Follow-up questions in a chat: "What did he say?" after "Who is Thomas West?" searches for
what "he" refers to. Plain text in, plain text out: no UI library, no model."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qa import limits
from qa.errors import InputError
from qa.lexical import terms

PERSONAL = {"he", "him", "she", "her"}
POSSESSIVE = {"his", "hers", "its", "their", "theirs"}
OTHER = {"it", "they", "them"}
DEMONSTRATIVE = {"this", "that", "these", "those"}
# "this" refers back when it stands for a whole thing ("What does this mean?"), not in
# "this year"; the words that may follow it then are few.
_DEMONSTRATIVE_BEFORE = {"is", "was", "are", "were", "mean", "means", "meant", "say", "said"}
_DEMONSTRATIVE_BEFORE |= {"do", "does", "did", "happen", "happened", "refer", "refers"}
_ELLIPSIS = re.compile(r"^\s*(and|what about|how about)\b", re.IGNORECASE)
# Capitalised words, joined by the small words inside names ("Islamic Emirate of Afghanistan").
_NAME = re.compile(
    r"[A-Z][\w\-]*(?:[’']s)?(?:\s+(?:(?:of|for|the|de|al)\s+)*[A-Z][\w\-]*(?:[’']s)?)*"
)
# Capitalised only because they start a sentence or a question; never the name asked about.
_NOT_NAMES = set(
    "who what when where why how which whose whom is are was were did does do can could should "
    "would will has have had the a an at in on of for to from by with as it he she they we i "
    "you this that these those there since although even if and but or so its his her their "
    "our my according one many two after before during while tell please also then now yes "
    "no however meanwhile thus".split()
)
_WORD_TOKEN = re.compile(r"[\w’'\-]+|[^\w\s]")
_QUESTION_START = '<div class="qa-question">'
_PRONOUN = re.compile(
    r"\b(?:" + "|".join(sorted(PERSONAL | POSSESSIVE | OTHER | DEMONSTRATIVE)) + r")\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange of a chat: what was asked, what it was understood as, what was answered."""

    question: str
    searched: str  # the question with its references resolved: what retrieval saw
    answer: str


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, a {"text": ...} part, or a list of them."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, Sequence):
        return " ".join(t for t in (message_text(part) for part in content) if t)
    return ""


def question_text(content: Any) -> str:
    """The question as typed, from a chat message made by `render.render_question` (or plain)."""
    text = message_text(content)[: limits.MESSAGE_CHARS]
    if not text.startswith(_QUESTION_START):
        return text
    return html.unescape(text.removeprefix(_QUESTION_START).removesuffix("</div>"))


def answer_from_reply(reply: str) -> str:
    """The plain answer inside a reply made by `render_reply` (or the reply itself, untagged)."""
    match = re.search(r'<div class="qa-answer[^"]*">(.*?)</div>', reply, re.DOTALL)
    inner = match.group(1) if match else reply
    return html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()


def chat_turns(history: Sequence[Mapping[str, Any]]) -> list[Turn]:
    """The question/answer pairs of a messages-format history, each follow-up resolved in turn.

    Only the last $QA_MAX_HISTORY_MESSAGES messages are read, each up to MESSAGE_CHARS: a
    follow-up refers to the last few turns, and 20,000 messages must not stall the page.
    """
    turns: list[Turn] = []
    question: str | None = None
    for message in recent(history):
        if message.get("role") == "user":
            question = question_text(message.get("content"))
            continue
        if message.get("role") == "assistant" and question is not None:
            text = message_text(message.get("content"))[: limits.MESSAGE_CHARS]
            searched = contextualize(question, turns)
            turns.append(Turn(question, searched, answer_from_reply(text)))
            question = None
    return turns


def history_turns(history: object) -> list[Turn]:
    """`chat_turns` of a history sent by another program, checked first; None is no history.

    The history is in the chat's own messages format, oldest first:
    [{"role": "user", "content": "Who is Thomas West?"}, {"role": "assistant", "content": "..."}]
    """
    if history is None:
        return []
    if isinstance(history, list):
        history = recent(history)  # only what is read is checked: 20,000 messages cost nothing
    if not isinstance(history, list) or not all(
        isinstance(m, Mapping)
        and m.get("role") in ("user", "assistant")
        and isinstance(m.get("content"), str)
        for m in history
    ):
        raise InputError(
            'history must be a list of messages, oldest first, each {"role": "user" or '
            '"assistant", "content": "its text"}'
        )
    return chat_turns(history)


def recent(history: Sequence[Any]) -> list[Any]:
    """The last $QA_MAX_HISTORY_MESSAGES messages of a history, the part that is read."""
    return list(history[-limits.current().history_messages :])


def names_in(text: str) -> list[str]:
    """Capitalised names in `text`, first seen first: "Who is Thomas West?" -> ["Thomas West"]."""
    found: list[str] = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        while words and words[0].lower() in _NOT_NAMES:
            words.pop(0)
        while words and words[-1].lower() in {"of", "for", "the", "de", "al"}:
            words.pop()
        name = re.sub(r"[’']s$", "", " ".join(words))
        if len(name) > 1 and name not in found:
            found.append(name)
    return found


def contextualize(question: str, turns: Sequence[Turn]) -> str:
    """The question to search for, with "he", "it", "this"... replaced by what they refer to.

    After "Who is Thomas West?", "What did he say about aid?" becomes
    "What did Thomas West say about aid?". Questions that stand alone come back unchanged.
    """
    question = " ".join(question.split())
    if not turns:
        return question
    previous = turns[-1]
    tokens = _WORD_TOKEN.findall(question)
    references = [i for i, t in enumerate(tokens) if _refers_back(tokens, i)]
    if not references:
        if _ELLIPSIS.match(question) and len(tokens) <= 6:
            # "And Kazakhstan?" asks the previous question again about something else.
            return f"{question} {_content_words(previous.searched)}".strip()
        return question
    personal = any(tokens[i].lower() in PERSONAL | {"his", "hers"} for i in references)
    if not personal and names_in(question):
        # "When did the Karsk observatory open its dome?": "its" is the question's own subject.
        return question
    name = _antecedent(previous, personal=personal)
    if name is None:
        # Nothing named: the previous question's own words carry its subject.
        return f"{question} {_content_words(previous.searched)}".strip()
    return _substitute(question, name)


def _refers_back(tokens: Sequence[str], i: int) -> bool:
    word = tokens[i].lower()
    if word in PERSONAL | POSSESSIVE | OTHER:
        return True
    if word in DEMONSTRATIVE:
        following = tokens[i + 1].lower() if i + 1 < len(tokens) else "?"
        return not following[0].isalnum() or following in _DEMONSTRATIVE_BEFORE
    return False


def _antecedent(previous: Turn, *, personal: bool) -> str | None:
    """What a pronoun in the next question most likely names."""
    asked = names_in(previous.searched)
    answered = [n for n in names_in(previous.answer) if n not in asked]
    wh = previous.searched.split()[0].lower() if previous.searched.split() else ""
    if personal:
        # "he" is a person: a full name, from the question first, else from its answer.
        for name in [*asked, *answered]:
            if len(name.split()) >= 2:
                return name
    if wh in {"who", "which"} and answered:
        return answered[0]  # "Which country ...?" - "Why did it ...?": the answer is the subject
    # Otherwise "it" is what the question was about; an answer's names are only by the way.
    return asked[0] if asked else None


def _substitute(question: str, name: str) -> str:
    """The question with its first back-referring pronoun replaced by `name`."""
    for match in _PRONOUN.finditer(question):
        word = match.group()
        following = _WORD_TOKEN.findall(question[match.end() :])[:1]
        if not _refers_back([word, *following], 0):
            continue  # "this year": not a reference
        name = f"{name}'s" if word.lower() in POSSESSIVE else name
        return question[: match.start()] + name + question[match.end() :]
    return question


def _content_words(text: str) -> str:
    words = re.findall(r"[\w’'\-]+", text)
    return " ".join(w for w in words if terms(w) and w.lower() not in _NOT_NAMES)
