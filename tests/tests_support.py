"""What several test files share: questions about the shipped article with words their answers
must contain, hand-made answers for the page's HTML, and the deterministic fake embedder."""

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa import Answer, Citation, Passage
from qa.lexical import terms

ARTICLE = (
    Path(__file__).resolve().parent.parent / "corpus" / "taliban-and-international-diplomacy.txt"
)


# A one-document corpus for tests that need an index, with the fake embedder.
DOHA = "The embassy has been operating from Doha since 2021. It offers consular services."

# Document text full of markup that must show as text and never run.
EVIL = 'The beacon <script>alert("x")</script> flashes <img src=x onerror="alert(1)"> green.'


def answer_citing(sentence: str, *, quote: str, source: str = "notes.md", page: int | None = None):
    """An answer citing `quote`, a span of a passage made of `sentence`."""
    text = f"Before it. {sentence} After it."
    start = text.index(quote)
    passage = Passage(source, 0, len(text), text, 0.9, f"{source}#0", page)
    citation = Citation(1, source, start, start + len(quote), quote, 0.8, page)
    return Answer("q", f"{sentence} [1]", True, [citation], [passage])


def page_handlers():
    """What app.py wires to the page, by name: the handlers of qa/ui/ and app's own main."""
    from types import SimpleNamespace

    import app
    from qa.ui import chat, library, render, serving

    return SimpleNamespace(
        add_question=chat.add_question,
        answer_typed=chat.answer_typed,
        respond=chat.respond,
        new_conversation=chat.new_conversation,
        ask_api=chat.ask_api,
        SLOTS=chat.SLOTS,
        upload=library.upload,
        remove=library.remove,
        use_index=library.use_index,
        private_cache=serving.private_cache,
        question_text=render.question_text,
        render=render,
        main=app.main,
        build_page=app.build_page,
        CONCURRENCY=app.CONCURRENCY,
        QUEUE_SIZE=app.QUEUE_SIZE,
    )


class FakeEmbedder:
    """Hashed bag of stemmed words: texts sharing words get similar vectors. Counts its work."""

    name = "fake-bag-of-words"
    dimension = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text) or ["<empty>"]:
                bucket = int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dimension
                out[row, bucket] += 1.0
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
