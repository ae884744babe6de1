"""What the page shows: escaped HTML with linked markers and highlighted quotes, and JSON."""

import dataclasses
import html
import json
import re

from tests_support import EVIL, answer_citing

from qa import Answer, Citation, Passage
from qa.present import answer_json
from qa.ui.render import render_reply, stream_reply, stream_steps


def test_document_text_is_escaped_everywhere_and_the_quote_is_marked():
    answer = answer_citing(EVIL, quote=EVIL, source="<b>evil</b>.md")
    page = render_reply(answer, anchor="r1")
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "onerror=&quot;alert(1)&quot;" in page
    assert "&lt;b&gt;evil&lt;/b&gt;.md" in page
    marked = re.search(r"<mark>(.*?)</mark>", page)
    assert marked is not None and marked.group(1).startswith("The beacon &lt;script&gt;")


def test_a_reply_is_one_line_so_markdown_and_latex_leave_it_alone():
    answer = answer_citing("Costs rose $$5 *a lot*\n\n# not a heading", quote="Costs")
    page = render_reply(answer, anchor="r1")
    assert "\n" not in page
    assert "$" not in page and "&#36;&#36;5" in page


def test_each_marker_links_to_its_source_card_and_names_the_span_it_opens():
    opens = 'title="Open docs/notes.md at characters 15–18"'
    page = render_reply(
        answer_citing("The sky is green.", quote="sky", source="docs/notes.md"), anchor="r7"
    )
    assert f'<a class="qa-marker" href="#r7-1" {opens}>[1]</a>' in page
    assert '<div class="qa-source" id="r7-1">' in page
    assert f'<a class="qa-n qa-goto" href="#r7-1" {opens}>' in page  # the card opens it too


def test_cards_name_the_document_once_by_its_file_name_without_character_ranges():
    answer = answer_citing("The sky is green.", quote="sky", source="docs/notes.md")
    second = dataclasses.replace(answer.citations[0], n=2, start=19, end=24, quote="green")
    page = render_reply(
        dataclasses.replace(
            answer, text="The sky is green. [1] [2]", citations=[*answer.citations, second]
        ),
        anchor="r",
    )
    sources = page[page.index('class="qa-sources"') :]
    visible = re.sub(r"<[^>]+>", "", sources)  # what a reader sees, not the links' titles
    assert visible.count("notes.md") == 1 and "docs/" not in visible
    assert "characters" not in visible


def test_context_does_not_repeat_from_card_to_card():
    text = "One came first. Two came next. Three came last."
    passage = Passage("a.txt", 0, len(text), text, 0.9, "a.txt#0")
    cites = [
        Citation(1, "a.txt", 0, 15, "One came first.", 0.8),
        Citation(2, "a.txt", 16, 30, "Two came next.", 0.8),
    ]
    page = render_reply(
        Answer("q", "One came first. [1] Two came next. [2]", True, cites, [passage]), anchor="r"
    )
    cards = re.findall(r'<div class="qa-passage">(.*?)</div>', page)
    words = [re.sub(r"<[^>]+>", "", card) for card in cards]
    assert "Two" not in words[0] and "One" not in words[1] and "Three came last." in words[1]


def test_pdf_sources_show_their_page():
    page = render_reply(answer_citing("The sky is green.", quote="sky", page=3), anchor="r")
    assert '<span class="qa-loc">page 3</span>' in page


def test_a_refusal_shows_the_closest_passages_without_marks():
    passage = Passage("a.txt", 0, 11, "Some <text>", 0.2, "a.txt#0")
    page = render_reply(Answer("q", "Not found.", False, [], [passage]), anchor="r")
    assert "Closest passages" in page and "Some &lt;text&gt;" in page and "<mark>" not in page


def test_a_refusal_folds_at_most_two_closest_passages():
    passages = [Passage(f"{n}.txt", 0, 9, f"Passage {n}", 0.2, f"{n}.txt#0") for n in range(4)]
    page = render_reply(Answer("q", "Not found.", False, [], passages), anchor="r")
    folded = re.search(r'<details class="qa-fold">(.*)</details>', page)
    assert folded is not None and '<details class="qa-fold" open' not in page
    assert folded.group(1).startswith('<summary class="qa-heading">Closest passages')
    assert folded.group(1).count('class="qa-source"') == 2
    assert "Passage 0" in folded.group(1) and "Passage 1" in folded.group(1)
    assert "Passage 2" not in page


REMOVALS = [
    "Searched for the envoy.",
    "Removed a sentence no passage supports (only 62% of its words are in one passage): "
    "“Thomas West is a US special envoy who <b>supports</b> the Taliban.”",
    "Removed a sentence no passage supports (does not name 'isi'): “The ISI backs them.”",
    "Removed an unfinished sentence: “The embassy moved to”",
]


def _written(notes):
    answer = answer_citing("The embassy is in Doha.", quote="The embassy is in Doha.")
    return dataclasses.replace(answer, mode="generate", notes=notes)


def test_written_notes_count_removed_sentences_in_one_line_and_fold_what_they_said():
    page = render_reply(_written(REMOVALS), anchor="r")
    assert '<div class="qa-note">Searched for the envoy.</div>' in page  # other notes stay
    folded = re.search(r'<details class="qa-fold qa-note qa-removed">(.*?)</details>', page)
    assert folded is not None and page.count("<details") == 1
    summary = re.fullmatch(r"<summary>(.*?)</summary>(.*)", folded.group(1))
    assert summary is not None
    assert summary.group(1) == (
        "Removed 3 sentences the model wrote: 2 no passage supports, 1 cut off unfinished."
    )
    # What the model wrote is only in the fold, escaped, and marked as removed text.
    outside = page.replace(folded.group(0), "")
    assert "Thomas West is a US" not in outside and "The ISI backs" not in outside
    rejected = re.findall(r'<del class="qa-rejected">(.*?)</del>', summary.group(2))
    assert rejected == [
        "Thomas West is a US special envoy who &lt;b&gt;supports&lt;/b&gt; the Taliban.",
        "The ISI backs them.",
        "The embassy moved to",
    ]
    assert "No passage supports it: does not name &#x27;isi&#x27;." in summary.group(2)
    assert _answer_text(page) == "The embassy is in Doha. [1]"


def test_one_removed_sentence_is_said_in_the_singular():
    page = render_reply(_written(REMOVALS[1:2]), anchor="r")
    assert "<summary>Removed 1 sentence the model wrote: no passage supports it.</summary>" in page
    page = render_reply(_written(REMOVALS[3:]), anchor="r")
    assert (
        "<summary>Removed 1 sentence the model wrote: it was cut off unfinished.</summary>" in page
    )
    assert "<details" not in render_reply(_written(REMOVALS[:1]), anchor="r")


def test_a_rewritten_follow_up_says_what_was_searched():
    answer = answer_citing("Green.", quote="Green")
    answer = Answer("What did he say?", answer.text, True, answer.citations)
    searched = dataclasses.replace(answer, searched="What did Thomas West say?")
    assert "Searched for: “What did Thomas West say?”" in render_reply(searched, anchor="r")
    unchanged = dataclasses.replace(answer, searched=answer.question)
    assert "Searched for" not in render_reply(unchanged, anchor="r")
    assert "Searched for" not in render_reply(answer, anchor="r")  # asked alone


def test_streaming_grows_by_whole_words_and_ends_with_the_sources():
    answer = answer_citing(" ".join(f"w{i}" for i in range(50)), quote="w3")
    steps = stream_steps(answer)
    assert steps == sorted(steps) and steps[-1] == 51 and len(steps) <= 20
    replies = list(stream_reply(answer, anchor="r"))
    texts = [_answer_text(r) for r in replies]
    assert all(answer.text.startswith(t) for t in texts)
    assert "qa-sources" not in replies[0] and replies[-1] == render_reply(answer, anchor="r")
    assert texts[-1].endswith("[1]")  # markers are never cut in half


def test_answer_json_has_the_text_and_exact_citations():
    answer = answer_citing("The sky is green.", quote="sky is green", page=2)
    data = json.loads(json.dumps(answer_json(dataclasses.replace(answer, searched="sky?"))))
    assert data["question"] == "q" and data["searched"] == "sky?"
    assert data["text"] == "The sky is green. [1]" and data["answered"] is True
    [citation] = data["citations"]
    assert citation["quote"] == "sky is green" and citation["page"] == 2
    assert citation["location"] == "page 2, characters 15–27"
    passage = data["passages"][0]["text"]
    assert passage[citation["start"] : citation["end"]] == citation["quote"]


def _with_short(short: str, sentence: str) -> Answer:
    import dataclasses

    answer = answer_citing(sentence, quote=sentence)
    c = answer.citations[0]
    at = c.start + sentence.index(short)
    holder = dataclasses.replace(c, short_start=at, short_end=at + len(short))
    return dataclasses.replace(answer, citations=[holder], short=short, confidence=0.93)


def test_the_short_answer_leads_the_reply_and_is_bold_inside_its_quote():
    answer = _with_short("August 2021", "The embassy closed in August 2021, abruptly.")
    html = render_reply(answer, anchor="r1")
    bold = '<strong class="qa-short-answer">August 2021</strong>'
    assert html.index(f'<div class="qa-short">{bold}</div>') < html.index('class="qa-answer"')
    assert f"<mark>The embassy closed in {bold}, abruptly.</mark>" in html


def test_a_short_answer_with_markup_is_escaped():
    answer = _with_short(
        '<img src=x onerror="alert(1)">', 'It said <img src=x onerror="alert(1)">.'
    )
    html = render_reply(answer, anchor="r1")
    assert "<img" not in html and "&lt;img src=x" in html


def test_answer_json_has_the_short_answer_and_its_offsets():
    answer = _with_short("Doha", "The embassy operates from Doha now.")
    data = answer_json(answer)
    assert data["short"] == "Doha" and data["confidence"] == 0.93
    c = data["citations"][0]
    assert c["quote"][c["short_start"] - c["start"] : c["short_end"] - c["start"]] == "Doha"


def _answer_text(reply: str) -> str:
    """The plain text of a reply's answer part, as a reader sees it."""
    match = re.search(r'<div class="qa-answer[^"]*">(.*?)</div>', reply, re.DOTALL)
    assert match is not None
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
