"""What a question must be before it is asked: text with a word in it, short enough for the
embedding model, and how many passages to retrieve within bounds. Clear errors otherwise."""

from __future__ import annotations

from qa.errors import InputError

MAX_K = 100
MAX_QUESTION_CHARS = 1000  # all-MiniLM-L6-v2 reads 256 word pieces, about this many characters


def clean_question(question: str) -> str:
    """The question without control characters and surrounding blanks; rejects empty ones."""
    if not isinstance(question, str):
        raise InputError(f"The question must be text, got {type(question).__name__}")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question).strip()
    if not any(ch.isalnum() for ch in cleaned):
        raise InputError("The question is empty: type a question with at least one word.")
    return " ".join(cleaned.split())


def fit_question(question: str) -> tuple[str, list[str]]:
    """The question cut to what the embedding model reads (about 256 word pieces), and a note
    saying so when it had to be cut: nothing is dropped silently."""
    if len(question) <= MAX_QUESTION_CHARS:
        return question, []
    cut = question.rfind(" ", 0, MAX_QUESTION_CHARS + 1)
    kept = question[: cut if cut > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS]
    note = (
        f"The question was {len(question):,} characters long; only its first {len(kept):,} "
        "were used. Ask something shorter for a better answer."
    )
    return kept, [note]


def check_k(k: int) -> None:
    """Refuse a number of passages that is not a whole number from 1 to MAX_K."""
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InputError(
            f"k (passages to retrieve) must be a whole number from 1 to {MAX_K}, got {k!r}"
        )


def whole_k(value: object) -> int:
    """k as sent by a page or an API client: a whole number (5, or 5.0 from a slider), within
    bounds. "abc", None, [5] and 2.5 are refused with the same clear message, never guessed."""
    k: object = value
    if isinstance(value, float) and value.is_integer():
        k = int(value)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InputError(
            f"k (passages to retrieve) must be a whole number from 1 to {MAX_K}, "
            f"got {repr(value)[:40]}"
        )
    return k
