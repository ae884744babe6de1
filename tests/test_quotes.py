"""Answers that read as answers: quotes start after a dangling opener and stay exact spans,
titles are never quoted, and no sentence is said twice. Examples from the shipped article."""

import pytest
from tests_support import ARTICLE

from qa.quotes import as_shown, is_heading, near_duplicates, opener_length

TEXT = ARTICLE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("sentence", "rest"),
    [
        (
            "Since then, the US embassy in Afghanistan has been operating from Doha.",
            "the US embassy in Afghanistan has been operating from Doha.",
        ),
        (
            "At the same time, Thomas West, the US special envoy for Afghanistan, has stated it.",
            "Thomas West, the US special envoy for Afghanistan, has stated it.",
        ),
        ("However, the Taliban did not answer it.", "the Taliban did not answer it."),
        (
            "It is worth noting that the US embassy in Kabul was closed abruptly in August 2021.",
            "the US embassy in Kabul was closed abruptly in August 2021.",
        ),
    ],
)
def test_a_dangling_opener_is_left_out(sentence, rest):
    assert sentence[opener_length(sentence) :] == rest


@pytest.mark.parametrize(
    "sentence",
    [
        "Although it may not happen at an official diplomatic level, there is a clear trend.",
        "At the end of last year, Kazakhstan decided to exclude the Taliban from the list.",
        "However, it failed.",  # too little would be left to read as a sentence
        "Thomas West is the US special envoy for Afghanistan.",
    ],
)
def test_a_sentence_that_does_not_dangle_is_kept_whole(sentence):
    assert opener_length(sentence) == 0


def test_the_articles_title_is_a_heading_and_its_sentences_are_not():
    title = "The Taliban and International Diplomacy"
    assert TEXT.startswith(title) and is_heading(TEXT, 0, len(title))
    lead = "The Taliban regime in Afghanistan is approaching international recognition."
    start = TEXT.index(lead)
    assert not is_heading(TEXT, start, start + len(lead))


def test_sentences_that_say_the_same_thing_are_near_duplicates():
    lead = "The Taliban regime in Afghanistan is approaching international recognition."
    assert near_duplicates(lead, lead.replace("is approaching", "is now approaching"))
    assert not near_duplicates(
        "At the end of last year, Kazakhstan decided to exclude the Taliban from the list.",
        "According to Smadiyarov, Kazakhstan decided to exclude the Taliban Movement “by the "
        "UN practice”.",
    )


def test_only_a_trimmed_quote_is_capitalised_for_display():
    assert as_shown("the US  embassy\nin Doha.", trimmed=True) == "The US embassy in Doha."
    assert as_shown("iOS runs here.") == "iOS runs here."
