"""Word-level heuristics shared by the pipeline, and the strings qa shows a person.

Whether a word is a name or a number, and which capitalised words are not names, is decided
here once: `qa.answer` ranks sentences with it, `qa.verify` checks written claims with it,
`qa.followups` finds what "he" or "it" refers to with it. No lexicon: a name is a capitalised
word that is not one of the words capitalised only for grammar (NOT_NAMES).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from qa.lexical import terms

WORD = re.compile(r"\w+")
# A capitalised word, with its apostrophes and hyphens ("Taliban's", "Al-Qaeda").
CAPITALISED = re.compile(r"(?<![\w’'])[A-Z][\w’'\-]*")
# Capitalised words joined by the small words inside names ("Islamic Emirate of Afghanistan").
NAME_JOINERS = frozenset({"of", "for", "the", "de", "al"})
_NAME = re.compile(
    r"[A-Z][\w\-]*(?:[’']s)?(?:\s+(?:(?:of|for|the|de|al)\s+)*[A-Z][\w\-]*(?:[’']s)?)*"
)
# Capitalised because they start a sentence or a question, not because they name something.
NOT_NAMES = frozenset(
    "the a an this that these those it its he she they we i you his her their our my in on at "
    "of for to from by with as and but or so since although even if according after before "
    "during while however meanwhile thus also then now there here what who when where why how "
    "which whose whom is are was were did does do can could should would will has have had "
    "tell please one many two yes no".split()
)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MONTHS = "january february march april may june july august september october november december"
NUMBER_WORDS = frozenset(
    (
        _MONTHS + " one two three four five six seven eight nine ten eleven twelve twenty"
        " thirty forty fifty hundred thousand million billion dozen first second third half"
    ).split()
)


def words(text: str) -> list[str]:
    """The words of `text` as written: "Who is Thomas?" -> ["Who", "is", "Thomas"]."""
    return WORD.findall(text)


def lower_words(text: str) -> set[str]:
    """The words of `text`, lower-cased: "Who is Thomas?" -> {"who", "is", "thomas"}."""
    return {w.lower() for w in WORD.findall(text)}


def is_name(word: str) -> bool:
    """Whether `word` reads as (part of) a name: capitalised, and not capitalised for grammar.

    "Kabul" -> True; "The", "Who", "kabul" -> False.
    """
    return word[:1].isupper() and word.lower() not in NOT_NAMES


def is_number(word: str) -> bool:
    """Whether `word` states a number or a date: "2021", "1.5", "twelve", "August" -> True."""
    return word.lower() in NUMBER_WORDS or any(c.isdigit() for c in word)


def numbers(text: str) -> set[str]:
    """The numbers written in digits in `text`, without thousands commas: {"2023", "1500"}."""
    return {n.replace(",", "") for n in NUMBER.findall(text)}


def name_stems(text: str) -> set[str]:
    """The terms of the names in `text`, as `qa.lexical.terms` writes them.

    A sentence's first word counts only when it is not a common word: "Kazakhstan did not ban
    it" -> {"kazakhstan"}; "The embassy moved to Doha." -> {"doha"}.
    """
    stems: set[str] = set()
    for i, match in enumerate(CAPITALISED.finditer(text)):
        word = match.group(0)
        if not is_name(word) or (i == 0 and match.start() == 0 and not terms(word)):
            continue
        stems.update(terms(word))
    return stems


def names_in(text: str) -> list[str]:
    """Capitalised names in `text`, first seen first: "Who is Thomas West?" -> ["Thomas West"]."""
    found: list[str] = []
    for match in _NAME.finditer(text):
        parts = match.group().split()
        while parts and parts[0].lower() in NOT_NAMES:
            parts.pop(0)
        while parts and parts[-1].lower() in NAME_JOINERS:
            parts.pop()
        name = re.sub(r"[’']s$", "", " ".join(parts))
        if len(name) > 1 and name not in found:
            found.append(name)
    return found


def byte_size(n: int) -> str:
    """Bytes as a person reads them: 900 bytes, 2 kB, 12.5 kB, 50 MB, 61.2 MB."""
    if n < 1000:
        return f"{n} bytes"
    value, unit = (n / 1e3, "kB") if n < 1_000_000 else (n / 1e6, "MB")
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def numbered(name: str, n: int, fit: Callable[[str, str, str], str] | None = None) -> str:
    """`name` with " (n)" before its extension: ("notes.md", 2) -> "notes (2).md".

    `fit(stem, suffix, tag)` writes the result instead, e.g. to keep it short or safe.
    """
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    tag = f" ({n})"
    if fit is not None:
        return fit(stem, suffix, tag)
    return f"{stem}{tag}{dot}{suffix}"


def unique_name(
    name: str, taken: Callable[[str], bool], fit: Callable[[str, str, str], str] | None = None
) -> str:
    """`name`, or "name (2).ext", "name (3).ext"... the first one `taken` says is free."""
    n, unique = 2, name
    while taken(unique):
        unique = numbered(name, n, fit)
        n += 1
    return unique
