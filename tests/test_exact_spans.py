"""One invariant over every store and every answer mode (as minbpe checks decode(encode(x)) == x
for every tokenizer): every chunk, passage, citation and short answer is an exact character
span of its source, `source_text[start:end] == the quoted text`.

A small corpus (offsets shifted by a heading, repeated sentences, CRLF line ends, curly quotes
and accents, HTML) is indexed once per store; hypothesis then asks it questions made of its own
words, extractive and written ("generate", with a model that echoes a passage), with the
default answer settings and lenient ones that quote several sentences.
"""

import re
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests_support import DOHA, FakeEmbedder

from qa import AnswerSettings, Index, Mode, build_index

CORPUS = {
    "doha.md": "Intro line.\n\n" + DOHA,
    "repeated.txt": (
        "The embassy has been operating from Doha since 2021.\n\n"
        "The embassy has been operating from Doha since 2021.\n\n"
        "Kazakhstan removed the Taliban from its list of banned groups.\n\n"
        "Thomas West is the special envoy for Afghanistan."
    ),
    "envoy.txt": "Thomas West is the special envoy for Afghanistan and spoke about humanitarian "
    "aid.\r\nHe met the delegation in Doha in March 2023.\r\n",
    "accents.txt": "Café owners in Astana said “the audit” of the list ended in 2024. "
    "Kazakhstan removed the Taliban from its list of banned groups — Astana audits it.",
    "notes.html": "<html><body><h1>Aid report</h1><p>The <b>United Nations</b> delivered aid "
    "to Kabul in 2022.</p><script>var x = 1;</script><p>It reached 300 clinics.</p></body></html>",
}
WORDS = sorted({w for text in CORPUS.values() for w in re.findall(r"[A-Za-z0-9]+", text)})
QUESTIONS = st.builds(
    lambda opening, words: f"{opening} {' '.join(words)}?",
    st.sampled_from(["Who", "What", "Where", "When", "Which", "How many"]),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
)
# Quotes several sentences where the defaults quote one (as tests/test_answer.py's).
LENIENT = AnswerSettings(margin=1.0, min_support=0.0, max_sentences=2, reader=False)


class EchoModel:
    """A language model that writes passage [1] back with its marker: a sentence verify keeps."""

    name = "echo"

    def stream(self, messages, settings=None) -> Iterator[str]:
        passages = re.findall(r"^\[(\d+)\] (.+)$", messages[-1]["content"], re.MULTILINE)
        yield " ".join(f"{text} [{n}]" for n, text in passages[:1]) or "Nothing is known."

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture(
    scope="module",
    params=[
        "faiss",
        "faiss:ivf",
        "milvus-lite",
        pytest.param("milvus-server", marks=pytest.mark.milvus_server),
    ],
)
def corpus_index(request, tmp_path_factory) -> Index:
    """The corpus indexed (fake embedder) into each store in turn."""
    folder = tmp_path_factory.mktemp("spans")
    for name, text in CORPUS.items():
        (folder / "docs" / name).parent.mkdir(exist_ok=True)
        (folder / "docs" / name).write_text(text, encoding="utf-8", newline="")
    store = request.param
    if store == "milvus-lite":
        store = f"milvus:{folder / 'vectors.db'}#spans"
    elif store == "milvus-server":
        uri = request.getfixturevalue("milvus_server")
        store = f"milvus:{uri}#spans_{uuid.uuid4().hex}"
    index = build_index(
        [folder / "docs"], path=folder / "idx", embedder=FakeEmbedder(), store=store
    )
    index.model = EchoModel()  # type: ignore[assignment]
    return index


def test_every_chunk_is_an_exact_span_of_its_document(corpus_index):
    assert len(corpus_index.documents) == len(CORPUS)
    for chunk in corpus_index.snapshot.chunks:
        assert corpus_index.document(chunk.source).text[chunk.start : chunk.end] == chunk.text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    question=QUESTIONS,
    mode=st.sampled_from(list(Mode)),
    lenient=st.booleans(),
    k=st.integers(min_value=1, max_value=5),
)
@example("Which consular services does the embassy offer?", Mode.EXTRACTIVE, False, 5)
@example("Which list did Kazakhstan remove the Taliban from?", Mode.EXTRACTIVE, False, 5)
@example("Taliban envoy embassy?", Mode.EXTRACTIVE, True, 5)
@example("Who is the special envoy for Afghanistan?", Mode.GENERATE, False, 5)
@example("What is this article about?", Mode.EXTRACTIVE, False, 5)
def test_every_passage_citation_and_short_answer_is_an_exact_span(
    corpus_index, question, mode, lenient, k
):
    index = corpus_index.detached()  # the same documents and store, settings of its own
    index.answering = LENIENT if lenient else AnswerSettings()
    text = {d.source: d.text for d in index.documents}

    answer = index.ask(question, k=k, mode=mode)
    passages = [*answer.passages, *index.search(question, k=k)]
    for p in passages:
        assert text[p.source][p.start : p.end] == p.text
    for c in answer.citations:
        assert text[c.source][c.start : c.end] == c.quote
        if c.short_start is not None:
            assert c.start <= c.short_start < c.short_end <= c.end
            assert text[c.source][c.short_start : c.short_end] == answer.short


@pytest.mark.parametrize(
    ("question", "mode", "lenient", "cited"),
    [
        ("Which consular services does the embassy offer?", Mode.EXTRACTIVE, False, 1),
        ("Taliban envoy embassy?", Mode.EXTRACTIVE, True, 2),
        ("Who is the special envoy for Afghanistan?", Mode.GENERATE, False, 1),
    ],
)
def test_the_property_sees_citations_and_short_answers(
    corpus_index, question, mode, lenient, cited
):
    """The examples above are answered, so the property checks real citations, not none."""
    index = corpus_index.detached()
    index.answering = LENIENT if lenient else AnswerSettings()
    answer = index.ask(question, mode=mode)
    assert answer.answered and len(answer.citations) >= cited
    if not lenient:  # the reader finds a short answer, inside a citation
        assert answer.short and any(c.short_start is not None for c in answer.citations)
    assert answer.mode == mode
