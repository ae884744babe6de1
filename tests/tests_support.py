"""What several test files share: questions about the shipped article with words their answers
must contain, and hand-made answers for the page's HTML."""

from pathlib import Path

from qa import Answer, Citation, Passage

ARTICLE = (
    Path(__file__).resolve().parent.parent / "corpus" / "taliban-and-international-diplomacy.txt"
)

ARTICLE_QUESTIONS = [
    ("Where has the US embassy in Afghanistan been operating from?", "Doha"),
    ("When was the US embassy in Kabul closed?", "August 2021"),
    ("Who is the US special envoy for Afghanistan?", "Thomas West"),
    ("Which country removed the Taliban from its list of banned organizations?", "Kazakhstan"),
    ("Which faction within the Taliban is backed by the Pakistani military?", "Haqqani"),
    ("What do major powers demand from the Taliban?", "inclusive government"),
    ("What threatens Taliban credibility?", "ISIS-K"),
    ("Where does Georgi Asatryan teach?", "Lomonosov Moscow State University"),
]

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
