"""Sentence splitting and chunking: exact sentences, exact offsets, chunk packing and overlap."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests_support import ARTICLE

from qa.chunking import ChunkSettings, chunk_document, split_sentences
from qa.errors import InputError
from qa.types import Document, Page, Span


def sentences(text: str, **kwargs: int) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text, **kwargs)]


def doc(text: str, pages: tuple[Page, ...] = ()) -> Document:
    return Document(source="docs/a.txt", path="/docs/a.txt", text=text, sha256="0", pages=pages)


# --- sentence splitting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The cat sat. The dog ran.", ["The cat sat.", "The dog ran."]),
        ("Is it late? Yes! We go now.", ["Is it late?", "Yes!", "We go now."]),
        ("Wait… Then it rained.", ["Wait…", "Then it rained."]),
        ("He said “it is over.” Next day came.", ["He said “it is over.”", "Next day came."]),
        ("(A side note.) Then more.", ["(A side note.)", "Then more."]),
        ("It ended. “Really,” she said.", ["It ended.", "“Really,” she said."]),
        (
            "Mr. West met Dr. Stone today. They talked.",
            ["Mr. West met Dr. Stone today.", "They talked."],
        ),
        ("Use tools, e.g. Hammers. Then stop.", ["Use tools, e.g. Hammers.", "Then stop."]),
        ("J. R. Smith wrote it. Fine.", ["J. R. Smith wrote it.", "Fine."]),
        ("The U.S. Army left. Then peace.", ["The U.S. Army left.", "Then peace."]),
        (
            "Coordinating with U.S. missions in those countries.",
            ["Coordinating with U.S. missions in those countries."],
        ),
        ("It cost 3.5 million dollars. Cheap.", ["It cost 3.5 million dollars.", "Cheap."]),
        ("It ended. then it went on.", ["It ended. then it went on."]),
        ("Version 2. 5 people came.", ["Version 2.", "5 people came."]),
        ("one line\n\nanother line", ["one line", "another line"]),
        (
            "no end punctuation here\n \n\t\nlower case again",
            ["no end punctuation here", "lower case again"],
        ),
        ("# Title\nText follows here.", ["# Title", "Text follows here."]),
        ("Intro:\n- first item\n- second item", ["Intro:", "- first item", "- second item"]),
        ("Steps:\n1. mix it\n2) bake it", ["Steps:", "1. mix it", "2) bake it"]),
        ("said this:\n> quoted text", ["said this:", "> quoted text"]),
        (
            "Georgi Asatrian\nGeorgi Asatryan, professor",
            ["Georgi Asatrian", "Georgi Asatryan, professor"],
        ),
        (
            "A title exactly forty characters long ok\nNext",
            ["A title exactly forty characters long ok", "Next"],
        ),
        (
            "A title exactly forty-one characters long\nNext",
            ["A title exactly forty-one characters long\nNext"],
        ),
        ("Dear Sir,\nThank you.", ["Dear Sir,\nThank you."]),
        ("short line\nlower continuation.", ["short line\nlower continuation."]),
        ("  \n Padded sentence.  \n\n  Another one.\n ", ["Padded sentence.", "Another one."]),
        ("", []),
        (" \n\t ", []),
    ],
)
def test_split_sentences_exact(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_split_sentences_spans_are_exact_offsets() -> None:
    text = "Mr. West arrived. He left!"
    assert split_sentences(text) == [Span(0, 17), Span(18, 26)]
    text = "\n  First one.   Second one.  \n"
    spans = split_sentences(text)
    assert spans == [Span(3, 13), Span(16, 27)]
    assert [text[s.start : s.end] for s in spans] == ["First one.", "Second one."]


def test_long_sentence_is_cut_at_spaces() -> None:
    text = "aaaa bbbb cccc dddd eeee ffff."
    assert sentences(text, max_length=12) == ["aaaa bbbb", "cccc dddd", "eeee ffff."]
    assert sentences(text, max_length=16) == ["aaaa bbbb cccc", "dddd eeee ffff."]
    assert sentences(text, max_length=100) == [text]
    assert sentences(text, max_length=len(text)) == [text]


def test_long_sentence_piece_of_exactly_max_length_is_kept() -> None:
    text = "aaaa bbbb cccc dddd eeee ffff."
    assert sentences(text, max_length=10) == ["aaaa bbbb", "cccc dddd", "eeee ffff."]


def test_unbroken_run_is_cut_hard() -> None:
    text = "x" * 25 + " end. Next one."
    assert sentences(text, max_length=10) == ["x" * 10, "x" * 10, "xxxxx end.", "Next one."]


def test_article_sentences_are_whole() -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    found = sentences(text)
    assert found[0] == "The Taliban and International Diplomacy"
    assert (
        "Since then, the US embassy in Afghanistan has been operating from Doha, and its "
        "consular services are also available in neighboring countries."
    ) in found
    goal = next(s for s in found if "U.S. engagement prevents" in s)
    assert goal.startswith("The main goal of the United States is: “U.S. engagement prevents")
    assert goal.endswith("on the United States or any other country.”")
    missions = next(s for s in found if "U.S. missions" in s)
    assert missions.startswith("At the same time, we meet Afghans where they are")
    assert missions.endswith("the document said.")
    assert "Its people are starving." in found
    assert found[-3:-1] == ["Georgi Asatrian", "Georgi Asatrian"]


# --- chunking -------------------------------------------------------------------------------

# Seven sentences of 19 characters ("Sentence number 1."), separated by one space.
SEVEN = " ".join(f"Sentence number {n:02d}." for n in range(1, 8))


def test_chunks_pack_whole_sentences_with_overlap() -> None:
    chunks = chunk_document(doc(SEVEN), ChunkSettings(size=60, overlap=20))
    assert [(c.first_sentence, c.end_sentence) for c in chunks] == [(0, 3), (2, 5), (4, 7)]
    assert [c.id for c in chunks] == ["docs/a.txt#0", "docs/a.txt#1", "docs/a.txt#2"]
    assert chunks[0].text == "Sentence number 01. Sentence number 02. Sentence number 03."
    assert chunks[1].text.startswith("Sentence number 03.")
    assert chunks[2].text.endswith("Sentence number 07.")
    assert all(c.source == "docs/a.txt" and c.page is None for c in chunks)


def test_chunks_without_overlap_do_not_overlap() -> None:
    chunks = chunk_document(doc(SEVEN), ChunkSettings(size=60, overlap=0))
    assert [(c.first_sentence, c.end_sentence) for c in chunks] == [(0, 3), (3, 6), (6, 7)]
    assert all(a.end < b.start for a, b in pairwise(chunks))


@pytest.mark.parametrize(
    ("size", "overlap", "expected"),
    [
        (59, 0, [(0, 3), (3, 6), (6, 7)]),  # three sentences fill 59 characters exactly
        (58, 0, [(0, 2), (2, 4), (4, 6), (6, 7)]),
        (59, 19, [(0, 3), (2, 5), (4, 7)]),  # one sentence fits the overlap exactly
        (59, 18, [(0, 3), (3, 6), (6, 7)]),
        (80, 40, [(0, 4), (2, 6), (4, 7)]),  # two sentences (39 characters) of overlap
    ],
)
def test_chunk_boundaries(size: int, overlap: int, expected: list[tuple[int, int]]) -> None:
    chunks = chunk_document(doc(SEVEN), ChunkSettings(size=size, overlap=overlap))
    assert [(c.first_sentence, c.end_sentence) for c in chunks] == expected


def test_short_document_is_one_chunk() -> None:
    chunks = chunk_document(doc("  One. Two.  "), ChunkSettings())
    assert len(chunks) == 1
    assert (chunks[0].start, chunks[0].end, chunks[0].text) == (2, 11, "One. Two.")
    assert chunk_document(doc(" \n "), ChunkSettings()) == []


def test_page_is_the_page_of_the_chunk_start() -> None:
    pages = (Page(1, 0, 40), Page(2, 40, 80), Page(3, 80, len(SEVEN)))
    chunks = chunk_document(doc(SEVEN, pages), ChunkSettings(size=60, overlap=0))
    assert [c.start for c in chunks] == [0, 60, 120]
    assert [c.page for c in chunks] == [1, 2, 3]


def test_given_sentences_are_used() -> None:
    text = "abc def ghi"
    chunks = chunk_document(doc(text), ChunkSettings(size=50, overlap=0), [Span(0, 3), Span(8, 11)])
    assert [(c.text, c.first_sentence, c.end_sentence) for c in chunks] == [("abc def ghi", 0, 2)]


def test_article_chunks() -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    config = ChunkSettings(size=400, overlap=100)
    check_chunks(doc(text), config, split_sentences(text, max_length=config.size))


def test_every_chunk_adds_a_new_sentence() -> None:
    text = "Aaaa aaaa aaaa aaaa. Bbbb bbbb bbbb bbbb. " + "C" * 40 + " cccc. Dddd."
    chunks = chunk_document(doc(text), ChunkSettings(size=60, overlap=45))
    assert all(a.end_sentence < b.end_sentence for a, b in pairwise(chunks))


def test_long_heading_separates() -> None:
    heading = "# A heading well over forty characters long"
    assert sentences(heading + "\nBody text.") == [heading, "Body text."]


# --- settings -------------------------------------------------------------------------------


def test_short_heading_before_a_lowercase_line_separates() -> None:
    assert sentences("# Title\nlowercase body.") == ["# Title", "lowercase body."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer was no. We left.", ["The answer was no.", "We left."]),
        ("Apples, pears, etc. Then we left.", ["Apples, pears, etc.", "Then we left."]),
        ("Привет мир. Как дела?", ["Привет мир.", "Как дела?"]),
    ],
)
def test_sentence_ends_after_common_words_and_in_other_scripts(
    text: str, expected: list[str]
) -> None:
    assert sentences(text) == expected


def test_long_sentence_is_cut_at_any_white_space() -> None:
    text = "alpha\nbeta\ngamma\ndelta\nepsilon"
    assert sentences(text, max_length=12) == ["alpha\nbeta", "gamma\ndelta", "epsilon"]


def test_max_length_below_one_is_rejected() -> None:
    with pytest.raises(InputError, match="max_length must be at least 1, got 0"):
        split_sentences("Some text.", max_length=0)


def test_splitting_a_long_text_finds_every_sentence() -> None:
    # Once quadratic in the text length (minutes for a few hundred KB); now linear.
    spans = split_sentences("This is a sentence. " * 20_000)
    assert len(spans) == 20_000


def test_settings_defaults_and_bounds() -> None:
    assert (ChunkSettings().size, ChunkSettings().overlap) == (800, 150)
    assert ChunkSettings(size=50, overlap=0).size == 50
    assert ChunkSettings(size=50, overlap=49).overlap == 49


@pytest.mark.parametrize(
    ("size", "overlap", "bad"),
    [(49, 0, "49"), (0, 0, "0"), (100, -1, "-1"), (100, 100, "100"), (100, 250, "250")],
)
def test_settings_reject_bad_values(size: int, overlap: int, bad: str) -> None:
    with pytest.raises(InputError, match=rf"got {bad}$"):
        ChunkSettings(size=size, overlap=overlap)


# --- properties -----------------------------------------------------------------------------

ALPHABET = "aZé文Ω7 .!?…“”\"')(#-*>,:;\n\t\u00a0"
texts = st.lists(
    st.one_of(
        st.text(alphabet=ALPHABET, max_size=30),
        st.sampled_from(
            ["Mr.", "U.S.", "e.g.", "3.5", "\n\n", "\n# H\n", "\n- i ", "Next", " A. "]
        ),
        st.text(alphabet="xyz", min_size=40, max_size=120),  # a long unbroken word
        st.text(max_size=10),  # anything at all
    ),
    max_size=25,
).map("".join)


def check_sentences(text: str, spans: list[Span], max_length: int | None = None) -> None:
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip() and piece
        if max_length is not None:
            assert span.end - span.start <= max_length
        previous_end = span.end
    covered = set().union(*(range(s.start, s.end) for s in spans))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def check_chunks(document: Document, config: ChunkSettings, spans: list[Span]) -> None:
    chunks = chunk_document(document, config)
    assert bool(chunks) == bool(spans)
    for n, chunk in enumerate(chunks):
        assert chunk.id == f"{document.source}#{n}"
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert 0 < chunk.end - chunk.start <= config.size
        assert chunk.start == spans[chunk.first_sentence].start
        assert chunk.end == spans[chunk.end_sentence - 1].end
    for a, b in pairwise(chunks):
        assert a.first_sentence < b.first_sentence <= a.end_sentence  # advances, no gap
        if b.first_sentence < a.end_sentence:
            assert a.end - spans[b.first_sentence].start <= config.overlap
        else:
            assert a.end <= b.start
    assert {i for c in chunks for i in range(c.first_sentence, c.end_sentence)} == set(
        range(len(spans))
    )
    if chunks:
        assert (chunks[0].first_sentence, chunks[-1].end_sentence) == (0, len(spans))


@settings(max_examples=200, deadline=None)
@given(text=texts, max_length=st.one_of(st.none(), st.integers(1, 60)))
def test_sentence_properties(text: str, max_length: int | None) -> None:
    check_sentences(text, split_sentences(text, max_length=max_length), max_length)


@settings(max_examples=200, deadline=None)
@given(text=texts, size=st.integers(50, 300), data=st.data())
def test_chunk_properties(text: str, size: int, data: st.DataObject) -> None:
    config = ChunkSettings(size=size, overlap=data.draw(st.integers(0, size - 1)))
    spans = split_sentences(text, max_length=size)
    check_sentences(text, spans, size)
    check_chunks(doc(text), config, spans)
