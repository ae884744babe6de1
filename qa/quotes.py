"""How a quoted sentence reads as an answer, without changing a character of what it cites:
where a dangling opener ends ("Since then, the embassy…" quotes from "the embassy…"), whether
a line is a title or heading, and whether two sentences say the same thing.

Plain text in, offsets and booleans out; `qa.answer` moves a citation's start, never its text.
"""

from __future__ import annotations

import re

from qa.lexical import terms

# Words that tie a sentence to the one before it: quoted alone, they dangle. "At the same
# time, Thomas West, the US special envoy, …" answers "Who is Thomas West?" from "Thomas West".
_CONNECTIVES = (
    "however|moreover|furthermore|meanwhile|therefore|thus|hence|nevertheless|nonetheless|"
    "additionally|besides|consequently|accordingly|subsequently|likewise|similarly|indeed|"
    "instead|still|also|then|again|finally|lastly|notably|overall|otherwise|anyway|"
    "in addition|at the same time|since then|in turn|on the other hand|in other words|"
    "as a result|after that|in fact|of course|that said|by contrast|in contrast|as such|"
    "in the meantime|at that time|in any case|above all|all in all|to sum up|in short"
)
_OPENER = re.compile(
    rf"(?:(?:{_CONNECTIVES}),|and|but|it is worth noting that|it should be noted that)"
    r"\s+(?=[\w“\"‘'(])",
    re.IGNORECASE,
)
MIN_REST_WORDS = 4  # what is left after the opener must still be a sentence
_ENDS_SENTENCE = ".!?…:;”\"'’)"
NEAR_DUPLICATE = 0.7  # share of terms two sentences have in common (Jaccard) to count as one


def opener_length(sentence: str) -> int:
    """How many characters of `sentence` a dangling opener takes, with its comma and space;
    0 when it has none, or when too little would be left.

    "Since then, the US embassy has been operating from Doha." -> 12
    "Although it may not happen soon, there is a trend." -> 0 (it does not dangle)
    """
    match = _OPENER.match(sentence)
    if match is None or len(sentence[match.end() :].split()) < MIN_REST_WORDS:
        return 0
    return match.end()


def is_heading(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a title or heading: a line of its own that does not end
    as a sentence does. "The Taliban and International Diplomacy" at the top of the article."""
    line = text[start:end].strip()
    if not line or "\n" in line or line[-1] in _ENDS_SENTENCE:
        return False
    before = text[text.rfind("\n", 0, start) + 1 : start]
    after_end = text.find("\n", end)
    after = text[end : after_end if after_end >= 0 else len(text)]
    return not before.strip() and not after.strip()


def near_duplicates(a: str, b: str) -> bool:
    """Whether two sentences say nearly the same thing: most of their terms are shared.

    "The regime is approaching recognition." ~ "The regime is now approaching recognition."
    """
    ta, tb = set(terms(a)), set(terms(b))
    if not ta or not tb:
        return a.strip().lower() == b.strip().lower()
    return len(ta & tb) / len(ta | tb) >= NEAR_DUPLICATE


def as_shown(quote: str, *, trimmed: bool = False) -> str:
    """A quote as the answer's text shows it: on one line and, when it starts after an opener
    (`trimmed`), with its first letter capitalised; the citation keeps the exact text."""
    text = " ".join(quote.split())
    return text[:1].upper() + text[1:] if trimmed else text
