"""The words of a follow-up question: whether it refers back ("he", "it", "this", "And X?"),
the names an earlier turn offers for what it refers to, and the standalone questions those
make. Plain text in, plain text out; `qa.conversation` chooses among them with the index."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from qa import limits
from qa.text import names_in

PERSONAL = {"he", "him", "she", "her"}
POSSESSIVE = {"his", "hers", "its", "their", "theirs"}
OTHER = {"it", "they", "them"}
DEMONSTRATIVE = {"this", "that", "these", "those"}
# "this" refers back when it stands for a whole thing ("What does this mean?"), not in
# "this year"; the words that may follow it then are few.
_DEMONSTRATIVE_BEFORE = {"is", "was", "are", "were", "mean", "means", "meant", "say", "said"}
_DEMONSTRATIVE_BEFORE |= {"do", "does", "did", "happen", "happened", "refer", "refers"}
_ELLIPSIS = re.compile(r"^\s*(and|what about|how about)\b", re.IGNORECASE)
_WORD_TOKEN = re.compile(r"[\w’'\-]+|[^\w\s]")
_PRONOUN = re.compile(
    r"\b(?:" + "|".join(sorted(PERSONAL | POSSESSIVE | OTHER | DEMONSTRATIVE)) + r")\b",
    re.IGNORECASE,
)


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
    """A question from a chat message, as plain text, cut at `limits.MESSAGE_CHARS` characters."""
    return message_text(content)[: limits.MESSAGE_CHARS]


def recent(history: Sequence[Any]) -> list[Any]:
    """The last $QA_MAX_HISTORY_MESSAGES messages of a history, the part that is read."""
    return list(history[-limits.current().history_messages :])


def reference(question: str) -> str | None:
    """How `question` leans on what was said before: "person" ("What did he say?"), "thing"
    ("Who announced it?"), "ellipsis" ("And Kazakhstan?"), or None when it stands alone.

    "When did the Karsk observatory open its dome?" stands alone: "its" is its own subject.
    """
    tokens = _WORD_TOKEN.findall(" ".join(question.split()))
    references = [i for i, t in enumerate(tokens) if _refers_back(tokens, i)]
    if not references:
        return "ellipsis" if _ELLIPSIS.match(question) and len(tokens) <= 6 else None
    if any(tokens[i].lower() in PERSONAL | {"his", "hers"} for i in references):
        return "person"
    return None if names_in(question) else "thing"


def antecedents(
    kind: str, previous_question: str, previous_answer: str, nearby: str = ""
) -> list[str]:
    """What a reference of `kind` most likely names, likeliest first: names from the previous
    question, its answer, and `nearby` (the sentences around the answer's citations)."""
    asked = names_in(previous_question)
    answered = [n for n in names_in(previous_answer) if n not in asked]
    around = [n for n in names_in(nearby) if n not in asked and n not in answered]
    if kind == "person":
        # "he" is a person: a full name first; never an acronym ("US"), an organisation
        # ("Ministry of Foreign Affairs"), or a place the question was in ("in Afghanistan").
        def full(names: list[str]) -> list[str]:
            return [n for n in names if len(n.split()) >= 2 and _person_like(n)]

        def single(names: list[str], text: str) -> list[str]:
            return [
                n
                for n in names
                if len(n.split()) == 1 and _person_like(n) and not _after_preposition(n, text)
            ]

        ordered = (
            full(asked)
            + full(answered)
            + single(asked, previous_question)
            + full(around)
            + single(answered, previous_answer)
        )
    else:
        wh = previous_question.split()[0].lower() if previous_question.split() else ""
        # "Which country ...?" - "Why did it ...?": the answer is the subject. Otherwise "it"
        # is what the question was about.
        ordered = answered + asked if wh in {"who", "which"} else asked + answered
    return list(dict.fromkeys(ordered))


# Words that make a name an organisation, a place or a document rather than a person.
_NOT_PERSON = set(
    "of for university state states department ministry republic emirate network council "
    "organization organisation party court museum institute company bank army government "
    "union nations committee agency office city country kingdom empire church school college "
    "river mountains island islands province county district".split()
)


def _person_like(name: str) -> bool:
    words = name.split()
    return not name.isupper() and not any(w.lower() in _NOT_PERSON for w in words)


def _after_preposition(name: str, text: str) -> bool:
    """Whether `name` follows "in", "from", "to"... in `text`: a place, not a person."""
    pattern = rf"\b(?:in|from|to|at|into|across|near|of)\s+(?:the\s+)?{re.escape(name)}\b"
    return re.search(pattern, text) is not None


def substitute(question: str, name: str) -> str:
    """The question with its first back-referring pronoun replaced by `name`.

    ("What did he say about aid?", "Thomas West") -> "What did Thomas West say about aid?"
    """
    question = " ".join(question.split())
    for match in _PRONOUN.finditer(question):
        word = match.group()
        following = _WORD_TOKEN.findall(question[match.end() :])[:1]
        if not _refers_back([word, *following], 0):
            continue  # "this year": not a reference
        name = f"{name}'s" if word.lower() in POSSESSIVE else name
        return question[: match.start()] + name + question[match.end() :]
    return question


def in_context(question: str, previous_question: str) -> str:
    """The question followed by the one it follows, as a person would read it:
    "Who announced it? (What did Kazakhstan decide at the end of last year?)"."""
    return f"{' '.join(question.split())} ({' '.join(previous_question.split())})"


def _refers_back(tokens: Sequence[str], i: int) -> bool:
    word = tokens[i].lower()
    if word in PERSONAL | POSSESSIVE | OTHER:
        return True
    if word in DEMONSTRATIVE:
        following = tokens[i + 1].lower() if i + 1 < len(tokens) else "?"
        return not following[0].isalnum() or following in _DEMONSTRATIVE_BEFORE
    return False
